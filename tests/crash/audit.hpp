#pragma once
// The crash loop's checks that read the server back. They run after a restart while no
// producer or worker runs, so every read shows what the server committed (a read during
// traffic may show a change still being committed: docs/operations.md#durability).
// A transport error here is not a violation but a failure of the run (the restarted
// server stopped answering): it throws std::runtime_error.
#include <cstdint>
#include <random>
#include <string>

#include "crash/exchange.hpp"
#include "crash/ledger.hpp"

namespace baton::crash {

class Audit {
 public:
  Audit(int port, Ledger& ledger, std::uint64_t seed);

  // After each restart (`ready_wall`: when it first answered /health): sends again every
  // idempotent create whose answer was lost, replays a sample of answered ones, reads
  // every task acknowledged or touched since the last check plus a sample of older ones,
  // and lists the claimed tasks of every account and type.
  void after_restart(WallClock::time_point ready_wall);
  // At the end: as after_restart but for every task and every idempotency key, then waits
  // until no lease is left, then lists every task of every account and type.
  void final(WallClock::time_point ready_wall);

 private:
  void send_unanswered_idempotent_creates();
  void replay_idempotent_creates(std::size_t count);
  void read_back(const std::vector<std::string>& ids);
  void check_read(const TaskRecord& record, const SentCreate& sent, const Answered& read);
  void check_full_listing();
  test::Response must_answer(const Answered& answered, const std::string& what);

  test::Client client_;
  Ledger& ledger_;
  std::mt19937_64 rng_;
  WallClock::time_point ready_wall_{};
};

}  // namespace baton::crash
