#include "api/auth.hpp"

#include <atomic>
#include <unordered_map>

#include "store/accounts.hpp"

namespace baton::api {

namespace {

// Written only by revocations (rare); read with a relaxed load on every request.
std::atomic<std::uint64_t> g_revocation_epoch{0};

constexpr std::size_t kMaxCachedKeys = 65536;

struct KeyCache {
  std::uint64_t epoch = 0;
  std::unordered_map<std::string, Principal> by_hash;
};

thread_local KeyCache tls_cache;

}  // namespace

std::optional<Principal> authenticate(Db& db, std::string_view secret) {
  std::uint64_t epoch = g_revocation_epoch.load(std::memory_order_acquire);
  if (tls_cache.epoch != epoch) {
    tls_cache.by_hash.clear();
    tls_cache.epoch = epoch;
  }
  std::string hash = store::sha256_bytes(secret);
  if (auto it = tls_cache.by_hash.find(hash); it != tls_cache.by_hash.end()) return it->second;
  auto key = store::find_key_by_secret(db, secret);
  if (!key) return std::nullopt;
  if (tls_cache.by_hash.size() >= kMaxCachedKeys) tls_cache.by_hash.clear();
  Principal principal{key->account_id, key->id};
  tls_cache.by_hash.emplace(std::move(hash), principal);
  return principal;
}

void invalidate_key_caches() { g_revocation_epoch.fetch_add(1, std::memory_order_acq_rel); }

}  // namespace baton::api
