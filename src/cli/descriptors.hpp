#pragma once
// The process's open-file budget: storage (RocksDB's table files, its WAL, manifest and
// lock, the spare WAL files) and the shards' own descriptors come first, connections get
// the rest. Without it, idle connections can take the descriptor RocksDB needs to start a
// new WAL, and every write fails.
#include <cstdint>

namespace baton {

struct DescriptorBudget {
  std::uint64_t limit = 0;    // the open-file limit in force (the soft RLIMIT_NOFILE)
  std::uint64_t reserved = 0; // what storage and the shards may hold
  int connections = 0;        // the connection cap that fits (0: none fits)
};

// Storage beyond its table files: WAL files, manifest, CURRENT, LOCK, LOG, OPTIONS,
// directory handles, spare WAL files, with room for a WAL switch in progress.
inline constexpr std::uint64_t kStorageFixedDescriptors = 64;
// Per shard: its epoll and event descriptors, the listening socket, a socket in the middle
// of a hand-over.
inline constexpr std::uint64_t kShardDescriptors = 8;
// The metrics port (metrics.listen), when on: its listening socket and its connections.
inline constexpr int kMetricsConnections = 8;
inline constexpr int kMetricsDescriptors = kMetricsConnections + 1;
// Standard streams, the key-storage thread, a resolver lookup, accepts racing the count.
inline constexpr std::uint64_t kSpareDescriptors = 64;

// Pure: how `limit` descriptors split between storage (`table_files` RocksDB may keep
// open, `shards` shards) and at most `wanted` connections.
DescriptorBudget split_descriptors(std::uint64_t limit, int wanted, int table_files, int shards);

// Raises the soft RLIMIT_NOFILE to the hard limit (as far as the system allows), then
// splits what is in force.
DescriptorBudget plan_descriptors(int wanted, int table_files, int shards);

}  // namespace baton
