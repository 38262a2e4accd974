// The embedded backend: RocksDB in storage.path, LocalEngine's shards over it.
#include <chrono>
#include <cstdlib>

#include "cli/backend.hpp"
#include "cli/log.hpp"
#include "engine/local_account_store.hpp"
#include "engine/local_engine.hpp"
#include "store/db.hpp"
#include "store/format.hpp"
#include "store/storage_log.hpp"
#include "store/sync_journal.hpp"

namespace baton {

namespace {

class RocksDbBackend final : public Backend {
 public:
  RocksDbBackend(std::unique_ptr<Db> db, const EngineOptions& options, int shards)
      : db_(std::move(db)), engine_(*db_, options, shards), accounts_(*db_) {}

  LocalEngine& local() { return engine_; }
  TaskEngine& engine() override { return engine_; }
  AccountStore& accounts() override { return accounts_; }
  boost::asio::io_context& context(int shard) override { return engine_.context(shard); }
  void start() override { engine_.start(); }
  void begin_shutdown() override { engine_.begin_shutdown(); }
  void stop() override { engine_.stop(); }
  void flush() override { db_->flush_wal(); }

 private:
  std::unique_ptr<Db> db_;
  LocalEngine engine_;
  LocalAccountStore accounts_;
};

}  // namespace

std::unique_ptr<Backend> open_rocksdb_backend(const Config& config, int shards) {
  set_storage_log([](bool error, std::string_view line) {
    log(error ? LogLevel::error : LogLevel::warn, "rocksdb", line);
  });
  auto started = std::chrono::steady_clock::now();
  std::string error;
  // Spare WAL files only pay off where the WAL is fsynced.
  std::uint64_t wal_spare_bytes =
      config.storage.sync == SyncMode::none ? 0 : static_cast<std::uint64_t>(config.storage.wal_spare_bytes);
  // Before anything is written there: a refused directory stays as it was.
  if (std::string problem = check_data_directory(config.storage.path); !problem.empty()) {
    log(LogLevel::error, "cannot serve this data directory", problem);
    return nullptr;
  }
  // The power-loss tests' journal of what each file made durable (store/sync_journal.hpp).
  std::shared_ptr<rocksdb::FileSystem> files;
  if (const char* journal = std::getenv("BATON_TEST_SYNC_JOURNAL"); journal && *journal) {
    try {
      files = make_sync_journal_file_system(nullptr, journal);
    } catch (const std::exception& e) {
      log(LogLevel::error, "cannot open storage", e.what());
      return nullptr;
    }
    log(LogLevel::warn, "BATON_TEST_SYNC_JOURNAL is set: every sync is journaled, for tests",
        journal);
  }
  auto db = Db::open(config.storage.path, &error, nullptr, wal_spare_bytes,
                     config.storage.max_open_files, std::move(files));
  if (!db) {
    log(LogLevel::error, "cannot open storage", error);
    return nullptr;
  }
  db->on_unwritable([](const std::string& failure) {
    log(LogLevel::error,
        "storage failed: writes answer 503 and /health is degraded until it recovers", failure);
  });
  db->on_writable([] { log(LogLevel::info, "storage recovered: writes are accepted again"); });
  db->on_lost([](const std::string& failure) {
    // Closed for a reopen that failed: nothing can be served. What was acknowledged is
    // in RocksDB's files; a restart (systemd's Restart=on-failure) opens them again.
    log(LogLevel::error, "storage could not be opened again: exiting for a restart", failure);
    std::_Exit(1);
  });
  if (std::string problem = record_data_format(config.storage.path); !problem.empty()) {
    log(LogLevel::error, "cannot open storage", problem);
    return nullptr;
  }
  if (wal_spare_bytes > 0 && db->wal_spare_stats().spares_used == 0) {
    log(LogLevel::warn, "no spare WAL file could be made: WAL fsyncs stay slower",
        "less than five spares' size free on the disk, or " + config.storage.path +
            "/wal-spares not writable; /health counts storage.wal_spares_missed");
  }
  EngineOptions options;
  options.sync = config.storage.sync;
  options.group_commit_max_batch = config.storage.group_commit_max_batch;
  options.retry_backoff_base_seconds = config.tasks.retry_backoff_base_seconds;
  options.retry_backoff_max_seconds = config.tasks.retry_backoff_max_seconds;
  options.task_history_kept = config.tasks.history_kept;
  options.pin_shards = config.server.pin_shards;
  options.purge_interval_seconds = config.tasks.purge_interval_seconds;
  options.purge_batch = config.tasks.purge_batch;
  auto backend = std::make_unique<RocksDbBackend>(std::move(db), options, shards);
  backend->local().recover();
  auto recovered_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
  log(LogLevel::info, "storage opened and recovered",
      config.storage.path + " in " + std::to_string(recovered_ms) + " ms");
  return backend;
}

}  // namespace baton
