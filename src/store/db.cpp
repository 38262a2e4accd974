#include "store/db.hpp"

#include <shared_mutex>

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdint>
#include <stdexcept>
#include <thread>

#include "core/time.hpp"
#include "store/records.hpp"
#include "store/storage_log.hpp"

namespace baton {

namespace {

StorageStatus storage_status(const rocksdb::Status& status) {
  using Kind = StorageStatus::Kind;
  if (status.ok()) return {};
  Kind kind = status.IsNoSpace()                          ? Kind::no_space
              : status.IsIOError()                        ? Kind::io_error
              : status.IsCorruption()                     ? Kind::corruption
              : status.IsBusy() || status.IsTryAgain()    ? Kind::busy
                                                          : Kind::other;
  return StorageStatus::failure(kind, status.ToString());
}

}  // namespace

namespace {

constexpr const char* kCfNames[kCfCount] = {"tasks",    "active", "listing", "idempotency",
                                            "accounts", "keys",   "meta",    "logs"};

// Idempotency keys are kept ttl_seconds: compaction drops the expired ones, so they cost
// nothing to purge (lookups already ignore an expired record).
class ExpiredResponseFilter final : public rocksdb::CompactionFilter {
 public:
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    auto stored = records::decode_response(std::string_view(value.data(), value.size()));
    return stored && stored->expires_at <= wall_now_ms();
  }
  const char* Name() const override { return "baton.ExpiredResponseFilter"; }
};

const ExpiredResponseFilter kExpiredResponseFilter;

// Task, active and listing keys all end with a task ULID, and ULIDs grow with time, so a
// write lands next to the previous write with the same leading part (vnode, account,
// index). Giving RocksDB that leading part lets the memtable skip list start its search
// from the last insert position instead of its head.
class AllButTrailingUlid final : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "baton.AllButTrailingUlid"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), key.size() - kUlidBytes);
  }
  bool InDomain(const rocksdb::Slice& key) const override { return key.size() >= kUlidBytes; }

 private:
  static constexpr std::size_t kUlidBytes = 16;
};

rocksdb::ColumnFamilyOptions family_options(int index) {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions table;
  // Point reads of task records and key hashes dominate: a bloom filter skips SST files.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Active entries churn (written at create and claim, deleted when the task ends): a
  // smaller memtable flushes the tombstones sooner and keeps the recovery scan short.
  if (index == static_cast<int>(Cf::active)) options.write_buffer_size = 16 << 20;
  if (index == static_cast<int>(Cf::tasks) || index == static_cast<int>(Cf::active) ||
      index == static_cast<int>(Cf::listing)) {
    static const std::shared_ptr<const rocksdb::SliceTransform> kHint =
        std::make_shared<AllButTrailingUlid>();
    options.memtable_insert_with_hint_prefix_extractor = kHint;
  }
  if (index == static_cast<int>(Cf::idempotency)) {
    options.compaction_filter = &kExpiredResponseFilter;
    // Files are compacted at least daily even without new writes, so expired keys leave.
    options.periodic_compaction_seconds = 24 * 3600;
  }
  return options;
}

}  // namespace

const char* cf_name(Cf family) { return kCfNames[static_cast<int>(family)]; }

std::unique_ptr<Db> Db::open(const std::string& path, std::string* error,
                             std::shared_ptr<rocksdb::Env> env, std::uint64_t wal_spare_bytes,
                             int max_open_files, std::shared_ptr<rocksdb::FileSystem> files) {
  std::shared_ptr<rocksdb::FileSystem> spare_wal_fs;
  if (!env) {
    if (!files) files = rocksdb::FileSystem::Default();
    if (wal_spare_bytes > 0) {
      spare_wal_fs = make_spare_wal_file_system(files, path + "/wal-spares", wal_spare_bytes);
      files = spare_wal_fs;
    }
    if (files != rocksdb::FileSystem::Default()) env = rocksdb::NewCompositeEnv(files);
  }
  std::unique_ptr<Db> db(new Db());
  db->path_ = path;
  db->max_open_files_ = max_open_files;
  db->env_ = std::move(env);
  db->spare_wal_fs_ = std::move(spare_wal_fs);
  StorageStatus opened = db->open_families();
  if (!opened.ok()) {
    if (error) *error = opened.message;
    return nullptr;
  }
  return db;
}

