#include "store/sync_journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/file_system.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace baton {

namespace {

// The journal's lines, one event each, fields separated by tabs (paths hold no tab or
// newline: RocksDB names its files, Baton its directory):
//   open  BASE SYNCED PATH   opened for writing: BASE bytes there before (a reused file's),
//                            SYNCED of them durable already (a reopened file's)
//   sync  LENGTH PATH        a Sync or Fsync returned: the first LENGTH bytes are durable
//   trunc LENGTH PATH        truncated to LENGTH
//   rename FROM TO
//   delete PATH
// Each is one write(2) to a file opened with O_APPEND, so lines from several threads do
// not interleave, and a kill -9 keeps every line whose write returned.
class Journal {
 public:
  explicit Journal(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {
    if (fd_ < 0) {
      throw std::runtime_error("cannot open the sync journal " + path + ": " +
                               std::strerror(errno));
    }
  }
  ~Journal() { ::close(fd_); }
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  void note(const std::string& line) const {
    std::string whole = line + "\n";
    // A failed note would make the image keep less than was durable: a test then reports
    // a loss that did not happen, which is the safe way to be wrong.
    [[maybe_unused]] ssize_t written = ::write(fd_, whole.data(), whole.size());
  }

 private:
  int fd_;
};

std::string fields(std::initializer_list<std::string> parts) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out.push_back('\t');
    out += part;
  }
  return out;
}

// A file open for writing: tracks how far it is written, and journals each sync of it.
class JournaledFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  JournaledFile(std::unique_ptr<rocksdb::FSWritableFile> file,
                std::shared_ptr<const Journal> journal, std::string path, std::uint64_t position)
      : FSWritableFileOwnerWrapper(std::move(file)), journal_(std::move(journal)),
        path_(std::move(path)), position_(position), end_(position) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) override {
    return wrote(target()->Append(data, options, debug), position_, data.size());
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* debug) override {
    return wrote(target()->Append(data, options, info, debug), position_, data.size());
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     rocksdb::IODebugContext* debug) override {
    return wrote(target()->PositionedAppend(data, offset, options, debug), offset, data.size());
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, std::uint64_t offset,
                                     const rocksdb::IOOptions& options,
                                     const rocksdb::DataVerificationInfo& info,
                                     rocksdb::IODebugContext* debug) override {
    return wrote(target()->PositionedAppend(data, offset, options, info, debug), offset,
                 data.size());
  }
  rocksdb::IOStatus Truncate(std::uint64_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->Truncate(size, options, debug);
    if (status.ok()) {
      position_ = end_ = size;
      journal_->note(fields({"trunc", std::to_string(size), path_}));
    }
    return status;
  }
  // The length is taken before the sync starts: what is appended while it runs is not
  // covered by it.
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* debug) override {
    std::uint64_t length = end_;
    return synced(target()->Sync(options, debug), length);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* debug) override {
    std::uint64_t length = end_;
    return synced(target()->Fsync(options, debug), length);
  }
  // RangeSync only starts write-back (it does not wait for it): nothing becomes durable.

 private:
  rocksdb::IOStatus wrote(rocksdb::IOStatus status, std::uint64_t at, std::size_t size) {
    if (status.ok()) {
      position_ = at + size;
      end_ = std::max(end_, position_);
    }
    return status;
  }
  rocksdb::IOStatus synced(rocksdb::IOStatus status, std::uint64_t length) {
    if (status.ok()) journal_->note(fields({"sync", std::to_string(length), path_}));
    return status;
  }

  std::shared_ptr<const Journal> journal_;
  std::string path_;
  std::uint64_t position_;
  std::uint64_t end_;
};

class SyncJournalFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  SyncJournalFileSystem(std::shared_ptr<rocksdb::FileSystem> target, const std::string& path)
      : FileSystemWrapper(std::move(target)), journal_(std::make_shared<Journal>(path)) {}

  const char* Name() const override { return "baton.SyncJournalFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, debug);
    return opened(status, name, 0, 0, result);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name,
                                       const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* debug) override {
    std::uint64_t size = size_of(name);  // appended to: what is there stays as it is
    rocksdb::IOStatus status = target()->ReopenWritableFile(name, options, result, debug);
    return opened(status, name, size, size, result);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* debug) override {
    std::uint64_t size = size_of(old_name);  // written over from offset 0
    rocksdb::IOStatus status = target()->ReuseWritableFile(name, old_name, options, result, debug);
    return opened(status, name, size, 0, result);
  }
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->RenameFile(from, to, options, debug);
    if (status.ok()) journal_->note(fields({"rename", from, to}));
    return status;
  }
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->DeleteFile(name, options, debug);
    if (status.ok()) journal_->note(fields({"delete", name}));
    return status;
  }
  rocksdb::IOStatus Truncate(const std::string& name, std::size_t size,
                             const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->Truncate(name, size, options, debug);
    if (status.ok()) journal_->note(fields({"trunc", std::to_string(size), name}));
    return status;
  }

 private:
  std::uint64_t size_of(const std::string& name) {
    std::uint64_t size = 0;
    if (!target()->GetFileSize(name, rocksdb::IOOptions(), &size, nullptr).ok()) return 0;
    return size;
  }
  rocksdb::IOStatus opened(rocksdb::IOStatus status, const std::string& name,
                           std::uint64_t base, std::uint64_t synced,
                           std::unique_ptr<rocksdb::FSWritableFile>* result) {
    if (!status.ok()) return status;
    journal_->note(fields({"open", std::to_string(base), std::to_string(synced), name}));
    *result = std::make_unique<JournaledFile>(std::move(*result), journal_, name, synced);
    return status;
  }

  std::shared_ptr<const Journal> journal_;
};

