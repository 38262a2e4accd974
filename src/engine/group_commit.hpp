#pragma once
// Group commit for one shard. Handlers add a transition's writes to batch() and call
// add_op(); the shard keeps running while a commit thread writes (and, in `batch` mode,
// fsyncs) everything added during one event-loop turn as one RocksDB write, then resumes
// every handler waiting on it. While one commit is in flight the next batch fills, so a
// slow fsync turns into bigger batches, not a stalled shard.
//   always: one write + fsync per operation (a response only after its own fsync)
//   batch:  one write + fsync per group (durable; the default)
//   none:   one write per operation on the shard thread, no fsync (survives a process
//           crash, not a power loss)
// Owned by its shard and used only on the shard's thread.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "config/config.hpp"

namespace rocksdb { class WriteBatch; }

namespace baton {

class Db;

class GroupCommitter {
 public:
  GroupCommitter(boost::asio::io_context& shard, Db& db, SyncMode mode, int max_ops_per_write);
  ~GroupCommitter();  // finish_pending(), if not done yet

  // Shutdown, once the shard's thread has stopped: lets the commit in flight finish, then
  // writes (synced) every batch still sealed or filling, so nothing an answer was based
  // on is left unwritten. Waiters are not resumed. Idempotent.
  void finish_pending();

  rocksdb::WriteBatch& batch();
  // Declares that one operation's writes are complete in batch(); returns the generation
  // to wait for.
  std::uint64_t add_op();
  // Resumes once that generation is durable: "" on success, the storage error otherwise.
  boost::asio::awaitable<std::string> wait(std::uint64_t generation);

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
  void schedule_flush();
  void flush();
  void seal();
  void on_committed(std::uint64_t generation, std::string error);

  boost::asio::io_context& shard_;
  Db& db_;
  SyncMode mode_;
  int max_ops_per_write_;
  std::unique_ptr<rocksdb::WriteBatch> filling_;
  int filling_ops_ = 0;
  std::uint64_t filling_generation_ = 1;
  std::uint64_t committed_generation_ = 0;
  std::uint64_t first_failed_generation_ = 0;  // 0: no write has failed
  std::string first_error_;
  std::deque<std::unique_ptr<Sealed>> sealed_;  // waiting for the commit thread, in order
  bool in_flight_ = false;
  bool flush_posted_ = false;
  std::deque<std::unique_ptr<Waiter>> waiters_;  // in generation order
  std::function<void(std::uint64_t, bool)> on_durable_;
  std::atomic<std::uint64_t> writes_{0};  // RocksDB writes issued
  std::atomic<std::uint64_t> ops_{0};     // operations they carried
  boost::asio::io_context commit_context_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      commit_work_;
  std::thread commit_thread_;
};

}  // namespace baton
