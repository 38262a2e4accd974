#pragma once
// When a transition's write reaches the disk (storage.sync): `always` fsyncs each one
// before its answer, `batch` groups a shard's transitions into one fsync (group commit),
// `none` never fsyncs (the WAL is written: a process crash loses nothing, a power loss
// may).
namespace baton {

enum class SyncMode { always, batch, none };

}  // namespace baton
