#pragma once
// Snapshots of a live data directory, and their restore. A snapshot is a data directory
// itself: a RocksDB checkpoint and BATON_FORMAT. `baton backup` asks the running server
// for one (it must be taken by the process that has the database open); `baton restore`
// copies one into place while no server runs there.
//
// Both build their result beside its final name, as `<name>.baton-partial`, and rename it
// into place once it is whole and fsynced: a directory under the final name is always
// complete, and an interrupted run leaves only the `.baton-partial` one, which the next
// run refuses to touch until it is removed (it is not known to be this program's).
#include <cstdint>
#include <string>

#include "core/snapshot.hpp"

namespace baton {

class Db;

// Takes a snapshot of `db` at `target`: a new directory, or an empty one, whose parent
// exists and which is not inside the data directory. Blocks for a memtable flush and the
// copies: the live WAL's always, the table files' only on another file system (on the
// same one they are hard links).
SnapshotOutcome take_snapshot(Db& db, const std::string& target);

enum class RestoreFailure : std::uint8_t {
  none,
  bad_source,  // not a Baton snapshot, a newer data format, or a running server's directory
  bad_target,  // not empty, or its parent missing, or a leftover of an interrupted restore
  failed,      // copying, syncing or opening the copy failed
};

struct RestoreOutcome {
  RestoreFailure failure = RestoreFailure::none;
  std::string reason;  // empty on success
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  std::uint64_t tasks = 0;  // task records in the restored database
  bool ok() const { return failure == RestoreFailure::none; }
};

// Copies the snapshot at `from` into `data` (new or empty; its parent must exist), then
// opens the copy with RocksDB once (replaying its WAL, checking every file it names) and
// counts its tasks, before it appears under `data`. Files are copied, never linked: the
// restored directory shares nothing with the snapshot, which stays usable.
RestoreOutcome restore_snapshot(const std::string& from, const std::string& data);

}  // namespace baton
