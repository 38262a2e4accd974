#pragma once
// The crash loop's load: producer and worker threads, each with its own connection,
// recording in the Ledger what the server acknowledged. They run through the kills and
// restarts (a request that finds no server is sent again after a short pause, which
// for an idempotent create is the retry the spec allows) until stop().
//
// Producers create tasks of every account and type, some with an Idempotency-Key (and
// some of those sent twice at once on two connections, as a client that gave up
// waiting); the payload carries the producer's sequence number so that any task can be
// traced back to the request that made it. Workers claim with and without a type, with
// long polls of 0 to 2 s, then complete (the result names the task and the lease token;
// some completes are sent twice at once), heartbeat first, fail (retryable or not), or
// walk away and let the lease expire. Leases are 1 or 2 s so that expiry keeps happening.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crash/ledger.hpp"
#include "crash/options.hpp"

namespace baton::crash {

class Traffic {
 public:
  // Starts the threads at once.
  Traffic(int port, Ledger& ledger, const Options& options, std::uint64_t seed);
  ~Traffic();
  Traffic(const Traffic&) = delete;
  Traffic& operator=(const Traffic&) = delete;

  // Asks every thread to end after its current request (a long poll ends when it is
  // answered or cut).
  void request_stop() { stopping_ = true; }
  // request_stop(), and joins the threads.
  void stop();
  // What made a thread give up: an answer of a shape the API does not allow (a bug of the
  // server or of this tool, not a durability violation). "" when none did.
  std::string failure() const;

 private:
  void produce(int index, std::uint64_t seed);
  void work(int index, std::uint64_t seed);
  void run_guarded(const char* role, int index, void (Traffic::*body)(int, std::uint64_t),
                   std::uint64_t seed);
  // A pause before sending again to a server that did not answer.
  void pause_after_no_answer(std::mt19937_64& rng) const;

  const int port_;
  Ledger& ledger_;
  const Options& options_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
  mutable std::mutex failure_mutex_;
  std::string failure_;
};

}  // namespace baton::crash
