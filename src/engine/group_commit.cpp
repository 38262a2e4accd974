#include "engine/group_commit.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <rocksdb/write_batch.h>

#include <pthread.h>

#include <algorithm>
#include <optional>

#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

struct GroupCommitter::Sealed {
  rocksdb::WriteBatch batch;
  std::vector<store::TransitionWrite> transitions;  // still to add to batch
  std::uint64_t generation;
  int ops;
  std::chrono::steady_clock::time_point since;  // the round's first operation
};

struct GroupCommitter::Waiter {
  std::uint64_t generation;
  asio::any_io_executor executor;  // the waiting coroutine's
  asio::any_completion_handler<void(StorageStatus)> handler;
};

GroupCommitter::GroupCommitter(asio::io_context& shard, Db& db, SyncMode mode,
                               int max_ops_per_write)
    : shard_(shard),
      db_(db),
      mode_(mode),
      max_ops_per_write_(mode == SyncMode::always ? 1 : std::max(1, max_ops_per_write)),
      filling_(std::make_unique<rocksdb::WriteBatch>()) {
  commit_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "baton-commit");
    commit_loop();
  });
}

GroupCommitter::~GroupCommitter() { finish_pending(); }

void GroupCommitter::finish_pending() {
  if (commit_thread_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    commit_thread_.join();  // it writes what was queued before it ends
  }
  // What the commit thread did not get: queued after it stopped, or still filling.
  seal();
  std::vector<std::unique_ptr<Sealed>> rest;
  {
    std::lock_guard lock(mutex_);
    rest.swap(sealed_);
  }
  for (auto& sealed : rest) {
    encode_transitions(*sealed);
    if (db_.writable()) db_.write(sealed->batch, mode_ != SyncMode::none);
  }
}

rocksdb::WriteBatch& GroupCommitter::batch() { return *filling_; }

void GroupCommitter::add_transition(store::TransitionWrite write) {
  filling_transitions_.push_back(std::move(write));
}

void GroupCommitter::encode_transitions(Sealed& sealed) {
  for (const auto& write : sealed.transitions) store::write_transition(db_, sealed.batch, write);
  sealed.transitions.clear();
}

std::uint64_t GroupCommitter::to_ns(Clock::duration duration) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count());
}

void GroupCommitter::record_write(Clock::time_point first_op, Clock::time_point began, int ops) {
  std::uint64_t took = to_ns(Clock::now() - began);
  wait_ns_.fetch_add(to_ns(began - first_op), std::memory_order_relaxed);
  write_ns_.fetch_add(took, std::memory_order_relaxed);
  write_us_.add(static_cast<std::int64_t>(took / 1000));
  write_ops_.add(ops);
}

CommitTiming GroupCommitter::timing() const {
  CommitTiming t;
  t.writes = writes_.load(std::memory_order_relaxed);
  t.ops = ops_.load(std::memory_order_relaxed);
  t.wait_ns = wait_ns_.load(std::memory_order_relaxed);
  t.write_ns = write_ns_.load(std::memory_order_relaxed);
  t.back_to_shard_ns = back_to_shard_ns_.load(std::memory_order_relaxed);
  return t;
}

std::uint64_t GroupCommitter::add_op() {
  std::uint64_t generation = filling_generation_;
  if (filling_ops_ == 0) filling_since_ = Clock::now();
  ++filling_ops_;
  if (filling_ops_ >= max_ops_per_write_) seal();
  schedule_seal();
  return generation;
}

asio::awaitable<StorageStatus> GroupCommitter::wait(std::uint64_t generation) {
  if (generation <= committed_generation_) {
    // Generations before the first failure were written; the failed one and later not.
    // One that failed before a recovery stays failed for a waiter that asks late (a claim
    // handed to a long poll on another shard registers its wait only once it resumes).
    if (first_failed_generation_ != 0 && generation >= first_failed_generation_) {
      co_return first_error_;
    }
    for (const FailedRange& range : recovered_failures_) {
      if (generation >= range.first && generation < range.until) co_return range.error;
    }
    co_return StorageStatus();
  }
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(StorageStatus)>(
      [this, generation](auto handler) {
        auto executor = asio::get_associated_executor(handler);
        waiters_.push_back(
            std::make_unique<Waiter>(Waiter{generation, executor, std::move(handler)}));
      },
      asio::use_awaitable);
}

void GroupCommitter::schedule_seal() {
  if (seal_posted_) return;
  seal_posted_ = true;
  // Posting seals after the handlers already queued in this turn, so their writes join
  // the same batch.
  asio::post(shard_, [this] {
    seal_posted_ = false;
    seal(true);
  });
}

void GroupCommitter::seal(bool turn_end) {
  if (filling_ops_ == 0) return;
  if (before_seal_) before_seal_();
  // Synced writes (`batch`, `always`) are the commit thread's: the shard must not wait on
  // a disk.
  if (turn_end && mode_ == SyncMode::none && write_here()) return;
  auto sealed = std::make_unique<Sealed>();
  sealed->batch = std::move(*filling_);
  filling_->Clear();
  sealed->transitions.swap(filling_transitions_);
  sealed->generation = filling_generation_;
  sealed->ops = filling_ops_;
  sealed->since = filling_since_;
  filling_ops_ = 0;
  ++filling_generation_;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    sealed_.push_back(std::move(sealed));
    wake = commit_idle_;
  }
  if (wake) wake_.notify_one();  // a busy commit thread finds it when its write returns
}

