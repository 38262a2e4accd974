#include "core/ulid.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace baton {

namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

__extension__ typedef unsigned __int128 Bits128;  // GCC and Clang; not ISO C++

// Crockford base32, case-insensitive, O -> 0 and I, L -> 1; -1 for anything else.
constexpr std::array<std::int8_t, 256> kDigitOf = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (int i = 0; i < 32; ++i) {
    auto c = static_cast<unsigned char>(kAlphabet[i]);
    table[c] = static_cast<std::int8_t>(i);
    if (c >= 'A' && c <= 'Z') table[c - 'A' + 'a'] = static_cast<std::int8_t>(i);
  }
  table['O'] = table['o'] = 0;
  table['I'] = table['i'] = table['L'] = table['l'] = 1;
  return table;
}();

int decode_char(char c) { return kDigitOf[static_cast<unsigned char>(c)]; }

// splitmix64: a fast, well-mixed generator for the non-secret random part of ids.
std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

// A ULID is 128 bits; its text is 26 base32 digits, the first holding only 3 bits.
// Every answer carries one (its request id), so both directions work on a 128-bit
// integer, five bits per digit, instead of bit by bit.
std::string encode_ulid(const Ulid& bytes) {
  Bits128 value = 0;
  for (std::uint8_t byte : bytes) value = (value << 8) | byte;
  std::string out(26, '0');
  for (int i = 25; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kAlphabet[static_cast<unsigned>(value & 31)];
    value >>= 5;
  }
  return out;
}

std::optional<Ulid> decode_ulid(std::string_view text) {
  if (text.size() != 26) return std::nullopt;
  Bits128 value = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int digit = decode_char(text[i]);
    if (digit < 0 || (i == 0 && digit > 7)) return std::nullopt;  // 130 bits would overflow
    value = (value << 5) | static_cast<unsigned>(digit);
  }
  Ulid bytes{};
  for (int i = 15; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value & 0xff);
    value >>= 8;
  }
  return bytes;
}

Millis ulid_time(const Ulid& bytes) {
  Millis ms = 0;
  for (int i = 0; i < 6; ++i) ms = (ms << 8) | bytes[i];
  return ms;
}

int ulid_vnode(const Ulid& bytes) { return ((bytes[14] & 3) << 8) | bytes[15]; }

UlidGenerator::UlidGenerator(std::uint64_t seed) : state_(seed) {}

std::uint64_t UlidGenerator::next_random() { return splitmix(state_); }

Ulid UlidGenerator::next(Millis now, int vnode, int micros_in_ms) {
  std::uint64_t micros = static_cast<std::uint64_t>(micros_in_ms < 0 ? 0 : micros_in_ms % 1000);
  // Start each microsecond at a random point in its lower half, so increments never wrap.
  std::uint64_t sequence = (micros << 54) | (next_random() >> 11);
  if (now < last_ms_ || (now == last_ms_ && sequence <= last_sequence_)) {
    // Same instant, or a clock that stepped back: stay monotonic by counting up.
    now = last_ms_;
    sequence = last_sequence_ + 1;
  }
  last_ms_ = now;
  last_sequence_ = sequence;
  Ulid bytes{};
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<std::uint8_t>(now >> (8 * (5 - i)));
  for (int i = 0; i < 8; ++i) bytes[6 + i] = static_cast<std::uint8_t>(sequence >> (8 * (7 - i)));
  unsigned v = static_cast<unsigned>(vnode) & (kVnodeCount - 1);
  bytes[14] = static_cast<std::uint8_t>(v >> 8);  // the top 6 bits stay zero
  bytes[15] = static_cast<std::uint8_t>(v & 0xff);
  return bytes;
}

std::optional<Ulid> parse_task_id(std::string_view id) {
  if (id.size() != 30 || id.substr(0, 4) != "tsk_") return std::nullopt;
  auto bytes = decode_ulid(id.substr(4));
  if (!bytes || encode_ulid(*bytes) != id.substr(4)) return std::nullopt;  // canonical only
  return bytes;
}

std::string task_id_string(const Ulid& bytes) { return "tsk_" + encode_ulid(bytes); }

std::string random_hex_token(std::string_view prefix, int bytes) {
  // Every claim draws a lease token: take the CSPRNG's bytes a page at a time per thread
  // rather than one locked RAND_bytes call per token. Bytes are used once, never reused.
  static constexpr std::size_t kPool = 4096;
  thread_local unsigned char pool[kPool];
  thread_local std::size_t used = kPool;
  std::string raw(static_cast<std::size_t>(bytes), '\0');
  for (std::size_t filled = 0; filled < raw.size();) {
    if (used == kPool) {
      if (RAND_bytes(pool, static_cast<int>(kPool)) != 1) throw std::runtime_error("RAND_bytes failed");
      used = 0;
    }
    std::size_t take = std::min(raw.size() - filled, kPool - used);
    std::memcpy(raw.data() + filled, pool + used, take);
    OPENSSL_cleanse(pool + used, take);
    used += take;
    filled += take;
  }
  return std::string(prefix) + hex_encode(raw);
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace baton
