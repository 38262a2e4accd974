#include "store/spare_wal.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <rocksdb/file_system.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

namespace baton {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunkBytes = 1 << 20;
constexpr const char* kPartialSuffix = ".partial";
constexpr const char* kReadySuffix = ".ready";  // whole and fsynced
constexpr std::uint64_t kFreeSparesAfter = 4;

bool is_wal(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
}

bool write_all_at(int fd, const char* data, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    ssize_t written = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    data += written;
    size -= static_cast<std::size_t>(written);
    offset += static_cast<std::uint64_t>(written);
  }
  return true;
}

class SpareWalFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  SpareWalFileSystem(std::shared_ptr<rocksdb::FileSystem> target, std::string dir,
                     std::uint64_t bytes)
      : FileSystemWrapper(std::move(target)), dir_(std::move(dir)),
        wal_dir_(fs::path(dir_).parent_path().lexically_normal()), bytes_(bytes) {
    // Another process holding the directory (a second server started on the same data by
    // mistake, which RocksDB's own lock then refuses) keeps its spares: this one makes none.
    if (!lock_directory()) return;
    remove_leftovers();
    // RocksDB opens its first WAL file right away: let that one be a spare too.
    ready_ = write_spare();
    if (!ready_.empty()) stats_written_.fetch_add(1, std::memory_order_relaxed);
    thread_ = std::thread([this] { run(); });
  }

  ~SpareWalFileSystem() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
      // At SCHED_IDLE on cores that other processes keep busy, the thread could wait long
      // for the CPU it needs to see the stop: shutdown must not.
      sched_param normal{};
      pthread_setschedparam(thread_.native_handle(), SCHED_OTHER, &normal);
      thread_.join();
    }
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  const char* Name() const override { return "baton.SpareWalFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name,
                                    const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override {
    // Only the database's own WAL files: a checkpoint copies the live WAL through this file
    // system too, into another directory, where a spare would be renamed away from us.
    if (!is_wal(name) || fs::path(name).parent_path().lexically_normal() != wal_dir_) {
      return target()->NewWritableFile(name, options, result, debug);
    }
    std::string spare;
    {
      std::lock_guard lock(mutex_);
      spare.swap(ready_);
    }
    if (spare.empty()) {
      stats_missed_.fetch_add(1, std::memory_order_relaxed);
      return target()->NewWritableFile(name, options, result, debug);
    }
    wake_.notify_one();  // the spare thread: make the next one
    rocksdb::IOStatus status = target()->ReuseWritableFile(name, spare, options, result, debug);
    if (status.ok()) {
      stats_used_.fetch_add(1, std::memory_order_relaxed);
      return status;
    }
    ::unlink(spare.c_str());
    stats_missed_.fetch_add(1, std::memory_order_relaxed);
    return target()->NewWritableFile(name, options, result, debug);
  }

  SpareWalStats stats() const {
    return {stats_used_.load(std::memory_order_relaxed),
            stats_missed_.load(std::memory_order_relaxed),
            stats_written_.load(std::memory_order_relaxed)};
  }

 private:
  bool lock_directory() {
    // The data directory and this one inside it, as RocksDB creates its directory: not
    // the parents, so a data directory whose parent is missing still fails to open.
    std::error_code error;
    fs::create_directory(fs::path(dir_).parent_path(), error);
    fs::create_directory(dir_, error);
    lock_fd_ = ::open((dir_ + "/LOCK").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    return lock_fd_ >= 0 && ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;
  }

  // Spares left by an earlier run are not trusted: a power loss between RocksDB's first
  // fsync of a spare it took and the fsync of its directory can put a spare holding WAL
  // records back under its old name. Fresh ones cost a moment at start.
  void remove_leftovers() {
    std::error_code error;
    std::vector<fs::path> leftovers;
    for (const auto& entry : fs::directory_iterator(dir_, error)) {
      if (entry.path().filename() != "LOCK") leftovers.push_back(entry.path());
    }
    for (const fs::path& path : leftovers) fs::remove(path, error);
  }

  // A spare is made only while kFreeSparesAfter times its size stays free after it: it
  // must never be what fills the disk under RocksDB.
  bool room_for_spare() const {
    struct statvfs stats {};
    if (::statvfs(dir_.c_str(), &stats) != 0) return false;
    std::uint64_t available = static_cast<std::uint64_t>(stats.f_bavail) * stats.f_frsize;
    return bytes_ <= available / (kFreeSparesAfter + 1);
  }

  void run() {
    pthread_setname_np(pthread_self(), "baton-wal-spare");
    // Background work: it runs only on time no other thread wants (SCHED_IDLE), so it
    // never takes a core from a shard. Under a load that leaves no idle time, spares run
    // late and WAL files are created as usual meanwhile (wal_spares_missed).
    sched_param idle{};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (!ready_.empty()) {
        wake_.wait(lock);
        continue;
      }
      lock.unlock();
      std::string spare = write_spare();
      lock.lock();
      if (!spare.empty()) {
        ready_ = std::move(spare);
        stats_written_.fetch_add(1, std::memory_order_relaxed);
      } else if (!stopping_) {
        wake_.wait_for(lock, std::chrono::seconds(10));  // a nearly full disk: try later
      }
    }
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // The path of a new spare of bytes_ zeros, fsynced; "" if it could not be made.
  std::string write_spare() {
    std::string base = dir_ + "/spare-" + std::to_string(::getpid()) + "-" +
                       std::to_string(serial_++);
    std::string partial = base + kPartialSuffix;
    std::string ready = base + kReadySuffix;
    if (!room_for_spare()) return {};
    int fd = ::open(partial.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return {};
    static const std::vector<char> zeros(kChunkBytes, '\0');
    bool ok = true;
    for (std::uint64_t offset = 0; ok && offset < bytes_; offset += kChunkBytes) {
      std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, bytes_ - offset));
      ok = !stopping() && write_all_at(fd, zeros.data(), size, offset);
      // Each piece goes to the disk before the next is written, without a cache flush:
      // the spare never queues more than a piece in front of the WAL's own writes, and
      // never makes the disk flush its cache, which every WAL fsync would then wait for.
      // Only a courtesy to the disk (a file system may not support it): the fdatasync
      // below is what makes the spare whole.
      if (ok) {
        (void)::sync_file_range(fd, static_cast<off_t>(offset), static_cast<off_t>(size),
                                SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                    SYNC_FILE_RANGE_WAIT_AFTER);
      }
    }
    ok = ok && ::fdatasync(fd) == 0;  // the blocks' allocation and the size, once
    ok = ::close(fd) == 0 && ok;
    if (ok) ok = ::rename(partial.c_str(), ready.c_str()) == 0;
    if (!ok) {
      ::unlink(partial.c_str());
      return {};
    }
    return ready;
  }

  const std::string dir_;
  const fs::path wal_dir_;  // the data directory, dir_'s parent: where RocksDB's WAL is
  const std::uint64_t bytes_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string ready_;  // path of the spare ready for the next WAL file, or ""
  unsigned serial_ = 0;
  std::atomic<std::uint64_t> stats_used_{0};
  std::atomic<std::uint64_t> stats_missed_{0};
  std::atomic<std::uint64_t> stats_written_{0};
  int lock_fd_ = -1;  // flock'ed while this file system makes spares in dir_
  std::thread thread_;
};

}  // namespace

std::shared_ptr<rocksdb::FileSystem> make_spare_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> target, std::string spare_dir,
    std::uint64_t spare_bytes) {
  return std::make_shared<SpareWalFileSystem>(std::move(target), std::move(spare_dir),
                                              spare_bytes);
}

SpareWalStats spare_wal_stats(const rocksdb::FileSystem& fs) {
  if (const auto* spare = dynamic_cast<const SpareWalFileSystem*>(&fs)) return spare->stats();
  return {};
}

}  // namespace baton
