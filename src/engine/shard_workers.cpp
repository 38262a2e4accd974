// A shard's part of the worker roster: the counts of the workers of the queues it owns
// (an account's type lives on one shard, so each (account, worker, type) row has one
// home). Counted from each transition as it is decided; written to RocksDB once a second
// with whatever else that turn writes.
#include <rocksdb/write_batch.h>

#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace baton {

void Shard::count_worker(const Task* before, const Task& after, Millis now) {
  std::optional<WorkerChange> change = worker_change(before, after, now);
  if (!change) return;
  std::string key = keys::worker_stats_key(after.account_id, change->worker, after.type);
  add(worker_stats_[key], *change);
  worker_stats_dirty_.insert(std::move(key));
}

void Shard::write_worker_stats() {
  if (worker_stats_dirty_.empty() || !db_.writable()) return;
  for (const std::string& key : worker_stats_dirty_) {
    store::write_worker_stats(db_, committer_.batch(), key, worker_stats_.at(key));
  }
  worker_stats_dirty_.clear();
  committer_.add_op();  // sealed with this turn; nobody waits for it
}

void Shard::restore_worker_stats(const std::string& key, const WorkerTypeStats& stats) {
  worker_stats_[key] = stats;
}

std::vector<std::pair<keys::WorkerStatsKey, WorkerTypeStats>> Shard::worker_stats_of(
    const std::string& account, Millis seen_since) const {
  std::vector<std::pair<keys::WorkerStatsKey, WorkerTypeStats>> rows;
  for (const auto& [key, stats] : worker_stats_) {
    if (stats.last_seen < seen_since) continue;
    auto parts = keys::decode_worker_stats_key(key);
    if (parts && parts->account == account) rows.emplace_back(std::move(*parts), stats);
  }
  return rows;
}

std::optional<std::string> Shard::best_worker(const std::string& account,
                                             const std::string& type, Millis now) const {
  std::vector<WorkerRow> candidates;
  for (const auto& [key, stats] : worker_stats_) {
    if (stats.last_seen < now - kAssignBestSeenMs) continue;
    auto parts = keys::decode_worker_stats_key(key);
    if (!parts || parts->account != account || parts->type != type) continue;
    candidates.push_back(WorkerRow{std::move(parts->worker), type, stats});
  }
  return best_worker_of(std::move(candidates));
}

}  // namespace baton