bool GroupCommitter::write_here() {
  // After a failure the commit thread reports the refusals, in order with the failure.
  if (!db_.writable()) return false;
  {
    std::lock_guard lock(mutex_);
    // Only behind nothing: generations are written in order. Looked at again under the
    // lock: the commit thread may have failed a write (and gone idle) since the look above.
    if (!commit_idle_ || !sealed_.empty() || !db_.writable()) return false;
  }
  for (const auto& write : filling_transitions_) store::write_transition(db_, *filling_, write);
  filling_transitions_.clear();
  Clock::time_point began = Clock::now();
  std::optional<StorageStatus> error = db_.write_unless_stalled(*filling_);
  if (!error) return false;  // left for the commit thread, transitions now encoded
  record_write(filling_since_, began, filling_ops_);
  std::uint64_t generation = filling_generation_;
  writes_.fetch_add(1, std::memory_order_relaxed);
  writes_here_.fetch_add(1, std::memory_order_relaxed);
  ops_.fetch_add(static_cast<std::uint64_t>(filling_ops_), std::memory_order_relaxed);
  filling_->Clear();
  filling_ops_ = 0;
  ++filling_generation_;
  on_committed(generation, generation, std::move(*error));
  return true;
}

void GroupCommitter::commit_loop() {
  for (;;) {
    std::vector<std::unique_ptr<Sealed>> taken;
    int ops = 0;
    {
      std::unique_lock lock(mutex_);
      commit_idle_ = true;
      wake_.wait(lock, [this] { return !sealed_.empty() || stopping_; });
      commit_idle_ = false;
      if (sealed_.empty()) return;  // stopping, nothing left
      // The oldest batches, up to group_commit_max_batch operations (at least one batch):
      // a slow disk makes writes bigger, but never unbounded. `always` has one operation
      // per batch and a bound of 1, so each of its writes carries exactly one.
      std::size_t count = 0;
      while (count < sealed_.size() &&
             (count == 0 || ops + sealed_[count]->ops <= max_ops_per_write_)) {
        ops += sealed_[count]->ops;
        ++count;
      }
      auto end = sealed_.begin() + static_cast<std::ptrdiff_t>(count);
      taken.assign(std::make_move_iterator(sealed_.begin()), std::make_move_iterator(end));
      sealed_.erase(sealed_.begin(), end);
    }
    // One write for everything taken. After a failed write nothing later is written: it
    // was decided on top of the failure.
    std::vector<rocksdb::WriteBatch*> batches;
    for (auto& sealed : taken) {
      encode_transitions(*sealed);
      batches.push_back(&sealed->batch);
    }
    StorageStatus error;
    Clock::time_point began = Clock::now();
    if (!db_.writable()) {
      std::string why = db_.last_error();
      error = StorageStatus::failure(StorageStatus::Kind::not_writable,
                                     why.empty() ? "storage is not writable" : why);
    } else {
      // Synced in `batch` and `always`: RocksDB makes one WAL append and one fsync for
      // this write and those other shards' commit threads make meanwhile.
      error = db_.write_all(batches, mode_ != SyncMode::none);
    }
    record_write(taken.front()->since, began, ops);
    writes_.fetch_add(1, std::memory_order_relaxed);
    ops_.fetch_add(static_cast<std::uint64_t>(ops), std::memory_order_relaxed);
    // Generations are sealed one after another, so a write covers a contiguous range.
    std::uint64_t first = taken.front()->generation, last = taken.back()->generation;
    Clock::time_point written = Clock::now();
    asio::post(shard_, [this, first, last, written, error = std::move(error)]() mutable {
      back_to_shard_ns_.fetch_add(to_ns(Clock::now() - written), std::memory_order_relaxed);
      on_committed(first, last, std::move(error));
    });
  }
}

void GroupCommitter::record_failure(std::uint64_t first, const StorageStatus& error) {
  // The earliest failure wins, whatever order the reports arrive in: every generation of
  // the failed write failed, not only its last, and every later one with it.
  if (!error.ok() && (first_failed_generation_ == 0 || first < first_failed_generation_)) {
    first_failed_generation_ = first;
    first_error_ = error;
  }
}

void GroupCommitter::on_committed(std::uint64_t first, std::uint64_t generation,
                                  StorageStatus error) {
  // A write made on the shard's thread can be reported before the commit thread's report
  // of an earlier one has run: the later report then adds nothing but a failure.
  bool advances = generation > committed_generation_;
  committed_generation_ = std::max(committed_generation_, generation);
  record_failure(first, error);
  if (on_durable_ && advances) on_durable_(generation, error.ok());
  resume(generation, error);
}

// Resumes the waiters that `generation` satisfies.
void GroupCommitter::resume(std::uint64_t generation, const StorageStatus& error) {
  // Waiters may have queued out of generation order (a long poll waits for a claim made
  // earlier), so look at all of them; there are a few per batch.
  std::vector<std::unique_ptr<Waiter>> ready;
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if ((*it)->generation > generation) {
      ++it;
      continue;
    }
    ready.push_back(std::move(*it));
    it = waiters_.erase(it);
  }
  // Resumed right here (this runs in its own handler on the shard's thread, and each
  // waiter's executor is the shard's): a post would queue every reply behind all the
  // shard received meanwhile, a second trip through its event loop. A resumed handler
  // may wait again; `ready` is ours, so that cannot disturb this loop.
  for (auto& waiter : ready) {
    asio::dispatch(waiter->executor, [handler = std::move(waiter->handler), error]() mutable {
      std::move(handler)(error);
    });
  }
}

}  // namespace baton
