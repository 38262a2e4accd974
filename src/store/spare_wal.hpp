#pragma once
// WAL files written ahead of use, so that the WAL's fsync writes data and nothing else.
//
// RocksDB appends to each WAL file, so every fdatasync of a growing file also commits the
// file system's journal (the new size, the newly written extents): two device writes
// and a journal thread's wake-up per fsync. Overwriting blocks that are already written
// needs none of that. This file system keeps one spare file, filled with zeros and
// fsynced by a background thread, and hands it to RocksDB in place of each new WAL file
// (RocksDB's own ReuseWritableFile: rename into place, write from offset 0, no truncate).
// RocksDB's log reader skips all-zero blocks as preallocated space, so a crash leaves a
// WAL that replays exactly up to its last record; a clean close truncates it to its
// data. When no spare is ready, a WAL file is created as usual.
//
// What this leans on, and what it rules out: the zeros after the data are what RocksDB
// already meets in the fallocated, unwritten blocks of a stock WAL after a power loss
// (a lost page among unsynced ones reads as zeros either way). The WAL file being written
// is the spare's size until RocksDB closes (and so trims) it. Baton tails no live WAL
// (GetUpdatesSince, secondary instances), which would stop at zeros that are filled
// later. A checkpoint (store/backup.hpp) copies the live WAL through this file system:
// only WAL files in the data directory itself take a spare, so the copy is a plain file,
// and its zeros after the last record replay as a crash image does.
#include <cstdint>
#include <memory>
#include <string>

namespace rocksdb {
class FileSystem;
}

namespace baton {

struct SpareWalStats {
  std::uint64_t spares_used = 0;     // WAL files that started as a spare
  std::uint64_t spares_missed = 0;   // WAL files created while no spare was ready
  std::uint64_t spares_written = 0;  // spares the background thread has prepared
};

// A file system over `target` that keeps spares of `spare_bytes` in `spare_dir` (created
// if missing; files left there by an earlier run are removed, and the first spare is
// written before this returns). It makes no spare while the disk has less than five
// times `spare_bytes` free, nor while another process holds `spare_dir`. The background
// thread stops when the returned file system is destroyed.
std::shared_ptr<rocksdb::FileSystem> make_spare_wal_file_system(
    std::shared_ptr<rocksdb::FileSystem> target, std::string spare_dir,
    std::uint64_t spare_bytes);

// The counters of a file system made by make_spare_wal_file_system; zeros for any other.
SpareWalStats spare_wal_stats(const rocksdb::FileSystem& fs);

}  // namespace baton
