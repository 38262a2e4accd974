#include "engine/local_account_store.hpp"

#include "store/accounts.hpp"

namespace baton {

StorageStatus LocalAccountStore::put_key(const Account* account, const ApiKey& key) {
  return store::put_key(db_, account, key);
}

std::optional<ApiKey> LocalAccountStore::find_key_by_secret(std::string_view secret) {
  return store::find_key_by_secret(db_, secret);
}

std::vector<ApiKey> LocalAccountStore::list_keys(const std::string& account) {
  return store::list_keys(db_, account);
}

StorageStatus LocalAccountStore::revoke_key(const std::string& account,
                                            const std::string& key_id, bool& found) {
  return store::revoke_key(db_, account, key_id, found);
}

std::optional<Account> LocalAccountStore::find_account(const std::string& account) {
  return store::find_account(db_, account);
}

std::vector<Account> LocalAccountStore::list_accounts(const std::string& after, int limit) {
  return store::list_accounts(db_, after, limit);
}

StorageStatus LocalAccountStore::set_plan(const std::string& account, const std::string& plan,
                                          bool& found) {
  return store::set_plan(db_, account, plan, found);
}

StorageStatus LocalAccountStore::set_cost_budget(const std::string& account, std::int64_t nanos,
                                                 bool& found) {
  return store::set_cost_budget(db_, account, nanos, found);
}

}  // namespace baton
