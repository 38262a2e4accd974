#pragma once
// The spec's bound on lease expiry (section 4): a claimed task goes back to pending or
// dead_letter within 1 s of its lease's end, also when the lease ended while the server
// was down (then within 1 s of the restart). A task shown claimed later than that is a
// violation whether or not the change that showed it was committed, so this check may
// read while the traffic runs: LeaseWatch does, between a restart and the next kill.
#include <atomic>
#include <cstddef>
#include <thread>

#include "crash/ledger.hpp"
#include "integration/harness.hpp"

namespace baton::crash {

// `sent_wall`: when the request that read `task` was sent; `ready_wall`: when the server
// that answered it first answered /health.
void check_lease_deadline(Ledger& ledger, const json::object& task, WallClock::time_point sent_wall,
                          WallClock::time_point ready_wall);

// Lists the claimed tasks of every account and type and checks each one; returns how many
// there were. Throws std::runtime_error when the server does not answer.
std::size_t check_claimed_tasks(test::Client& client, Ledger& ledger,
                                WallClock::time_point ready_wall);

// Runs check_claimed_tasks in a loop on its own connection while the traffic runs. Stop
// it before the server is killed: it knows only the start time of the server it began with.
class LeaseWatch {
 public:
  LeaseWatch(int port, Ledger& ledger, WallClock::time_point ready_wall);
  ~LeaseWatch();
  LeaseWatch(const LeaseWatch&) = delete;
  LeaseWatch& operator=(const LeaseWatch&) = delete;
  void stop();

 private:
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace baton::crash