StorageStatus Db::open_families() {
  rocksdb::DBOptions options;
  if (env_) options.env = env_.get();
  const int max_open_files = max_open_files_;
  const std::string& path = path_;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Background flush and compaction share the machine with the shards; two is enough.
  options.max_background_jobs = 2;
  // Bound recovery time after a crash: force a flush once the WAL holds this much.
  options.max_total_wal_size = 256 << 20;
  // Memtable insert hints (family_options) only work for writers that do not insert
  // concurrently. When several shards' commit threads write at once, RocksDB's group
  // leader now inserts their batches one after the other: measured cheaper here than
  // unhinted concurrent inserts (docs/benchmarks.md).
  options.allow_concurrent_memtable_write = false;
  // Table files held open at most: with RocksDB's default (all of them) the descriptors a
  // large database holds grow with it and could crowd out connections, or the reverse.
  options.max_open_files = max_open_files;
  // Into Baton's log, not a LOG file on the disk that may be full (store/storage_log.hpp).
  options.info_log = make_storage_logger();
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kCfCount; ++i) families.emplace_back(kCfNames[i], family_options(i));
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, path, families, &handles, &raw);
  if (!status.ok()) return storage_status(status);
  db_ = raw;
  // handles[0] is the default family, unused.
  handles_.assign(handles.begin() + 1, handles.end());
  default_handle_ = handles[0];
  return {};
}

void Db::close_families() {
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  if (default_handle_) db_->DestroyColumnFamilyHandle(default_handle_);
  handles_.clear();
  default_handle_ = nullptr;
  db_->Close();
  delete db_;
  db_ = nullptr;
}

Db::~Db() {
  if (!db_) return;
  flush_wal();
  close_families();
}

StorageStatus Db::probe() {
  rocksdb::Env* env = env_ ? env_.get() : rocksdb::Env::Default();
  const std::string name = path_ + "/BATON_PROBE";
  std::unique_ptr<rocksdb::WritableFile> file;
  rocksdb::Status status = env->NewWritableFile(name, &file, rocksdb::EnvOptions());
  if (status.ok()) status = file->Append(rocksdb::Slice("probe\n"));
  if (status.ok()) status = file->Sync();
  if (file) {
    rocksdb::Status closed = file->Close();
    if (status.ok()) status = closed;
  }
  env->DeleteFile(name);
  return storage_status(status);
}

StorageStatus Db::reopen() {
  std::unique_lock lock(access_);
  close_families();
  StorageStatus opened = open_families();
  if (!opened.ok()) {
    // No database is left to serve from: the listener ends the process for a restart.
    if (on_lost_) on_lost_(opened.message);
    std::abort();
  }
  return opened;
}

namespace {

std::optional<std::string> read_value(rocksdb::DB& db, const rocksdb::ReadOptions& options,
                                      rocksdb::ColumnFamilyHandle* family, std::string_view key) {
  std::string value;
  rocksdb::Status status = db.Get(options, family, rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (!status.ok()) throw StorageError(status.ToString());
  return value;
}

}  // namespace

std::optional<std::string> Db::get(Cf family, std::string_view key) {
  std::shared_lock lock(access_);
  return read_value(*db_, rocksdb::ReadOptions(), cf(family), key);
}

Db::View::View(Db& db) : db_(db), snapshot_(db.db_->GetSnapshot()) {}

Db::View::~View() { db_.db_->ReleaseSnapshot(snapshot_); }

std::optional<std::string> Db::View::get(Cf family, std::string_view key) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  return read_value(*db_.db_, options, db_.cf(family), key);
}

std::unique_ptr<rocksdb::Iterator> Db::View::iterate(Cf family) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  return std::unique_ptr<rocksdb::Iterator>(db_.db_->NewIterator(options, db_.cf(family)));
}

