#pragma once
// What an account used, per task type and UTC hour (spec section 9's usage reports and the
// monthly quota): counted from each transition as it is decided, by the shard that owns the
// type, and written in the same write as the transitions it counts, so the counts match
// the tasks stored, across a kill -9 too.
#include <cstdint>

#include "core/task.hpp"
#include "core/time.hpp"

namespace baton {

// Signed: a claim given back because its client left (ReleaseCmd) takes its count back.
struct UsageCounts {
  std::int64_t created = 0;
  std::int64_t claimed = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;         // attempts that ended without completing: failed or expired
  std::int64_t dead_lettered = 0;
  std::int64_t cancelled = 0;
  std::int64_t wait_ms_total = 0;  // over `claimed`: from claimable to claimed
  std::int64_t runs = 0;           // claims that ended in a result (completed, or a gate)
  std::int64_t run_ms_total = 0;   // over `runs`: from claim to result
  TaskCost cost;                   // what the account's workers reported in the hour

  void add(const UsageCounts& other);
  bool empty() const { return *this == UsageCounts{}; }
  bool operator==(const UsageCounts&) const = default;
};

// What the transition before -> after (before null: a create) adds to the counts of its
// (account, type) in the hour of `now`.
UsageCounts usage_change(const Task* before, const Task& after, Millis now);

inline constexpr Millis kUsageHourMs = 3600 * 1000;
inline std::int64_t usage_hour(Millis at) { return at / kUsageHourMs; }
// Months since 1970-01 (UTC): the quota's period.
std::int64_t usage_month(Millis at);
// The first hour of `month` and the first of the month after.
std::int64_t month_first_hour(std::int64_t month);

}  // namespace baton
