#pragma once
// Power-loss crash images for tests: a file system that journals what each file had made
// durable, and the step that turns a data directory left by kill -9 into what a power
// loss at that moment could have left.
//
// A kill -9 keeps everything the process wrote (it is in the OS page cache); a power loss
// keeps only what was fsynced. The journaling file system (in the spirit of RocksDB's
// FaultInjectionTestFS and of LazyFS) sits under RocksDB and notes, with one append to the
// journal per event, each file it opens for writing (new, reused or reopened), each
// Sync/Fsync that returned (the file's written length then), each truncate, rename and
// delete. apply_power_loss() then reads the journal and puts each file it names back to
// its durable state: data past the last sync is dropped, and where a reused file (a
// spare WAL, store/spare_wal.hpp) had content before, the unsynced part reads as that
// content, zeros. The journal is then emptied for the next run.
//
// Not modelled: torn or partial loss (a real power loss may keep any subset of the
// unsynced pages; the image drops all of them), directory entries (a file created,
// renamed or deleted and not yet covered by a directory fsync could come back or vanish),
// and files written outside RocksDB (Baton's format file and the spares, written and
// fsynced whole before use). Enabled in `baton serve` only by the environment variable
// BATON_TEST_SYNC_JOURNAL (docs/reliability.md "Power loss").
#include <cstdint>
#include <memory>
#include <string>

namespace rocksdb {
class FileSystem;
}

namespace baton {

// A file system over `target` (null: RocksDB's default) that appends its events to the
// file `journal_path` (created if missing). Throws std::runtime_error if the journal
// cannot be opened.
std::shared_ptr<rocksdb::FileSystem> make_sync_journal_file_system(
    std::shared_ptr<rocksdb::FileSystem> target, const std::string& journal_path);

struct PowerLossFigures {
  int files = 0;    // files the journal named that still exist
  int missing = 0;  // files it named that were not found (and so were left alone)
  // Unsynced bytes cut off, and those zeroed in a reused file that were not zero already.
  std::uint64_t bytes_dropped = 0;
};

// Puts every file `journal_path` names back to what it had made durable, then empties the
// journal. The process that wrote them must be dead. Throws std::runtime_error on an
// unreadable journal or a file that cannot be changed.
PowerLossFigures apply_power_loss(const std::string& journal_path);

}  // namespace baton
