#pragma once
// Group commit for one shard. Handlers add a transition's writes to batch() (or hand it
// over with add_transition(), to be encoded by whoever writes it) and call add_op(); at
// the end of each event-loop turn the shard writes what was added as one RocksDB write,
// then resumes the handlers waiting on it once it is written or durable.
//   always: one write + fsync per operation (a response only after its own fsync), on
//           the shard's commit thread: the shard never waits for a disk.
//   batch:  one unsynced write per turn, made on the shard's thread; a sync thread
//           fsyncs the WAL behind it (durable; the default). While round N is being
//           fsynced the shard answers claims and appends round N+1, and one fsync
//           covers every round written before it began: the disk's latency overlaps
//           the next round's work instead of adding to it.
//   none:   one unsynced write per turn, on the shard's thread, no fsync (survives a
//           process crash, not a power loss).
// Writing on the shard's thread (WAL append to the page cache and memtable inserts, a
// few µs per operation) saves a hand-off to another thread and back per round, which on
// few cores costs more than the write. It is only done when nothing is queued for the
// commit thread, the database is writable, and RocksDB would not delay the write
// (`no_slowdown`: write throttling or a stop); otherwise (and for a batch that filled
// up mid-turn) the round goes to the commit thread, which writes queued rounds in order.
// What `no_slowdown` does not avoid stays on the shard: a memtable switch (a new WAL
// file, every few seconds under heavy writes) and waiting behind another shard's write
// in RocksDB's write group, both bounded and short.
// Owned by its shard and used only on the shard's thread, except the queue between the
// shard and its commit thread (a mutex and a condition variable).
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/storage_status.hpp"
#include "core/sync_mode.hpp"

namespace rocksdb { class WriteBatch; }

namespace baton {

class Db;
namespace store { struct TransitionWrite; }

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
  // With `written_is_enough`, once it is written (visible to every reader of RocksDB),
  // which in `batch` mode comes before its fsync.
  boost::asio::awaitable<StorageStatus> wait(std::uint64_t generation,
                                           bool written_is_enough = false);

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
  // Called on the shard's thread each time a generation is written: durable when `ok`.
  void set_on_durable(std::function<void(std::uint64_t generation, bool ok)> callback) {
    on_durable_ = std::move(callback);
  }

  // Counters for /health; any thread may read them.
  std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  std::uint64_t ops() const { return ops_.load(std::memory_order_relaxed); }
  // Of writes(), those made on the shard's own thread.
  std::uint64_t writes_here() const { return writes_here_.load(std::memory_order_relaxed); }

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
  void sync_loop();    // the sync thread (`batch` only)
  // Hands a written (or failed) range of generations to the sync thread.
  void written(std::uint64_t first, std::uint64_t last, StorageStatus error);
  // Generations first..generation were written (durable when `error` is empty).
  void on_committed(std::uint64_t first, std::uint64_t generation, StorageStatus error);
  // `batch` only: generations first..generation were written, their fsync is pending.
  void on_written(std::uint64_t first, std::uint64_t generation, StorageStatus error);
  void record_failure(std::uint64_t first, const StorageStatus& error);
  void resume(std::uint64_t generation, bool written_only, const StorageStatus& error);

  boost::asio::io_context& shard_;
  Db& db_;
  SyncMode mode_;
  int max_ops_per_write_;
  // Shard thread only.
  std::unique_ptr<rocksdb::WriteBatch> filling_;
  std::vector<store::TransitionWrite> filling_transitions_;
  int filling_ops_ = 0;
  std::uint64_t filling_generation_ = 1;
  std::uint64_t committed_generation_ = 0;
  std::uint64_t written_generation_ = 0;  // >= committed_generation_
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
  // Shared with the commit thread, under mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::unique_ptr<Sealed>> sealed_;  // in generation order
  bool commit_idle_ = false;  // the commit thread waits on wake_
  bool stopping_ = false;
  std::atomic<std::uint64_t> writes_{0};  // RocksDB writes issued
  std::atomic<std::uint64_t> ops_{0};     // operations they carried
  std::atomic<std::uint64_t> writes_here_{0};
  std::thread commit_thread_;
  // Between the commit thread and the sync thread, under sync_mutex_: ranges written
  // (not yet fsynced), in order.
  struct Written {
    std::uint64_t first, last;
    StorageStatus error;  // the write failed: nothing to fsync, report this
  };
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  std::vector<Written> written_;
  bool sync_idle_ = false;
  bool sync_stopping_ = false;
  std::thread sync_thread_;
};

}  // namespace baton
