#pragma once
// SHA-256 (OpenSSL): API key secrets are stored and looked up by it, and idempotent
// requests are compared by the hash of their canonical body.
#include <string>
#include <string_view>

namespace baton {

// The raw 32-byte digest.
std::string sha256_bytes(std::string_view text);
// Whether `a` and `b` are equal, in time that depends on their lengths only (secrets).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace baton
