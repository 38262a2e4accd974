#pragma once
// What a snapshot of the stored data is (a new data directory holding everything
// acknowledged before it began), or why one was not made. Made by the store
// (store/backup.hpp), offered by the engine (TaskEngine::snapshot), answered by the api
// (POST /v1/admin/backup).
#include <cstdint>
#include <string>

namespace baton {

enum class SnapshotFailure : std::uint8_t {
  none,
  // The target cannot take a snapshot: not empty, its parent missing, a leftover of an
  // interrupted snapshot beside it. The caller fixes the path.
  bad_target,
  // Storage has stopped taking writes (a failure not recovered yet): a snapshot needs a
  // memtable flush, which would fail too.
  storage_unwritable,
  failed,  // RocksDB or the file system failed while copying
};

struct SnapshotOutcome {
  SnapshotFailure failure = SnapshotFailure::none;
  std::string reason;  // what went wrong, for the operator; empty on success
  // On success:
  std::string path;            // the snapshot's directory
  std::uint64_t files = 0;     // files in it
  std::uint64_t bytes = 0;     // their sizes summed (hard-linked table files included)
  std::uint64_t sequence = 0;  // every RocksDB write up to this sequence number is in it
  std::int64_t took_ms = 0;

  bool ok() const { return failure == SnapshotFailure::none; }
};

}  // namespace baton
