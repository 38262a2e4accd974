// A shard's part of the usage reports and of the monthly quota's count: the usage of the
// queues it owns (an account's type lives on one shard, so each (account, type, hour) row
// has one writer). Counted from each transition as it is decided and written whole into
// the same round's batch, so the stored counts always match the stored tasks.
#include <rocksdb/write_batch.h>

#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace baton {

void Shard::count_usage(const Task* before, const Task& after, Millis now) {
  UsageCounts change = usage_change(before, after, now);
  if (change.empty()) return;
  std::string key = keys::usage_key(after.account_id, usage_hour(now), after.type);
  auto it = usage_.find(key);
  if (it == usage_.end()) {
    // The first change of this row since it was last dropped: what storage holds so far,
    // read before the row exists here, so a failed read (it throws) leaves no zero row
    // to be written over the stored one.
    UsageCounts stored = store::read_usage(db_, key).value_or(UsageCounts{});
    it = usage_.emplace(key, stored).first;
  }
  it->second.add(change);
  usage_dirty_.insert(std::move(key));
  if (change.cost.usd_nanos > 0) spend_.add(after.account_id, usage_month(now), change.cost.usd_nanos);
}

void Shard::write_usage() {
  for (const std::string& key : usage_dirty_) {
    store::write_usage(db_, committer_.batch(), key, usage_.at(key));
  }
  usage_dirty_.clear();
}

void Shard::drop_old_usage(Millis now) {
  // Rows of past hours change only when a transition is counted late (a clock step):
  // then they are read back from storage.
  std::int64_t hour = usage_hour(now);
  std::erase_if(usage_, [&](const auto& row) {
    auto parts = keys::decode_usage_key(row.first);
    return parts && parts->hour < hour - 1 && !usage_dirty_.contains(row.first);
  });
}

}  // namespace baton
