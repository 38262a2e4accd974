#pragma once
// Accounts and API keys in RocksDB: only the SHA-256 of a key is stored, under 'h' for
// authentication and under 'a' · account for listing and revocation.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/db.hpp"
#include "store/records.hpp"

namespace baton::store {

// Writes the account (when given) and the key in one synced write.
StorageStatus put_key(Db& db, const records::Account* account, const records::ApiKey& key);
// The key record whose hash matches, compared in constant time.
std::optional<records::ApiKey> find_key_by_secret(Db& db, std::string_view secret);
std::vector<records::ApiKey> list_keys(Db& db, const std::string& account);
// Deletes both entries; `found` is false when the account has no such key.
StorageStatus revoke_key(Db& db, const std::string& account, const std::string& key_id,
                         bool& found);

std::optional<records::Account> find_account(Db& db, const std::string& account);
// Accounts after `after` ("" = from the first) in key order, at most `limit`.
std::vector<records::Account> list_accounts(Db& db, const std::string& after, int limit);
// Every account's id, in id order.
std::vector<std::string> account_ids(Db& db);
// Rewrites the account's plan in one synced write; `found` is false when there is none.
StorageStatus set_plan(Db& db, const std::string& account, const std::string& plan, bool& found);
// The account's own monthly cost budget (nano-dollars; 0 none, -1 its plan's).
StorageStatus set_cost_budget(Db& db, const std::string& account, std::int64_t nanos, bool& found);
// Reads the account's record, changes it, and writes it back, synced.
StorageStatus update_account(Db& db, const std::string& account,
                             const std::function<void(records::Account&)>& change, bool& found);

}  // namespace baton::store
