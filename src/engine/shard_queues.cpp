// A shard's part of the queue view and of queue control: the queues it owns (an
// account's type lives on one shard, so each queue's counts and facts have one writer).
// Counts by status follow every transition and are rebuilt from the active entries at
// start; the dead-letter count is stored with the transitions that change it.
#include <rocksdb/write_batch.h>

#include <map>

#include "engine/routing.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace {

// What a queue's tally adds to its stats (all pending tasks under `pending`, until
// split_due tells the due ones from the rest).
void add_tally(QueueStats& stats, const std::array<std::int64_t, kTaskStatusCount>& by_status,
               std::int64_t created, std::int64_t completed) {
  stats.pending += by_status[static_cast<int>(TaskStatus::pending)];
  stats.claimed += by_status[static_cast<int>(TaskStatus::claimed)];
  stats.blocked += by_status[static_cast<int>(TaskStatus::blocked)];
  stats.awaiting_review += by_status[static_cast<int>(TaskStatus::awaiting_review)];
  stats.awaiting_acceptance += by_status[static_cast<int>(TaskStatus::awaiting_acceptance)];
  stats.created_last_minute += created;
  stats.completed_last_minute += completed;
}

// Of the pending tasks, those due are in the ready queues (`due` of them); the rest wait
// for their time.
void split_due(QueueStats& stats, std::int64_t due) {
  stats.scheduled = std::max<std::int64_t>(0, stats.pending - due);
  stats.pending = std::min(stats.pending, due);
}

std::int64_t due_of(const std::map<std::string, std::int64_t, std::less<>>& due, const std::string& type) {
  auto it = due.find(type);
  return it == due.end() ? 0 : it->second;
}

}  // namespace

void Shard::count_queue_status(const std::string& account, const std::string& type,
                               TaskStatus status, int change) {
  if (is_terminal(status)) return;
  queue_tallies_[queue_key(account, type)].by_status[static_cast<int>(status)] += change;
}

QueueFacts& Shard::queue_facts(const std::string& account, const std::string& type) {
  std::string key = keys::queue_facts_key(account, type);
  auto it = queue_facts_.find(key);
  if (it == queue_facts_.end()) {
    // Read before the entry exists here, so a failed read (it throws) leaves no zero
    // entry to be written over the stored one.
    QueueFacts stored = store::read_queue_facts(db_, key).value_or(QueueFacts{});
    it = queue_facts_.emplace(std::move(key), stored).first;
  }
  return it->second;
}

void Shard::count_queue(const Task* before, const Task& after, Millis now) {
  bool dead_before = before && before->status == TaskStatus::dead_letter;
  bool dead_after = after.status == TaskStatus::dead_letter;
  if (dead_before != dead_after) {
    // First: the only step that may read storage (and throw).
    QueueFacts& facts = queue_facts(after.account_id, after.type);
    facts.dead_lettered = std::max<std::int64_t>(0, facts.dead_lettered + (dead_after ? 1 : -1));
    queue_facts_dirty_.insert(keys::queue_facts_key(after.account_id, after.type));
  }
  if (before && before->status == after.status) return;
  QueueTally& tally = queue_tallies_[queue_key(after.account_id, after.type)];
  if (before && !is_terminal(before->status)) --tally.by_status[static_cast<int>(before->status)];
  if (!is_terminal(after.status)) ++tally.by_status[static_cast<int>(after.status)];
  if (!before) tally.created.add(now);
  if (after.status == TaskStatus::completed) tally.completed.add(now);
}

void Shard::count_purged(const Task& task) {
  if (task.status != TaskStatus::dead_letter) return;
  QueueFacts& facts = queue_facts(task.account_id, task.type);  // loaded by the purge's reads
  facts.dead_lettered = std::max<std::int64_t>(0, facts.dead_lettered - 1);
  queue_facts_dirty_.insert(keys::queue_facts_key(task.account_id, task.type));
}

void Shard::write_queue_facts() {
  std::uint64_t generation = committer_.filling_generation();
  for (const std::string& key : queue_facts_dirty_) {
    store::write_queue_facts(db_, committer_.batch(), key, queue_facts_.at(key));
    queue_facts_written_[key] = generation;
  }
  queue_facts_dirty_.clear();
}

void Shard::drop_idle_queues(Millis now) {
  std::erase_if(queue_tallies_, [&](const auto& entry) {
    const QueueTally& tally = entry.second;
    for (std::int64_t count : tally.by_status) {
      if (count != 0) return false;
    }
    return tally.created.idle(now) && tally.completed.idle(now);
  });
  std::uint64_t durable = committer_.committed_generation();
  std::erase_if(queue_facts_written_, [&](const auto& entry) { return entry.second <= durable; });
  std::erase_if(queue_facts_, [&](const auto& entry) {
    return !queue_facts_dirty_.contains(entry.first) && !queue_facts_written_.contains(entry.first);
  });
}

