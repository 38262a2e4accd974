#include "core/sha256.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace baton {

std::string sha256_bytes(std::string_view text) {
  // Every authenticated request hashes its key: fetch the implementation once (SHA256()
  // looks it up again on each call in OpenSSL 3, which costs more than the hash itself).
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int length = 0;
  const EVP_MD* md = kSha256 ? kSha256 : EVP_sha256();  // fetch failed: the slower lookup
  if (EVP_Digest(text.data(), text.size(), digest, &length, md, nullptr) != 1) {
    throw std::runtime_error("SHA-256 unavailable");
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace baton
