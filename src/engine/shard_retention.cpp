// A shard's part of the retention purge: its own terminal tasks past their retention,
// removed whole (record and listing entries) in one bounded write.
#include <rocksdb/write_batch.h>

#include "engine/routing.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace baton {

boost::asio::awaitable<int> Shard::purge(std::string account, Millis cutoff, int limit,
                                         int shard_count) {
  if (!db_.writable() || limit <= 0) co_return 0;
  auto mine = [&](const Ulid& id) { return shard_of_vnode(ulid_vnode(id), shard_count) == index_; };
  int purged = 0;
  for (TaskStatus status : {TaskStatus::completed, TaskStatus::dead_letter, TaskStatus::cancelled}) {
    if (purged >= limit) break;
    std::vector<Ulid> ids = store::terminal_created_before(
        db_, account, status, cutoff, static_cast<std::size_t>(limit - purged), mine);
    for (const Ulid& id : ids) {
      // Looked at again on this thread: a dead letter requeued since, or a change still
      // being written, stays.
      if (dirty_.contains(id)) continue;
      std::shared_ptr<const Task> task = load(id);
      if (!task || !is_terminal(task->status) || task->updated_at >= cutoff) continue;
      store::write_purge(db_, committer_.batch(), *task, id);
      // Gone from here on: until the write is durable, a command on it finds no task
      // (a null in dirty_), and nothing can write it back over the purge.
      recent_.erase(id);
      dirty_[id] = Dirty{nullptr, committer_.filling_generation()};
      dirty_order_.emplace_back(committer_.filling_generation(), id);
      ++purged;
    }
  }
  if (purged == 0) co_return 0;
  std::uint64_t generation = committer_.add_op();
  StorageStatus written = co_await committer_.wait(generation);
  co_return written.ok() ? purged : 0;
}

}  // namespace baton
