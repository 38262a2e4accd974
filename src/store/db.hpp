#pragma once
// The RocksDB database and its column families. Thread-safe (RocksDB is); shared by all
// shards. Options are set in one place (db.cpp), each non-default with its reason.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"  // StorageError
#include "core/snapshot.hpp"
#include "core/storage_figures.hpp"
#include "store/spare_wal.hpp"
#include "core/storage_status.hpp"

namespace rocksdb {
class DB;
class Env;
class FileSystem;
class ColumnFamilyHandle;
class WriteBatch;
class Iterator;
class Snapshot;
class Slice;
class Status;
}  // namespace rocksdb

namespace baton {

enum class Cf { tasks, active, listing, idempotency, accounts, keys, meta, logs };
inline constexpr int kCfCount = 8;
const char* cf_name(Cf family);  // the column family's name in RocksDB

class Db {
 public:
  // Opens (creating if missing) the database at `path`; nullptr and `error` on failure.
  // `env` replaces RocksDB's default environment: tests use it to inject I/O faults.
  // `wal_spare_bytes` > 0 (and no `env`) keeps a WAL file of that size written ahead of
  // use under `path`/wal-spares (store/spare_wal.hpp).
  // `max_open_files` bounds the table files RocksDB keeps open (-1: all of them), so the
  // descriptors storage needs stay within a known budget (cli/serve.cpp).
  // `files` (with no `env`) replaces the file system under the spares: the power-loss
  // tests' journaling one (store/sync_journal.hpp).
  static std::unique_ptr<Db> open(const std::string& path, std::string* error,
                                  std::shared_ptr<rocksdb::Env> env = nullptr,
                                  std::uint64_t wal_spare_bytes = 0, int max_open_files = -1,
                                  std::shared_ptr<rocksdb::FileSystem> files = nullptr);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  rocksdb::DB& raw() { return *db_; }
  const std::string& path() const { return path_; }  // the data directory, as opened
  rocksdb::ColumnFamilyHandle* cf(Cf family) { return handles_[static_cast<int>(family)]; }

  // Point read: the value, or nullopt when absent. A storage fault throws StorageError.
  std::optional<std::string> get(Cf family, std::string_view key);
  // Writes a batch; `sync` fsyncs the WAL before returning.
  StorageStatus write(rocksdb::WriteBatch& batch, bool sync);
  // Builds a batch with `build` and writes it, both under the lock a reopen takes: for
  // threads other than the shards' (the key-storage thread), whose column family handles
  // must not be used while reopen() swaps them.
  StorageStatus write_built(const std::function<void(rocksdb::WriteBatch&)>& build, bool sync);
  // Writes several batches, in order, as one (one WAL record, one fsync when `sync`).
  StorageStatus write_all(const std::vector<rocksdb::WriteBatch*>& batches, bool sync);
  // Writes a batch unsynced unless RocksDB would delay it (write throttling or a write
  // stop, `no_slowdown`): then writes nothing and returns nullopt. Otherwise as write().
  std::optional<StorageStatus> write_unless_stalled(rocksdb::WriteBatch& batch);
  std::unique_ptr<rocksdb::Iterator> iterate(Cf family);
  // A consistent view at this moment (a RocksDB snapshot): a listing's index scan and
  // the record reads it makes see the same writes, however many commit meanwhile.
  class View {
   public:
    ~View();
    View(const View&) = delete;
    View& operator=(const View&) = delete;
    std::optional<std::string> get(Cf family, std::string_view key);  // as Db::get
    // The iterator reads the view's snapshot: destroy it before the view.
    std::unique_ptr<rocksdb::Iterator> iterate(Cf family);
    // Stops at `upper_bound` (exclusive) without stepping over what lies past it, deleted
    // keys included; the slice must outlive the iterator.
    std::unique_ptr<rocksdb::Iterator> iterate(Cf family, const rocksdb::Slice& upper_bound);

