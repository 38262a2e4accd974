#pragma once
// What a storage operation came to (in any backend): ok, or a failure of a kind the caller can act on (a
// full disk recovers by itself once there is room, an I/O error may, corruption does
// not), with RocksDB's text of it for the log and /health.
#include <cstdint>
#include <string>
#include <string_view>

namespace baton {

struct StorageStatus {
  enum class Kind : std::uint8_t { ok, no_space, io_error, corruption, busy, not_writable, other };

  Kind kind = Kind::ok;
  std::string message;  // empty when ok

  bool ok() const { return kind == Kind::ok; }
  static StorageStatus failure(Kind kind, std::string message) {
    return StorageStatus{kind, std::move(message)};
  }
};

inline std::string_view to_string(StorageStatus::Kind kind) {
  switch (kind) {
    case StorageStatus::Kind::ok: return "ok";
    case StorageStatus::Kind::no_space: return "no_space";
    case StorageStatus::Kind::io_error: return "io_error";
    case StorageStatus::Kind::corruption: return "corruption";
    case StorageStatus::Kind::busy: return "busy";
    case StorageStatus::Kind::not_writable: return "not_writable";
    case StorageStatus::Kind::other: return "other";
  }
  return "other";
}

}  // namespace baton