std::unique_ptr<rocksdb::Iterator> Db::View::iterate(Cf family, const rocksdb::Slice& upper_bound) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  options.iterate_upper_bound = &upper_bound;
  return std::unique_ptr<rocksdb::Iterator>(db_.db_->NewIterator(options, db_.cf(family)));
}

StorageStatus Db::write(rocksdb::WriteBatch& batch, bool sync) {
  rocksdb::WriteOptions options;
  options.sync = sync;
  std::shared_lock lock(access_);
  std::shared_lock gate(wal_gate_);
  return checked(db_->Write(options, &batch));
}

StorageStatus Db::write_built(const std::function<void(rocksdb::WriteBatch&)>& build, bool sync) {
  rocksdb::WriteOptions options;
  options.sync = sync;
  std::shared_lock lock(access_);
  rocksdb::WriteBatch batch;
  build(batch);
  std::shared_lock gate(wal_gate_);
  return checked(db_->Write(options, &batch));
}

std::optional<StorageStatus> Db::write_unless_stalled(rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions options;
  options.no_slowdown = true;
  std::shared_lock lock(access_);
  // A sync under way would hold this write for an fsync: leave it to the commit thread.
  std::shared_lock gate(wal_gate_, std::try_to_lock);
  if (!gate.owns_lock()) return std::nullopt;
  rocksdb::Status status = db_->Write(options, &batch);
  if (status.IsIncomplete()) return std::nullopt;
  return checked(status);
}

StorageStatus Db::checked(const rocksdb::Status& status) {
  if (status.ok()) return {};
  failed_writes_.fetch_add(1, std::memory_order_acq_rel);
  bool first = false;
  {
    std::lock_guard lock(error_mutex_);
    first = last_error_.empty();
    if (first) last_error_ = status.ToString();
    writable_.store(false);
  }
  if (first) failures_.fetch_add(1, std::memory_order_relaxed);
  if (first && on_unwritable_) on_unwritable_(status.ToString());
  return storage_status(status);
}

StorageStatus Db::resume(bool* retry_later) {
  rocksdb::Status status = db_->Resume();
  if (retry_later) *retry_later = status.IsBusy() || status.IsNoSpace();
  return storage_status(status);
}

void Db::allow_writes() {
  {
    std::lock_guard lock(error_mutex_);
    if (writable_.load()) return;
    last_error_.clear();
    writable_.store(true);
  }
  recoveries_.fetch_add(1, std::memory_order_relaxed);
  if (on_writable_) on_writable_();
}

StorageStatus Db::write_all(const std::vector<rocksdb::WriteBatch*>& batches, bool sync) {
  if (batches.size() == 1) return write(*batches.front(), sync);
  // A batch's bytes are a 12-byte header (sequence: fixed64, then count: fixed32, both
  // little-endian; the sequence is assigned by the write) and its records, which is also
  // its WAL record format: records of several batches under one header are one batch
  // (what RocksDB's internal WriteBatchInternal::Append does). This holds while Baton
  // uses none of per-key protection bytes, user-defined timestamps or two-phase commit.
  constexpr std::size_t kHeader = 12;
  std::size_t size = kHeader;
  std::uint32_t count = 0;
  for (const rocksdb::WriteBatch* batch : batches) {
    size += batch->GetDataSize() - kHeader;
    count += batch->Count();
  }
  std::string rep;
  rep.reserve(size);
  rep.append(kHeader, '\0');
  for (int i = 0; i < 4; ++i) rep[8 + i] = static_cast<char>(count >> (8 * i));
  for (const rocksdb::WriteBatch* batch : batches) {
    rep.append(batch->Data().data() + kHeader, batch->GetDataSize() - kHeader);
  }
  rocksdb::WriteBatch merged(std::move(rep));
  return write(merged, sync);
}

