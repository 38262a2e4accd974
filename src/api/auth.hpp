#pragma once
// Bearer-key authentication with a per-thread (so per-shard) cache of secret -> account.
// Revoking any key bumps one process-wide epoch; every shard drops its cache at its next
// request, so a revocation takes effect on every core before the revoke is answered.
#include <optional>
#include <string>
#include <string_view>

namespace baton {
class AccountStore;
}

namespace baton::api {

// The prefix of every API key (Orchestrion's, kept for drop-in compatibility).
inline constexpr std::string_view kApiKeyPrefix = "orch_live_";

struct Principal {
  std::string account;
  std::string key_id;
  std::string plan;  // the account's assigned plan; "" = the default plan
  std::int64_t cost_budget_usd_nanos = -1;  // the account's own (Account's), -1: the plan's
};

// The credential of an `Authorization: Bearer <token>` header (the scheme name is
// case-insensitive, RFC 9110); nullopt for any other shape.
std::optional<std::string_view> bearer_token(std::string_view authorization);

std::optional<Principal> authenticate(AccountStore& accounts, std::string_view secret);
// Whether `authorization` is exactly `Bearer <admin_key>` (compared in constant time);
// never when the server has no admin key.
bool is_admin_key(std::string_view authorization, const std::string& admin_key);
// Drops every thread's cached keys (and the plans cached with them): a key was revoked,
// or an account's plan changed.
void invalidate_key_caches();

}  // namespace baton::api
