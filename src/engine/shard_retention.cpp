// A shard's part of the retention purge: its own terminal tasks past their retention,
// removed whole (record and listing entries) in one bounded write.
#include <rocksdb/write_batch.h>

#include "engine/routing.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace baton {

boost::asio::awaitable<Shard::PurgeStep> Shard::purge(std::string account, TaskStatus status,
                                                      Millis cutoff, std::optional<Ulid> after,
                                                      int limit, int shard_count) {
  PurgeStep step;
  if (!db_.writable() || limit <= 0) co_return step;
  auto mine = [&](const Ulid& id) { return shard_of_vnode(ulid_vnode(id), shard_count) == index_; };
  // Every read first (any of them may throw): nothing is queued until all have been made.
  store::TerminalScan scan = store::terminal_created_before(
      db_, account, status, cutoff, after, static_cast<std::size_t>(limit), mine);
  step.last = scan.last;
  step.done = scan.done;
  std::vector<std::pair<Ulid, std::shared_ptr<const Task>>> doomed;
  for (const Ulid& id : scan.ids) {
    // Looked at again on this thread: a dead letter requeued since, or a change still
    // being written, stays.
    if (dirty_.contains(id)) continue;
    std::shared_ptr<const Task> task = load(id);
    if (!task || !is_terminal(task->status) || task->updated_at >= cutoff) continue;
    if (task->status == TaskStatus::dead_letter) queue_facts(task->account_id, task->type);
    doomed.emplace_back(id, std::move(task));
  }
  if (doomed.empty()) co_return step;
  std::uint64_t generation = committer_.filling_generation();
  for (const auto& [id, task] : doomed) {
    store::write_purge(db_, committer_.batch(), *task, id);
    count_purged(*task);
    // Gone from here on: until the write is durable, a command on it finds no task (a
    // null in dirty_), and nothing can write it back over the purge.
    forget_recent(id);
    dirty_[id] = Dirty{nullptr, generation};
    dirty_order_.emplace_back(generation, id);
  }
  committer_.add_op();
  StorageStatus written = co_await committer_.wait(generation);
  step.purged = written.ok() ? static_cast<int>(doomed.size()) : 0;
  if (!written.ok()) step.done = true;
  co_return step;
}

}  // namespace baton
