#include "api/auth.hpp"

#include <openssl/crypto.h>

#include <atomic>
#include <cctype>
#include <functional>
#include <string_view>
#include <unordered_map>

#include "engine/account_store.hpp"

namespace baton::api {

namespace {

// Written only by revocations (rare); read with a relaxed load on every request.
std::atomic<std::uint64_t> g_revocation_epoch{0};

constexpr std::size_t kMaxCachedKeys = 65536;

// Keyed by the presented secret itself, so a hit costs one string hash instead of a
// SHA-256: the secret already sits in this process's request buffers, and the cache is
// dropped whenever any key is revoked.
struct SecretHash {
  using is_transparent = void;  // find() by string_view without building a string
  std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

struct KeyCache {
  std::uint64_t epoch = 0;
  std::unordered_map<std::string, Principal, SecretHash, std::equal_to<>> by_secret;
};

thread_local KeyCache tls_cache;

// Drops every cached secret, wiping its bytes first so dropped keys do not linger in
// freed memory.
void forget_all(KeyCache& cache) {
  while (!cache.by_secret.empty()) {
    auto node = cache.by_secret.extract(cache.by_secret.begin());  // a node's key is mutable
    OPENSSL_cleanse(node.key().data(), node.key().size());
  }
}

}  // namespace

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  return authorization.substr(kScheme.size());
}

std::optional<Principal> authenticate(AccountStore& accounts, std::string_view secret) {
  std::uint64_t epoch = g_revocation_epoch.load(std::memory_order_acquire);
  if (tls_cache.epoch != epoch) {
    forget_all(tls_cache);
    tls_cache.epoch = epoch;
  }
  if (auto it = tls_cache.by_secret.find(secret); it != tls_cache.by_secret.end()) {
    return it->second;
  }
  auto key = accounts.find_key_by_secret(secret);
  if (!key) return std::nullopt;
  if (tls_cache.by_secret.size() >= kMaxCachedKeys) forget_all(tls_cache);
  std::optional<Account> account = accounts.find_account(key->account_id);
  Principal principal{key->account_id, key->id, account ? account->plan : std::string(),
                      account ? account->cost_budget_usd_nanos : -1};
  tls_cache.by_secret.emplace(std::string(secret), principal);
  return principal;
}

bool is_admin_key(std::string_view authorization, const std::string& admin_key) {
  auto sent = bearer_token(authorization);
  return !admin_key.empty() && sent && sent->size() == admin_key.size() &&
         CRYPTO_memcmp(sent->data(), admin_key.data(), admin_key.size()) == 0;
}

void invalidate_key_caches() { g_revocation_epoch.fetch_add(1, std::memory_order_acq_rel); }

}  // namespace baton::api
