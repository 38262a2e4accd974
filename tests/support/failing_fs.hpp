#pragma once
// A RocksDB file system that fails on demand (tests of what a failing disk does): every
// append, every fsync, or holds table writes and fsyncs until released.
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace baton::test {

struct Faults {
  std::atomic<bool> appends{false};  // every append to a file (WAL, SST, MANIFEST) fails
  std::atomic<bool> disk_full{false};  // likewise, as a full disk (ENOSPC) fails them
  std::atomic<bool> syncs{false};    // every fsync fails
  std::atomic<bool> hold_tables{false};  // appends to table files (flushes) wait
  std::atomic<bool> hold_syncs{false};   // fsyncs wait (counted in syncs_held)
  std::atomic<int> syncs_held{0};
};

class FailingFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FailingFile(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<Faults> faults,
              bool table)
      : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)), table_(table) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->disk_full) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    if (!may_append()) return rocksdb::IOStatus::IOError("injected append failure");
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (faults_->disk_full) return rocksdb::IOStatus::NoSpace("injected: no space left on device");
    if (!may_append()) return rocksdb::IOStatus::IOError("injected append failure");
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (!may_sync()) return rocksdb::IOStatus::IOError("injected sync failure");
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (!may_sync()) return rocksdb::IOStatus::IOError("injected sync failure");
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  bool may_sync() const {
    if (faults_->hold_syncs) {
      ++faults_->syncs_held;
      while (faults_->hold_syncs) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      --faults_->syncs_held;
    }
    return !faults_->syncs;
  }
  bool may_append() const {
    while (table_ && faults_->hold_tables) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return !faults_->appends;
  }
  std::shared_ptr<Faults> faults_;
  bool table_;  // an SST file: written by flushes and compactions
};

class FailingFs final : public rocksdb::FileSystemWrapper {
 public:
  explicit FailingFs(std::shared_ptr<Faults> faults)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), faults_(std::move(faults)) {}
  const char* Name() const override { return "BatonFailingFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, &file, dbg);
    bool table = name.ends_with(".sst");
    if (status.ok()) *result = std::make_unique<FailingFile>(std::move(file), faults_, table);
    return status;
  }

 private:
  std::shared_ptr<Faults> faults_;
};

}  // namespace baton::test
