#include "store/backup.hpp"

#include <fcntl.h>
#include <rocksdb/iterator.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "store/db.hpp"
#include "store/format.hpp"
#include "store/fsync.hpp"

namespace baton {

namespace {

namespace fs = std::filesystem;

constexpr const char* kPartialSuffix = ".baton-partial";

// `text` as the directory entry it names: "/backups/b1/" is b1, not an entry inside it.
// Empty when it names none ("", "/").
fs::path entry_path(const std::string& text) {
  fs::path path = fs::path(text).lexically_normal();
  if (!path.has_filename() && path.has_relative_path()) path = path.parent_path();
  return path.has_filename() ? fs::absolute(path) : fs::path();
}

fs::path partial_path(const fs::path& entry) {
  return entry.parent_path() / (entry.filename().string() + kPartialSuffix);
}

std::string errno_text() { return std::strerror(errno); }

// Why `target` cannot become a directory of ours, or "" when it can: it is missing with
// its parent present, or an empty directory (rename(2) replaces an empty directory), and
// nothing is left at its partial name.
std::string unusable_target(const fs::path& target) {
  if (target.empty()) return "the path names no directory";
  std::error_code error;
  const std::string shown = target.string();
  fs::file_status status = fs::symlink_status(target, error);
  if (status.type() == fs::file_type::none) {
    return "cannot look at " + shown + ": " + error.message();
  }
  if (fs::exists(status)) {
    // rename(2) would replace the link itself, not fill the directory it points to.
    if (fs::is_symlink(status)) return shown + " is a symbolic link: name the directory itself";
    if (!fs::is_directory(status)) return shown + " exists and is not a directory";
    bool empty = fs::is_empty(target, error);
    if (error) return "cannot read " + shown + ": " + error.message();
    if (!empty) return shown + " is not empty: name a new or empty directory";
  } else if (!fs::is_directory(target.parent_path(), error)) {
    return "the parent directory " + target.parent_path().string() + " does not exist";
  }
  fs::path partial = partial_path(target);
  if (fs::exists(fs::symlink_status(partial, error))) {
    return partial.string() + " exists, left by an interrupted run: remove it first";
  }
  return "";
}

// Whether `inner` is `outer` or lies under it, symbolic links resolved.
bool is_within(const fs::path& inner, const fs::path& outer) {
  std::error_code inner_error, outer_error;
  fs::path a = fs::weakly_canonical(inner, inner_error);
  fs::path b = fs::weakly_canonical(outer, outer_error);
  if (inner_error || outer_error) return false;
  return std::mismatch(b.begin(), b.end(), a.begin(), a.end()).first == b.end();
}

// Whether another process holds RocksDB's lock in `dir`: a server is running on it.
// RocksDB locks its LOCK file with fcntl, which F_GETLK reports to other processes.
bool locked_by_a_process(const fs::path& dir) {
  int fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  bool held = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return held;
}

// RocksDB's log is written in blocks of this size (log_format.h, as LevelDB's).
constexpr off_t kWalBlockBytes = 32 * 1024;

bool is_wal(const fs::path& path) { return path.extension() == ".log"; }

// Just past the last non-zero byte among the first `size` of `fd` (0 when all are
// zero), read backwards a chunk at a time; -1 when a read fails.
off_t end_of_data(int fd, off_t size) {
  std::vector<char> chunk(1 << 20);
  for (off_t end = size; end > 0;) {
    off_t start = std::max<off_t>(0, end - static_cast<off_t>(chunk.size()));
    std::size_t length = static_cast<std::size_t>(end - start);
    if (::pread(fd, chunk.data(), length, start) != static_cast<ssize_t>(length)) return -1;
    for (std::size_t i = length; i > 0; --i) {
      if (chunk[i - 1] != 0) return start + static_cast<off_t>(i);
    }
    end = start;
  }
  return 0;
}

// A WAL copied while it was a spare file (store/spare_wal.hpp) is the spare's size: its
// records, then zeros up to megabytes. Every block holding a record, or a piece of one,
// starts with a header whose type byte is not zero, so the records end within the last
// block that holds a non-zero byte; the zeros after that block are what the log reader
// takes for preallocated space, here or not. They are cut off. Files linked to the live
// WAL (same file system) are left alone: they take no space of their own, and the live
// file must not change under RocksDB.
std::string trim_zero_tail(const fs::path& wal) {
  int fd = ::open(wal.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return "cannot open " + wal.string() + ": " + errno_text();
  struct stat stats {};
  std::string failed;
  if (::fstat(fd, &stats) != 0) {
    failed = "cannot stat " + wal.string() + ": " + errno_text();
  } else if (stats.st_nlink == 1) {
    off_t end = end_of_data(fd, stats.st_size);
    off_t blocks = (end + kWalBlockBytes - 1) / kWalBlockBytes;  // the last one partly data
    off_t keep = std::min(stats.st_size, blocks * kWalBlockBytes);
    if (end < 0) {
      failed = "cannot read " + wal.string() + ": " + errno_text();
    } else if (keep < stats.st_size && ::ftruncate(fd, keep) != 0) {
      failed = "cannot trim " + wal.string() + ": " + errno_text();
    }
  }
  ::close(fd);
  return failed;
}

struct Totals {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

// Fsyncs every file in `dir`, then `dir` itself, and counts them; "" or the failure.
std::string sync_directory(const fs::path& dir, Totals& totals) {
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (!entry.is_regular_file(error)) continue;
    if (!fsync_path(entry.path().string(), PathKind::file)) {
      return "cannot fsync " + entry.path().string() + ": " + errno_text();
    }
    ++totals.files;
    totals.bytes += entry.file_size(error);
  }
  if (error) return "cannot read " + dir.string() + ": " + error.message();
  if (!fsync_path(dir.string(), PathKind::directory)) {
    return "cannot fsync " + dir.string() + ": " + errno_text();
  }
  return "";
}

// Renames the whole `partial` to `entry` and makes the rename durable; "" or the failure.
std::string move_into_place(const fs::path& partial, const fs::path& entry) {
  if (::rename(partial.c_str(), entry.c_str()) != 0) {
    return "cannot rename " + partial.string() + " to " + entry.string() + ": " + errno_text();
  }
  if (!fsync_path(entry.parent_path().string(), PathKind::directory)) {
    return "cannot fsync " + entry.parent_path().string() + ": " + errno_text();
  }
  return "";
}

// Why `from` is not something to restore, or "": a snapshot, or the data directory of a
// server that is not running, in a format this binary reads.
std::string not_a_snapshot(const fs::path& from) {
  std::error_code error;
  const std::string shown = from.string();
  if (!fs::is_directory(from, error)) return shown + " is not a directory";
  if (!fs::exists(from / kDataFormatFile, error)) {
    return shown + " has no " + kDataFormatFile + ": not a snapshot made by baton backup";
  }
  if (!fs::exists(from / "CURRENT", error)) return shown + " holds no RocksDB database";
  if (locked_by_a_process(from)) {
    return "a running process holds " + shown + " (a baton serve): take a snapshot of a live "
           "server with baton backup, and restore that";
  }
  return check_data_directory(shown);
}

std::int64_t ms_since(std::chrono::steady_clock::time_point began) {
  auto took = std::chrono::steady_clock::now() - began;
  return std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
}

}  // namespace

SnapshotOutcome take_snapshot(Db& db, const std::string& target_text) {
  auto began = std::chrono::steady_clock::now();
  const fs::path target = entry_path(target_text);
  auto refused = [](SnapshotFailure failure, std::string reason) {
    SnapshotOutcome outcome;
    outcome.failure = failure;
    outcome.reason = std::move(reason);
    return outcome;
  };
  if (std::string problem = unusable_target(target); !problem.empty()) {
    return refused(SnapshotFailure::bad_target, problem);
  }
  // Inside the live directory a snapshot would sit among RocksDB's own files, and go
  // with that directory when it is lost.
  if (is_within(target, db.path())) {
    return refused(SnapshotFailure::bad_target,
                   target.string() + " is inside the data directory " + db.path());
  }
  const fs::path partial = partial_path(target);
  SnapshotOutcome outcome = db.checkpoint(partial.string());
  std::error_code ignored;
  if (!outcome.ok()) {
    fs::remove_all(partial, ignored);  // checked absent above: only what the checkpoint made
    return outcome;
  }
  std::string failed;
  std::error_code listed;
  for (const fs::directory_entry& entry : fs::directory_iterator(partial, listed)) {
    if (failed.empty() && is_wal(entry.path())) failed = trim_zero_tail(entry.path());
  }
  if (listed) failed = "cannot read " + partial.string() + ": " + listed.message();
  // The format file before the rename, so that no snapshot is ever without it.
  if (failed.empty()) failed = record_data_format(partial.string());
  Totals totals;
  if (failed.empty()) failed = sync_directory(partial, totals);
  if (failed.empty()) failed = move_into_place(partial, target);
  if (!failed.empty()) {
    fs::remove_all(partial, ignored);
    return refused(SnapshotFailure::failed, failed);
  }
  outcome.path = target.string();
  outcome.files = totals.files;
  outcome.bytes = totals.bytes;
  outcome.took_ms = ms_since(began);
  return outcome;
}

RestoreOutcome restore_snapshot(const std::string& from_text, const std::string& data_text) {
  RestoreOutcome outcome;
  auto refused = [&outcome](RestoreFailure failure, std::string reason) {
    outcome.failure = failure;
    outcome.reason = std::move(reason);
    return outcome;
  };
  const fs::path from = entry_path(from_text), data = entry_path(data_text);
  if (from.empty()) return refused(RestoreFailure::bad_source, "the source names no directory");
  if (std::string problem = not_a_snapshot(from); !problem.empty()) {
    return refused(RestoreFailure::bad_source, problem);
  }
  if (std::string problem = unusable_target(data); !problem.empty()) {
    return refused(RestoreFailure::bad_target, problem);
  }

  const fs::path partial = partial_path(data);
  std::error_code error;
  if (!fs::create_directory(partial, error)) {
    return refused(RestoreFailure::failed,
                   "cannot create " + partial.string() + ": " + error.message());
  }
  auto failed = [&](std::string reason) {
    std::error_code ignored;
    fs::remove_all(partial, ignored);  // made by this run (checked absent above)
    return refused(RestoreFailure::failed, std::move(reason));
  };
  // Copies, not hard links: a restored server compacts and deletes its files, and the
  // snapshot must stay whole for the next restore. Subdirectories (a stopped server's
  // wal-spares/) hold no data, and LOCK is made by whoever opens the database.
  for (const fs::directory_entry& entry : fs::directory_iterator(from, error)) {
    if (!entry.is_regular_file(error) || entry.path().filename() == "LOCK") continue;
    fs::copy_file(entry.path(), partial / entry.path().filename(), error);
    if (error) return failed("cannot copy " + entry.path().string() + ": " + error.message());
  }
  if (error) return failed("cannot read " + from.string() + ": " + error.message());
  Totals totals;
  if (std::string problem = sync_directory(partial, totals); !problem.empty()) {
    return failed(problem);
  }
  outcome.files = totals.files;
  outcome.bytes = totals.bytes;

  // Opened once before it takes its name: RocksDB replays the WAL and checks every file
  // the manifest names, so a damaged copy is found here and not by the next serve.
  std::string unopened;
  {
    std::unique_ptr<Db> db = Db::open(partial.string(), &unopened);
    if (db) {
      std::unique_ptr<rocksdb::Iterator> tasks = db->iterate(Cf::tasks);
      for (tasks->SeekToFirst(); tasks->Valid(); tasks->Next()) ++outcome.tasks;
      if (!tasks->status().ok()) unopened = tasks->status().ToString();
    }
  }  // closed before it is renamed, or removed
  if (!unopened.empty()) return failed("the copy does not open: " + unopened);
  if (std::string problem = move_into_place(partial, data); !problem.empty()) {
    return failed(problem);
  }
  return outcome;
}

}  // namespace baton
