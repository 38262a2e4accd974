#pragma once
// Group commit for one shard. Handlers add a transition's writes to batch() (or hand it
// over with add_transition(), to be encoded on the commit thread) and call add_op(); at
// the end of each event-loop turn the shard seals what was added and queues
// it for the shard's commit thread, which takes everything queued at once, writes it as
// one RocksDB write (and, in `batch` mode, one fsync), then resumes the handlers waiting
// on it. The commit thread starts its next write as soon as one returns, with whatever
// the shard queued meanwhile: a slow fsync turns into bigger writes, never a stalled
// shard, and no write waits for the shard to notice the previous one finished.
//   always: one write + fsync per operation (a response only after its own fsync)
//   batch:  one write per commit-thread round; a second thread fsyncs the WAL behind it
//           (durable; the default). The commit thread appends round N+1 while round N
//           is being fsynced, and one fsync covers every round written before it began:
//           the disk's latency overlaps the next round's work instead of adding to it.
//   none:   one write per commit-thread round, no fsync (survives a process crash, not
//           a power loss). Written on the commit thread too: the shard thread is the
//           busiest one, and a write there (WAL append and memtable inserts) would delay
//           every request queued behind it.
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

#include "config/config.hpp"

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
  // on the commit thread just before its batch, after the writes already in batch().
  void add_transition(store::TransitionWrite write);
  // Declares that one operation's writes are complete in batch(); returns the generation
  // to wait for.
  std::uint64_t add_op();
  // Resumes once that generation is durable: "" on success, the storage error otherwise.
  // With `written_is_enough`, once it is written (visible to every reader of RocksDB),
  // which in `batch` mode comes before its fsync.
  boost::asio::awaitable<std::string> wait(std::uint64_t generation,
                                           bool written_is_enough = false);

  // The generation the next add_op() will return.
  std::uint64_t filling_generation() const { return filling_generation_; }
  // Called on the shard's thread each time a generation is written: durable when `ok`.
  void set_on_durable(std::function<void(std::uint64_t generation, bool ok)> callback) {
    on_durable_ = std::move(callback);
  }

  // Counters for /health; any thread may read them.
  std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  std::uint64_t ops() const { return ops_.load(std::memory_order_relaxed); }

 private:
  struct Sealed;
  struct Waiter;
  void schedule_seal();
  void seal();
  void encode_transitions(Sealed& sealed);  // on the thread about to write it
  void commit_loop();  // the commit thread
  void sync_loop();    // the sync thread (`batch` only)
  // Hands a written (or failed) range of generations to the sync thread.
  void written(std::uint64_t first, std::uint64_t last, std::string error);
  // Generations first..generation were written (durable when `error` is empty).
  void on_committed(std::uint64_t first, std::uint64_t generation, std::string error);
  // `batch` only: generations first..generation were written, their fsync is pending.
  void on_written(std::uint64_t first, std::uint64_t generation, std::string error);
  void record_failure(std::uint64_t first, const std::string& error);
  void resume(std::uint64_t generation, bool written_only, const std::string& error);

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
  std::string first_error_;
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
  std::thread commit_thread_;
  // Between the commit thread and the sync thread, under sync_mutex_: ranges written
  // (not yet fsynced), in order.
  struct Written {
    std::uint64_t first, last;
    std::string error;  // the write failed: nothing to fsync, report this
  };
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  std::vector<Written> written_;
  bool sync_idle_ = false;
  bool sync_stopping_ = false;
  std::thread sync_thread_;
};

}  // namespace baton