   private:
    friend class Db;
    explicit View(Db& db);
    Db& db_;
    const rocksdb::Snapshot* snapshot_;
  };
  View view() { return View(*this); }
  // A RocksDB checkpoint of the open database into `dir`, which must not exist (RocksDB
  // makes it, through `dir`.tmp): the memtables are flushed first, so it holds every
  // write that returned before the call, and the write-ahead log holds the writes that
  // race the flush, so a batch is in it whole or not at all. Table files are hard links
  // where `dir` is on the data directory's file system, copies elsewhere. Sets failure,
  // reason and sequence only. Any thread; a reopen() waits for it.
  SnapshotOutcome checkpoint(const std::string& dir);
  void flush_wal();  // fsyncs the WAL (shutdown); nothing once a write has failed
  // Fsyncs what was written to the WAL so far (writes made with sync = false); a
  // failure makes the database unwritable, as a failed write does. Once a write has
  // failed it syncs nothing and returns not_writable with that failure's text.
  StorageStatus sync_wal();

  // False once a write has failed, until the engine recovers: the process keeps serving
  // reads, answers writes with 503, and /health says "degraded".
  bool writable() const { return writable_.load(std::memory_order_relaxed); }
  // Called on the thread whose write failed, each time the database stops being
  // writable (before any waiter of that write is answered), and each time it is writable
  // again (allow_writes): the operator's log lines. Set both before the first write.
  void on_unwritable(std::function<void(const std::string& error)> listener) {
    on_unwritable_ = std::move(listener);
  }
  void on_writable(std::function<void()> listener) { on_writable_ = std::move(listener); }

  // Recovery after a failure whose cause may be gone (a full disk, descriptors): asks
  // RocksDB to resume (a new WAL, the memtables flushed): ok when it did; writes stay
  // refused until allow_writes(), which the engine calls once its in-memory state is
  // rebuilt from what RocksDB holds.
  // `retry_later` is set when RocksDB is busy recovering by itself or out of space: a
  // reopen could not do better then.
  StorageStatus resume(bool* retry_later = nullptr);
  void allow_writes();
  // After an error RocksDB will not resume from: whether the data directory takes a
  // small synced write now, and closing and opening the database
  // again. Reopen only while nothing else uses the database: get() and the writes wait
  // for it (a shared lock), iterators and views must not be alive (only the shard
  // threads make them, and the engine parks those first). When opening fails the
  // database is gone: on_lost's listener is called (serve exits for a restart).
  StorageStatus probe();
  StorageStatus reopen();
  void on_lost(std::function<void(const std::string& error)> listener) {
    on_lost_ = std::move(listener);
  }
  // Times the database stopped being writable, and became writable again.
  std::uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }
  std::uint64_t recoveries() const { return recoveries_.load(std::memory_order_relaxed); }
  // Writes and syncs that failed, every one (failures() counts only the first of a run).
  std::uint64_t failed_writes() const { return failed_writes_.load(std::memory_order_acquire); }
  std::string last_error() const;
  // Spare WAL files used, missed and written (store/spare_wal.hpp); zeros when off.
  SpareWalStats wal_spare_stats() const;
  // RocksDB's own figures (WAL syncs, stalls, compactions) for /metrics. Any thread.
  StorageFigures figures();

 private:
  Db() = default;
  // "" for success; otherwise records the first failure, stops writes, returns its text.
  StorageStatus checked(const rocksdb::Status& status);
  std::shared_ptr<rocksdb::Env> env_;  // when not RocksDB's default; outlives db_
  std::shared_ptr<rocksdb::FileSystem> spare_wal_fs_;  // inside env_, when spares are on
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Cf
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
  std::atomic<bool> writable_{true};  // cleared by the first failed write or sync
  // Writes hold it shared, a WAL sync (sync_wal, flush_wal) exclusively: RocksDB asserts
  // (Debian keeps its assertions) when it syncs a log whose writer saw a failed write,
  // and a write may fail at any moment. Group commit makes no separate WAL sync (its
  // writes are synced themselves), so this matters at shutdown and to callers of sync_wal.
  std::shared_mutex wal_gate_;
  mutable std::mutex error_mutex_;     // guards last_error_ (set once, on a failure)
  std::string last_error_;
  std::function<void(const std::string&)> on_unwritable_;
  std::function<void()> on_writable_;
  std::function<void(const std::string&)> on_lost_;
  std::string path_;
  int max_open_files_ = -1;
  // Shared by every use of db_ that another thread than a shard's can make; exclusive
  // while reopen() swaps the database.
  std::shared_mutex access_;
  StorageStatus open_families();  // opens db_ and handles_
  void close_families();
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> recoveries_{0};
  std::atomic<std::uint64_t> failed_writes_{0};
};

}  // namespace baton