namespace {

std::uint64_t figure(const std::map<std::string, std::string>& map, const std::string& name) {
  auto it = map.find(name);
  if (it == map.end()) return 0;
  try {
    double value = std::stod(it->second);
    return value > 0 ? static_cast<std::uint64_t>(value) : 0;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

StorageFigures Db::figures() {
  StorageFigures out;
  std::shared_lock lock(access_);
  if (!db_) return out;
  std::map<std::string, std::string> stats;
  if (db_->GetMapProperty(rocksdb::DB::Properties::kDBStats, &stats)) {
    out.wal_syncs = figure(stats, "db.wal_syncs");
    out.wal_bytes = figure(stats, "db.wal_bytes_written");
    out.write_stall_micros = figure(stats, "db.user_write_stall_micros");
  }
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;  // RocksDB's "GB"
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    std::map<std::string, std::string> cf;
    if (!db_->GetMapProperty(handle, rocksdb::DB::Properties::kCFStats, &cf)) continue;
    out.compactions += figure(cf, "compaction.Sum.CompCount");
    auto gib = [&](const char* name) {
      auto it = cf.find(name);
      if (it == cf.end()) return std::uint64_t{0};
      try {
        return static_cast<std::uint64_t>(std::max(0.0, std::stod(it->second)) * kGiB);
      } catch (const std::exception&) {
        return std::uint64_t{0};
      }
    };
    out.compaction_read_bytes += gib("compaction.Sum.ReadGB");
    out.compaction_write_bytes += gib("compaction.Sum.WriteGB");
  }
  std::uint64_t value = 0;
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &value)) {
    out.compactions_running = value;
  }
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kEstimatePendingCompactionBytes, &value)) {
    out.compaction_pending_bytes = value;
  }
  if (db_->GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &value)) {
    out.delayed_write_rate = value;
  }
  if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &value)) {
    out.write_stopped = value != 0;
  }
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &value)) {
    out.memtable_bytes = value;
  }
  if (db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kLiveSstFilesSize, &value)) {
    out.live_data_bytes = value;
  }
  return out;
}

SpareWalStats Db::wal_spare_stats() const {
  return spare_wal_fs_ ? spare_wal_stats(*spare_wal_fs_) : SpareWalStats{};
}

std::string Db::last_error() const {
  std::lock_guard lock(error_mutex_);
  return last_error_;
}

void Db::flush_wal() {
  // After a failed write the WAL's writer holds the error, and syncing that writer again
  // fails an assertion in RocksDB (`sync_without_flush_called_`), which Debian's build
  // keeps: the process aborts. Nothing more can be made durable then anyway.
  std::shared_lock lock(access_);
  std::unique_lock gate(wal_gate_);
  if (writable()) db_->FlushWAL(true);
}

StorageStatus Db::sync_wal() {
  // As in flush_wal, a sync must not start once a write has failed, and a write must not
  // fail while the sync is on its way to RocksDB's check of the log writer: so no write
  // runs during the sync (wal_gate_). Writes queued meanwhile go into the next group, so
  // group commit loses nothing: it was bound by the fsyncs already.
  std::shared_lock lock(access_);
  std::unique_lock gate(wal_gate_);
  if (!writable()) {
    std::string error = last_error();
    return StorageStatus::failure(StorageStatus::Kind::not_writable,
                                  error.empty() ? "storage is not writable" : error);
  }
  return checked(db_->SyncWAL());
}

SnapshotOutcome Db::checkpoint(const std::string& dir) {
  SnapshotOutcome outcome;
  std::shared_lock lock(access_);
  if (!writable()) {
    outcome.failure = SnapshotFailure::storage_unwritable;
    outcome.reason = "storage is not writable (" + last_error() + ")";
    return outcome;
  }
  rocksdb::Checkpoint* made = nullptr;
  rocksdb::Status status = rocksdb::Checkpoint::Create(db_, &made);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(made);
  // log_size_for_flush 0: flush whatever the WAL's size, so that what the snapshot holds
  // does not depend on how much a live WAL file happened to carry.
  if (status.ok()) status = checkpoint->CreateCheckpoint(dir, 0, &outcome.sequence);
  if (!status.ok()) {
    outcome.failure = SnapshotFailure::failed;
    outcome.reason = "RocksDB checkpoint: " + status.ToString();
  }
  return outcome;
}

std::unique_ptr<rocksdb::Iterator> Db::iterate(Cf family) {
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(rocksdb::ReadOptions(), cf(family)));
}

}  // namespace baton
