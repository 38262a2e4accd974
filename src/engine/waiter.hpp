#pragma once
// A parked long-poll claim. It lives on the shard of its connection (its home) and is
// registered with the shard that owns its queue, or with every shard when it claims any
// type. Whichever shard first wins try_take() claims a task for it and hands the task over
// through `result`; the home shard's deadline, a disconnect or shutdown win it otherwise.
// The atomic state and the OneShot are the only state shared across shard threads.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/task.hpp"
#include "engine/one_shot.hpp"
#include "engine/timer_wheel.hpp"

namespace baton {

struct WaitResult {
  enum class Kind { served, timed_out, cancelled, failed } kind = Kind::timed_out;
  std::shared_ptr<const Task> task;  // null: nothing was claimed
  std::string previous_claimed_by;   // the task's worker and token before this claim
  std::string previous_lease_token;
  bool at_lease_limit = false;     // served, but the account held its lease limit
  int shard = -1;                 // the shard whose commit the claim waits on
  std::uint64_t generation = 0;   // that commit
  Millis now = 0;

  static WaitResult ended(Kind kind) {
    WaitResult result;
    result.kind = kind;
    return result;
  }
};

struct Waiter {
  std::string account;
  std::optional<std::string> type;
  std::string worker_id;
  std::int64_t max_leases = 0;  // the account's lease limit (Claimant)
  std::uint64_t arrival = 0;  // global arrival order: the longest-waiting is served first
  OneShot<WaitResult> result;
  WheelTimer deadline;        // armed on the home shard's wheel only

  // Exactly one party wins the waiter.
  bool try_take() {
    bool expected = false;
    return taken_.compare_exchange_strong(expected, true);
  }
  bool taken() const { return taken_.load(); }

 private:
  std::atomic<bool> taken_{false};
};

}  // namespace baton
