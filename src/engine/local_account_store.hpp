#pragma once
// AccountStore on the embedded RocksDB (store/accounts.hpp).
#include "engine/account_store.hpp"

namespace baton {

class Db;

class LocalAccountStore final : public AccountStore {
 public:
  explicit LocalAccountStore(Db& db) : db_(db) {}
  StorageStatus put_key(const Account* account, const ApiKey& key) override;
  std::optional<ApiKey> find_key_by_secret(std::string_view secret) override;
  std::vector<ApiKey> list_keys(const std::string& account) override;
  StorageStatus revoke_key(const std::string& account, const std::string& key_id,
                           bool& found) override;
  std::optional<Account> find_account(const std::string& account) override;
  std::vector<Account> list_accounts(const std::string& after, int limit) override;
  StorageStatus set_plan(const std::string& account, const std::string& plan,
                         bool& found) override;
  StorageStatus set_cost_budget(const std::string& account, std::int64_t nanos,
                                bool& found) override;

 private:
  Db& db_;
};

}  // namespace baton
