#pragma once
// Accounts and API keys in PostgreSQL (baton_accounts, baton_keys), so that every node
// of a cluster knows every key. The AccountStore interface blocks: this runs its
// statements on a BlockingSession of its own. A revocation, a plan or a budget changed
// also moves baton_revision in the same statement, which every node's sweeper watches to
// empty its caches of keys.
#include <string>

#include "engine/account_store.hpp"
#include "pg/blocking_session.hpp"

namespace baton::pg {

class PgAccountStore final : public AccountStore {
 public:
  explicit PgAccountStore(std::string url) : session_(std::move(url)) {}

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
  void watch_changes(std::function<void()> changed) override { changed_ = std::move(changed); }
  // Another node changed a key, a plan or a budget (PgEngine's sweeper saw baton_revision
  // move).
  void changed_elsewhere() {
    if (changed_) changed_();
  }

 private:
  // A write: ok, or the failure as a StorageStatus (the interface's way for writes).
  StorageStatus write(const std::string& sql, const BlockingParams& params,
                      bool* found = nullptr);

  BlockingSession session_;
  std::function<void()> changed_;
};

}  // namespace baton::pg