std::vector<QueueStats> Shard::queue_stats(const std::string& account, int shard_count) {
  Millis now = wall_now_ms();
  std::map<std::string, QueueStats> by_type;
  auto stats_of = [&](std::string_view type) -> QueueStats& {
    auto [it, inserted] = by_type.try_emplace(std::string(type));
    if (inserted) it->second.type = type;
    return it->second;
  };
  std::string prefix = queue_key(account, {});
  for (const auto& [key, tally] : queue_tallies_) {
    if (!key.starts_with(prefix)) continue;
    add_tally(stats_of(std::string_view(key).substr(prefix.size())), tally.by_status,
              tally.created.sum(now), tally.completed.sum(now));
  }
  std::map<std::string, std::int64_t, std::less<>> due;
  ready_.for_each_of_account(account, [&](const ReadyQueues::Queue& queue) {
    if (queue.entries.empty()) return;
    due[std::string(queue.base_type())] += static_cast<std::int64_t>(queue.entries.size());
    QueueStats& stats = stats_of(queue.base_type());
    Millis oldest = queue.oldest_due();
    if (stats.oldest_pending_since == 0 || oldest < stats.oldest_pending_since) {
      stats.oldest_pending_since = oldest;
    }
  });
  for (auto& [type, stats] : by_type) split_due(stats, due_of(due, type));
  // Stored facts of this shard's queues, where a change not yet written is newer.
  auto mine = [&](const std::string& type) {
    return shard_of_vnode(vnode_of(account, type), shard_count) == index_;
  };
  auto add_facts = [&](const std::string& type, const QueueFacts& facts) {
    if (facts.empty()) return;
    QueueStats& stats = stats_of(type);
    stats.dead_lettered = facts.dead_lettered;
    stats.paused = facts.paused;
    stats.paused_at = facts.paused_at;
  };
  store::scan_queue_facts(db_, keys::queue_facts_prefix(account),
                          [&](const keys::QueueFactsKey& key, const QueueFacts& stored) {
                            if (!mine(key.type)) return;
                            auto cached = queue_facts_.find(keys::queue_facts_key(account, key.type));
                            add_facts(key.type, cached == queue_facts_.end() ? stored : cached->second);
                          });
  for (const auto& [key, facts] : queue_facts_) {
    auto parts = keys::decode_queue_facts_key(key);
    if (parts && parts->account == account && !by_type.contains(parts->type)) {
      add_facts(parts->type, facts);
    }
  }
  std::vector<QueueStats> out;
  out.reserve(by_type.size());
  for (auto& [type, stats] : by_type) {
    bool listed = stats.pending || stats.scheduled || stats.claimed || stats.blocked ||
                  stats.awaiting_review || stats.awaiting_acceptance || stats.dead_lettered ||
                  stats.created_last_minute || stats.completed_last_minute || stats.paused;
    if (listed) out.push_back(std::move(stats));
  }
  return out;
}

std::vector<QueueStats> Shard::type_totals() {
  Millis now = wall_now_ms();
  std::map<std::string, QueueStats, std::less<>> by_type;
  for (const auto& [key, tally] : queue_tallies_) {
    std::size_t separator = key.find('\0');
    if (separator == std::string::npos) continue;
    add_tally(by_type[key.substr(separator + 1)], tally.by_status, tally.created.sum(now),
              tally.completed.sum(now));
  }
  std::map<std::string, std::int64_t, std::less<>> due;
  ready_.for_each([&](const ReadyQueues::Queue& queue) {
    due[std::string(queue.base_type())] += static_cast<std::int64_t>(queue.entries.size());
  });
  std::vector<QueueStats> out;
  out.reserve(by_type.size());
  for (auto& [type, stats] : by_type) {
    split_due(stats, due_of(due, type));
    stats.type = type;
    out.push_back(std::move(stats));
  }
  return out;
}

boost::asio::awaitable<QueueControlOutcome> Shard::set_paused(std::string account,
                                                              std::string type, bool paused,
                                                              int shard_count) {
  QueueControlOutcome outcome;
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  QueueFacts& facts = queue_facts(account, type);
  if (facts.paused != paused) {
    facts.paused = paused;
    facts.paused_at = paused ? wall_now_ms() : 0;
    queue_facts_dirty_.insert(keys::queue_facts_key(account, type));
    std::uint64_t generation = committer_.add_op();
    StorageStatus written = co_await committer_.wait(generation);
    if (!written.ok()) {
      outcome.error = ErrorCode::unavailable;
      co_return outcome;
    }
    // Claims see the change only once it is durable: a crash never undoes a pause that
    // already stopped a claim, nor a resume that already served one.
    ready_.set_paused(account, type, paused);
    if (!paused) {
      std::vector<ReadyQueues::Queue*> resumed;
      ready_.for_each_of_account(account, [&](const ReadyQueues::Queue& queue) {
        if (queue.base_type() == type) resumed.push_back(ready_.find(queue.account, queue.type));
      });
      for (ReadyQueues::Queue* queue : resumed) on_claimable(*queue);
    }
  }
  outcome.queue.type = type;
  for (QueueStats& stats : queue_stats(account, shard_count)) {
    if (stats.type == type) outcome.queue = std::move(stats);
  }
  outcome.queue.paused = paused;
  co_return outcome;
}

}  // namespace baton
