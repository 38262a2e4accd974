// LocalEngine's recovery from a storage failure (architecture.md, "Recovery from a
// storage failure"): shard 0 watches; once the cause is gone every shard rebuilds its
// queues, timers and caches from what RocksDB holds, and writes are allowed again.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "core/failures.hpp"
#include "engine/cross_shard.hpp"
#include "engine/local_engine.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/keys.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<void> LocalEngine::watch_storage() {
  // Often enough that writes return within a second or two of the cause going away;
  // each look is one atomic load while storage is healthy.
  constexpr auto kStorageRetry = std::chrono::seconds(1);
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(kStorageRetry);
    auto [error] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    if (db_.writable()) continue;
    try {
      co_await recover_storage();
    } catch (const std::exception& failure) {
      // A read failed mid-rebuild (the storage fault is not over): storage stays
      // unwritable, and the next look rebuilds every shard from scratch again.
      note_failure(Failure::storage_rebuild, "storage recovery", failure.what());
    }
  }
}

bool LocalEngine::reopen_parked() {
  // Runs on shard 0's thread, inside one handler: shard 0 does nothing else meanwhile,
  // and every other shard thread blocks in a handler of its own, so no thread that reads
  // RocksDB through iterators or views is in one while the database is swapped.
  constexpr auto kParkWait = std::chrono::seconds(5);
  struct Parking {
    std::mutex mutex;
    std::condition_variable changed;
    int parked = 0;
    bool released = false;
  };
  auto parking = std::make_shared<Parking>();
  for (std::size_t i = 1; i < shards_.size(); ++i) {
    asio::post(shards_[i]->context(), [parking] {
      std::unique_lock lock(parking->mutex);
      ++parking->parked;
      parking->changed.notify_all();
      parking->changed.wait(lock, [&] { return parking->released; });
    });
  }
  bool all_parked;
  {
    std::unique_lock lock(parking->mutex);
    int others = static_cast<int>(shards_.size()) - 1;
    all_parked = parking->changed.wait_for(lock, kParkWait, [&] { return parking->parked == others; });
  }
  // reopen() does not return when opening fails (the process exits for a restart).
  bool reopened = all_parked && db_.reopen().ok();
  {
    std::lock_guard lock(parking->mutex);
    parking->released = true;
  }
  parking->changed.notify_all();
  return reopened;
}

asio::awaitable<bool> LocalEngine::recover_storage() {
  // Nothing can start a write while storage is unwritable, so once every shard has
  // none in flight, none will be until allow_writes().
  for (auto& shard : shards_) {
    Shard* owner = shard.get();
    bool quiet = co_await on_shard(owner->context(), [owner]() -> asio::awaitable<bool> {
      co_return owner->quiescent();
    });
    if (!quiet) co_return false;
  }
  std::uint64_t failed_before = db_.failed_writes();
  // RocksDB resumes after errors it classes as recoverable (a full disk). After others (a
  // plain I/O error on the WAL) it keeps refusing until it is reopened: done once the
  // data directory takes a synced write again, with every other shard parked.
  bool retry_later = false;
  if (!db_.resume(&retry_later).ok()) {
    if (retry_later || !db_.probe().ok()) co_return false;
    if (!reopen_parked()) co_return false;
  }
  int count = shard_count();
  for (auto& shard : shards_) {
    Shard* owner = shard.get();
    co_await on_shard(owner->context(), [this, owner, count]() -> asio::awaitable<void> {
      owner->forget_state();
      store::scan_active(db_, [&](const keys::ActiveKey& key, const records::ActiveEntry& entry) {
        if (shard_of_vnode(ulid_vnode(key.id), count) == owner->index()) owner->restore(key, entry);
      });
      store::scan_schedules(db_, [&](const Ulid& id, const Schedule& schedule) {
        if (&schedule_owner(schedule) != owner) return;
        owner->adopt_schedule(id, schedule);
        set_schedule_home(schedule.id, ScheduleHome{schedule.account, schedule.task_type});
      });
      owner->catch_up_schedules();
      co_return;
    });
  }
  // Creates counted toward a quota whose writes failed: count again from storage.
  quota_.forget();
  spend_.forget();
  // A write off the shards (account and key records) that failed meanwhile means storage
  // is failing again: stay unwritable, and look again later.
  if (db_.failed_writes() != failed_before) co_return false;
  db_.allow_writes();
  rewatch_restored();
  co_return true;
}

}  // namespace baton
