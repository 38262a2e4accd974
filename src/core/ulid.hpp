#pragma once
// ULIDs (26 chars of Crockford base32: 48-bit ms time, 80 random bits), monotonic per
// generator, and Baton's task ids, which carry their vnode in the top 10 random bits so a
// request for a task id is routed to its shard with no lookup.
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
  // vnode in [0, kVnodeCount): stored in the 10 bits after the time.
  Ulid next(Millis now, int vnode = 0);

 private:
  std::uint64_t next_random();
  std::uint64_t state_;
  Millis last_ms_ = -1;
  std::uint64_t last_low_ = 0;  // the low 64 random bits, incremented within one ms
};

// "tsk_" + ULID text; nullopt when malformed.
std::optional<Ulid> parse_task_id(std::string_view id);
std::string task_id_string(const Ulid& bytes);

// Opaque secrets and tokens: `prefix` + 2*bytes lowercase hex from a CSPRNG.
std::string random_hex_token(std::string_view prefix, int bytes);

}  // namespace baton
