#pragma once
// The seam for accounts and API keys, beside TaskEngine: api/ registers, authenticates
// and manages keys only through this, so a SQL-backed store can take RocksDB's place here
// as well (docs/architecture.md). Calls block on storage and may come from any thread:
// the api makes its synced writes on its storage worker, never on a shard's thread.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/account.hpp"
#include "core/storage_status.hpp"

namespace baton {

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  // Writes the account (when given) and the key, durably, in one write.
  virtual StorageStatus put_key(const Account* account, const ApiKey& key) = 0;
  // The key whose secret this is, compared in constant time; nullopt when none.
  virtual std::optional<ApiKey> find_key_by_secret(std::string_view secret) = 0;
  virtual std::vector<ApiKey> list_keys(const std::string& account) = 0;
  // Removes the key; `found` is false when the account has no such key. A failure
  // leaves the key working.
  virtual StorageStatus revoke_key(const std::string& account, const std::string& key_id,
                                   bool& found) = 0;
  virtual std::optional<Account> find_account(const std::string& account) = 0;
  // Accounts in id order (creation order) after `after` ("" = from the first), at most
  // `limit`.
  virtual std::vector<Account> list_accounts(const std::string& after, int limit) = 0;
  // Assigns the plan ("" = the default plan), durably; `found` is false when there is no
  // such account.
  virtual StorageStatus set_plan(const std::string& account, const std::string& plan,
                                 bool& found) = 0;
  // Sets the account's own monthly cost budget (nano-dollars; 0: none; -1: its plan's).
  virtual StorageStatus set_cost_budget(const std::string& account, std::int64_t nanos,
                                        bool& found) = 0;
  // Keys, plans and budgets can change in another process that shares the store (another
  // node on one database): `changed` is then called, on any thread, once such a change
  // is seen, so that what was read before is read again. Set before the server starts. A
  // store that only this process writes never calls it.
  virtual void watch_changes(std::function<void()> changed) { (void)changed; }
};

}  // namespace baton
