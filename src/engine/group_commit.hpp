#pragma once
// Group commit for one shard. Handlers add a transition's writes to batch() (or hand it
// over with add_transition(), to be encoded by whoever writes it) and call add_op(); at
// the end of each event-loop turn the shard seals what was added, and handlers waiting
// on it resume once it is durable.
//   batch:  the commit thread writes every sealed round it finds as one synced RocksDB
//           write (durable; the default). While it writes and fsyncs round N, the shard
//           goes on and seals N+1, N+2, …, which its next write takes at once (up to
//           group_commit_max_batch operations). Synced writes that other shards' commit
//           threads make meanwhile join RocksDB's write group: one WAL append and one
//           fsync for all of them. An operation thus waits for the write in progress
//           and for its own, never for a queue of fsyncs.
//   always: the same with one operation per write: a response only after its own fsync.
//   none:   one unsynced write per turn, on the shard's thread, no fsync (survives a
//           process crash, not a power loss).
// The shard never waits for a disk: synced writes are the commit thread's. In `none` the
// shard writes itself (WAL append to the page cache and memtable inserts, a few µs per
// operation), which saves a hand-off to another thread and back per round; it does so
// only when nothing is queued for the commit thread, the database is writable, and
// RocksDB would not delay the write (`no_slowdown`: write throttling or a stop), else
// the round goes to the commit thread, which writes queued rounds in order.
// Owned by its shard and used only on the shard's thread, except the queue between the
// shard and its commit thread (a mutex and a condition variable).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/histogram.hpp"
#include "core/storage_status.hpp"
#include "core/sync_mode.hpp"

namespace rocksdb { class WriteBatch; }

namespace baton {

class Db;
namespace store { struct TransitionWrite; }

// Where an operation's time goes between its handler and its answer, summed over writes
// since start (any thread may read it; diff two readings for a window):
//   wait:          the first operation of a write added -> the write began (the rest of
//                  the shard's turn, and the wait for the commit thread to finish the
//                  write before);
//   write:         the RocksDB write, with its fsync in `batch` and `always`;
//   back_to_shard: the write returned -> the shard's thread ran the report (resumed the
//                  handlers): the hand-off and the wake-up of the shard.
struct CommitTiming {
  std::uint64_t writes = 0, ops = 0;
  std::uint64_t wait_ns = 0, write_ns = 0, back_to_shard_ns = 0;
};

class GroupCommitter {
 public:
  GroupCommitter(boost::asio::io_context& shard, Db& db, SyncMode mode, int max_ops_per_write);
  ~GroupCommitter();  // finish_pending(), if not done yet

  // Shutdown, once the shard's thread has stopped: lets the commit in flight finish, then
  // writes (synced) every batch still sealed or filling, so nothing an answer was based
  // on is left unwritten. Waiters are not resumed. Idempotent.
  void finish_pending();

  rocksdb::WriteBatch& batch();
  // A task transition for the operation being built, written (store::write_transition)
  // by whoever writes its batch (the shard or the commit thread), just before writing it,
  // after the writes already in batch().
  void add_transition(store::TransitionWrite write);
  // Declares that one operation's writes are complete in batch(); returns the generation
  // to wait for.
  std::uint64_t add_op();
  // Resumes once that generation is durable: "" on success, the storage error otherwise.
  boost::asio::awaitable<StorageStatus> wait(std::uint64_t generation);

  // Nothing added, written, being written or waited for: every generation handed out
  // was reported. Shard thread.
  bool quiescent() const {
    return filling_ops_ == 0 && committed_generation_ + 1 >= filling_generation_ && waiters_.empty();
  }
  // Forgets a failure (after the database recovered, once quiescent): later generations
  // are written again. Shard thread.
  void clear_failure() {
    if (first_failed_generation_ != 0) {
      recovered_failures_.push_back({first_failed_generation_, filling_generation_, first_error_});
    }
    first_failed_generation_ = 0;
    first_error_ = StorageStatus();
  }

