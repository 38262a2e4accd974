#pragma once
// SHA-256 (OpenSSL): API key secrets are stored and looked up by it, and idempotent
// requests are compared by the hash of their canonical body.
#include <string>
#include <string_view>

namespace baton {

// The raw 32-byte digest.
std::string sha256_bytes(std::string_view text);

}  // namespace baton
