#pragma once
// Accounts and API keys in PostgreSQL (baton_accounts, baton_keys), so that every node
// of a cluster knows every key. The AccountStore interface blocks, so this holds one
// connection of its own, used under a lock and opened again after it is lost.
#include <memory>
#include <mutex>
#include <string>

#include "engine/account_store.hpp"

struct pg_conn;

namespace baton::pg {

class PgAccountStore final : public AccountStore {
 public:
  explicit PgAccountStore(std::string conninfo);
  ~PgAccountStore() override;

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
  struct Query;
  pg_conn* connection();  // under mutex_; throws StorageError when none can be opened

  std::string conninfo_;
  std::mutex mutex_;
  pg_conn* conn_ = nullptr;
};

}  // namespace baton::pg
