#pragma once
// Where data lives: a queue (account, type) maps to a fixed vnode, a vnode to a shard.
// Changing the shard count between restarts only reassigns vnodes; ids keep their vnode.
#include <cstdint>
#include <string_view>

#include "core/ulid.hpp"

namespace baton {

inline std::uint64_t fnv1a(std::string_view text, std::uint64_t hash = 1469598103934665603ULL) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

inline int vnode_of(std::string_view account, std::string_view type) {
  std::uint64_t hash = fnv1a(type, fnv1a(std::string_view("\0", 1), fnv1a(account)));
  return static_cast<int>(hash % kVnodeCount);
}

inline int shard_of_vnode(int vnode, int shard_count) { return vnode % shard_count; }

// Idempotency keys are homed by the hash of their full scope.
inline int shard_of_key(std::string_view scope_key, int shard_count) {
  return static_cast<int>(fnv1a(scope_key) % static_cast<std::uint64_t>(shard_count));
}

}  // namespace baton