// What a file had made durable: its first `synced` bytes as written, then the `base`
// bytes it held before it was reused (zeros) up to that length.
struct Durable {
  std::uint64_t base = 0;
  std::uint64_t synced = 0;
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> parts;
  std::stringstream in(line);
  std::string part;
  while (std::getline(in, part, '\t')) parts.push_back(part);
  return parts;
}

std::uint64_t number(const std::string& text, const std::string& line) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty()) {
    throw std::runtime_error("sync journal: not a length in \"" + line + "\"");
  }
  return value;
}

std::map<std::string, Durable> read_journal(const std::string& journal_path) {
  std::ifstream in(journal_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the sync journal " + journal_path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::map<std::string, Durable> files;
  std::size_t at = 0;
  while (true) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) break;  // a line cut by the kill: its event never returned
    std::string line = text.substr(at, end - at);
    at = end + 1;
    std::vector<std::string> f = split_tabs(line);
    if (f.size() == 4 && f[0] == "open") {
      Durable opened{number(f[1], line), number(f[2], line)};
      // Reopened to append (all of it there counts as synced) while this journal already
      // knows the file: the reopen made nothing durable, so what was known stands.
      bool reopened = opened.synced > 0;
      if (!reopened || !files.contains(f[3])) files[f[3]] = opened;
    } else if (f.size() == 3 && f[0] == "sync") {
      std::uint64_t length = number(f[1], line);
      if (auto it = files.find(f[2]); it != files.end()) it->second.synced = length;
    } else if (f.size() == 3 && f[0] == "trunc") {
      std::uint64_t length = number(f[1], line);
      if (auto it = files.find(f[2]); it != files.end()) {
        it->second.base = std::min(it->second.base, length);
        it->second.synced = std::min(it->second.synced, length);
      }
    } else if (f.size() == 3 && f[0] == "rename") {
      auto it = files.find(f[1]);
      files.erase(f[2]);  // replaced
      if (it != files.end()) {
        Durable moved = it->second;
        files.erase(it);
        files[f[2]] = moved;
      }
    } else if (f.size() == 2 && f[0] == "delete") {
      files.erase(f[1]);
    } else {
      throw std::runtime_error("sync journal: unknown line \"" + line + "\"");
    }
  }
  return files;
}

void fail_on(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::shared_ptr<rocksdb::FileSystem> make_sync_journal_file_system(
    std::shared_ptr<rocksdb::FileSystem> target, const std::string& journal_path) {
  if (!target) target = rocksdb::FileSystem::Default();
  return std::make_shared<SyncJournalFileSystem>(std::move(target), journal_path);
}

PowerLossFigures apply_power_loss(const std::string& journal_path) {
  PowerLossFigures figures;
  for (const auto& [path, durable] : read_journal(journal_path)) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      ++figures.missing;  // deleted outside the journal's view, or a relative path
      continue;
    }
    ++figures.files;
    const auto size = static_cast<std::uint64_t>(info.st_size);
    const std::uint64_t length = std::max(durable.synced, durable.base);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) fail_on("cannot open", path);
    // The reused part written since the last sync reads as what was there: zeros.
    const std::uint64_t zero_end = std::min(size, durable.base);
    if (zero_end > durable.synced) {
      std::vector<char> region(zero_end - durable.synced);
      const auto at = static_cast<off_t>(durable.synced);
      if (::pread(fd, region.data(), region.size(), at) != static_cast<ssize_t>(region.size())) {
        ::close(fd);
        fail_on("cannot read", path);
      }
      auto written = static_cast<std::uint64_t>(
          std::count_if(region.begin(), region.end(), [](char c) { return c != 0; }));
      if (written > 0) {
        std::fill(region.begin(), region.end(), 0);
        if (::pwrite(fd, region.data(), region.size(), at) != static_cast<ssize_t>(region.size())) {
          ::close(fd);
          fail_on("cannot zero", path);
        }
      }
      figures.bytes_dropped += written;  // the unsynced bytes that were not zeros already
    }
    if (size > length) figures.bytes_dropped += size - length;
    if (size != length && ::ftruncate(fd, static_cast<off_t>(length)) != 0) {
      ::close(fd);
      fail_on("cannot truncate", path);
    }
    ::close(fd);
  }
  if (::truncate(journal_path.c_str(), 0) != 0) fail_on("cannot empty", journal_path);
  return figures;
}

}  // namespace baton