  // The generation the next add_op() will return.
  std::uint64_t filling_generation() const { return filling_generation_; }
  // The last generation known durable (or failed) on the shard's thread.
  std::uint64_t committed_generation() const { return committed_generation_; }
  // Called on the shard's thread just before what was added is sealed: the last writes of
  // the round (counts kept up to date by its operations) go into batch() then.
  void set_before_seal(std::function<void()> callback) { before_seal_ = std::move(callback); }
  // Called on the shard's thread each time a generation is written: durable when `ok`.
  void set_on_durable(std::function<void(std::uint64_t generation, bool ok)> callback) {
    on_durable_ = std::move(callback);
  }

  // Counters for /health; any thread may read them.
  std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  std::uint64_t ops() const { return ops_.load(std::memory_order_relaxed); }
  // Each write's duration (µs, its fsync included when synced) and its operations.
  HistogramSnapshot write_latency() const { return write_us_.snapshot(); }
  HistogramSnapshot write_sizes() const { return write_ops_.snapshot(); }
  // Of writes(), those made on the shard's own thread.
  std::uint64_t writes_here() const { return writes_here_.load(std::memory_order_relaxed); }
  CommitTiming timing() const;

 private:
  struct Sealed;
  struct Waiter;
  void schedule_seal();
  // Seals what was added. At the end of a turn (`turn_end`) it may write it right here;
  // otherwise, or when it cannot, it queues it for the commit thread.
  void seal(bool turn_end = false);
  // Writes the filling batch on the shard's thread and reports it; false (nothing
  // written) when the commit thread has work queued, the database is not writable, or
  // RocksDB would delay the write.
  bool write_here();
  void encode_transitions(Sealed& sealed);  // on the thread about to write it
  void commit_loop();  // the commit thread
  // Generations first..generation were written (durable when `error` is empty).
  void on_committed(std::uint64_t first, std::uint64_t generation, StorageStatus error);
  void record_failure(std::uint64_t first, const StorageStatus& error);
  void resume(std::uint64_t generation, const StorageStatus& error);
  using Clock = std::chrono::steady_clock;
  static std::uint64_t to_ns(Clock::duration duration);
  void record_write(Clock::time_point first_op, Clock::time_point began, int ops);

  boost::asio::io_context& shard_;
  Db& db_;
  SyncMode mode_;
  int max_ops_per_write_;
  // Shard thread only.
  std::unique_ptr<rocksdb::WriteBatch> filling_;
  std::vector<store::TransitionWrite> filling_transitions_;
  int filling_ops_ = 0;
  std::uint64_t filling_generation_ = 1;
  Clock::time_point filling_since_{};  // when the filling round's first operation came
  std::uint64_t committed_generation_ = 0;
  std::uint64_t first_failed_generation_ = 0;  // 0: no write has failed
  StorageStatus first_error_;
  // Failed generations of earlier failures, forgotten by clear_failure(): one per
  // recovery, so a handful in a process's life.
  struct FailedRange {
    std::uint64_t first, until;  // [first, until)
    StorageStatus error;
  };
  std::vector<FailedRange> recovered_failures_;
  bool seal_posted_ = false;
  std::deque<std::unique_ptr<Waiter>> waiters_;  // in generation order
  std::function<void(std::uint64_t, bool)> on_durable_;
  std::function<void()> before_seal_;
  // Shared with the commit thread, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Sealed>> sealed_;  // in generation order
  bool commit_idle_ = false;  // the commit thread waits on wake_
  bool stopping_ = false;
  std::atomic<std::uint64_t> writes_{0};  // RocksDB writes issued
  std::atomic<std::uint64_t> ops_{0};     // operations they carried
  std::atomic<std::uint64_t> writes_here_{0};
  // CommitTiming's sums.
  std::atomic<std::uint64_t> wait_ns_{0}, write_ns_{0}, back_to_shard_ns_{0};
  Histogram write_us_{kDurationBoundsUs};
  Histogram write_ops_{kSizeBounds};
  std::thread commit_thread_;
};

}  // namespace baton
