#include "core/usage.hpp"

#include <algorithm>
#include <chrono>

namespace baton {

void UsageCounts::add(const UsageCounts& o) {
  created += o.created;
  claimed += o.claimed;
  completed += o.completed;
  failed += o.failed;
  dead_lettered += o.dead_lettered;
  cancelled += o.cancelled;
  wait_ms_total += o.wait_ms_total;
  runs += o.runs;
  run_ms_total += o.run_ms_total;
  cost.add(o.cost);
}

UsageCounts usage_change(const Task* before, const Task& after, Millis now) {
  UsageCounts change;
  auto entered = [&](TaskStatus status) {
    return after.status == status && (!before || before->status != status);
  };
  if (!before) change.created = 1;
  if (before && after.cost != before->cost) change.cost = cost_added(before->cost, after.cost);
  if (entered(TaskStatus::claimed)) {
    change.claimed = 1;
    Millis claimable = std::max(after.created_at, after.scheduled_at);
    change.wait_ms_total = static_cast<std::int64_t>(std::max<Millis>(0, now - claimable));
  }
  if (entered(TaskStatus::completed)) change.completed = 1;
  if (entered(TaskStatus::dead_letter)) change.dead_lettered = 1;
  if (entered(TaskStatus::cancelled)) change.cancelled = 1;
  bool released = before && before->status == TaskStatus::claimed &&
                  after.status == TaskStatus::pending && after.attempt_count < before->attempt_count;
  if (released) {
    // The claim never reached its client: it is taken back, as if never made.
    change.claimed = -1;
    Millis claimable = std::max(before->created_at, before->scheduled_at);
    change.wait_ms_total = -std::max<Millis>(0, before->claimed_at - claimable);
  } else if (before && before->status == TaskStatus::claimed &&
             after.status != TaskStatus::claimed) {
    bool result = after.status == TaskStatus::completed ||
                  after.status == TaskStatus::awaiting_review ||
                  after.status == TaskStatus::awaiting_acceptance;
    if (result) {
      change.runs = 1;
      change.run_ms_total =
          static_cast<std::int64_t>(std::max<Millis>(0, now - before->claimed_at));
    } else if (after.status == TaskStatus::pending || after.status == TaskStatus::dead_letter) {
      change.failed = 1;
    }
  }
  return change;
}

std::int64_t usage_month(Millis at) {
  using namespace std::chrono;
  year_month_day date{floor<days>(sys_time<milliseconds>(milliseconds(at)))};
  return (static_cast<int>(date.year()) - 1970) * 12 +
         static_cast<std::int64_t>(static_cast<unsigned>(date.month())) - 1;
}

std::int64_t month_first_hour(std::int64_t month) {
  using namespace std::chrono;
  year_month first = year(1970) / January + months(month);
  auto start = sys_days(first / 1);
  return duration_cast<hours>(start.time_since_epoch()).count();
}

}  // namespace baton
