#pragma once
// ULIDs (26 chars of Crockford base32: 48-bit ms time, 80 more bits), monotonic per
// generator. Baton fills the 80 bits as: 10 bits of microseconds within the millisecond,
// 54 bits that start random each microsecond and count up within it, 6 zero bits, and the
// vnode (10 bits), so a request for a task id is routed to its shard with no lookup, ids
// of one shard sort in creation order, and ids of different shards made more than a
// microsecond apart sort in creation order too.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace baton {

inline constexpr int kVnodeCount = 1024;
using Ulid = std::array<std::uint8_t, 16>;

std::string encode_ulid(const Ulid& bytes);
std::optional<Ulid> decode_ulid(std::string_view text);  // exactly 26 valid chars
Millis ulid_time(const Ulid& bytes);
int ulid_vnode(const Ulid& bytes);

// One per shard (not thread-safe). Ids made by one generator sort in creation order,
// even within the same millisecond.
class UlidGenerator {
 public:
  explicit UlidGenerator(std::uint64_t seed);
  // vnode in [0, kVnodeCount): stored in the last 10 bits.
  Ulid next(Millis now_ms, int vnode = 0, int micros_in_ms = 0);

 private:
  std::uint64_t next_random();
  std::uint64_t state_;
  Millis last_ms_ = -1;
  std::uint64_t last_sequence_ = 0;  // microseconds (10 bits) · counter (54 bits)
};

// "tsk_" + ULID text; nullopt when malformed.
std::optional<Ulid> parse_task_id(std::string_view id);
std::string task_id_string(const Ulid& bytes);

// Opaque secrets and tokens: `prefix` + 2*bytes lowercase hex from a CSPRNG.
std::string random_hex_token(std::string_view prefix, int bytes);
// Lowercase hex of raw bytes.
std::string hex_encode(std::string_view bytes);

}  // namespace baton
