#include "pg/account_store.hpp"

#include <openssl/crypto.h>

#include "core/errors.hpp"
#include "core/sha256.hpp"

namespace baton::pg {

namespace {

const std::string kAccountColumns = "id, label, plan, created_at, cost_budget_usd_nanos";
const std::string kKeyColumns = "id, account_id, label, sha256, created_at";
// Put before a statement that changes what the nodes' caches of keys hold (a key's
// existence, an account's plan or budget): the revision moves with it, atomically.
const std::string kBump = "WITH bump AS (UPDATE baton_revision SET accounts = accounts + 1 WHERE id = 1) ";

Account account_at(const Answer& answer, int row) {
  Account account;
  account.id = answer.text(row, 0);
  account.label = answer.text(row, 1);
  account.plan = answer.text(row, 2);
  account.created_at = answer.integer(row, 3);
  account.cost_budget_usd_nanos = answer.integer(row, 4);
  return account;
}

ApiKey key_at(const Answer& answer, int row) {
  ApiKey key;
  key.id = answer.text(row, 0);
  key.account_id = answer.text(row, 1);
  key.label = answer.text(row, 2);
  key.sha256 = answer.text(row, 3);
  key.created_at = answer.integer(row, 4);
  return key;
}

}  // namespace

StorageStatus PgAccountStore::write(const std::string& sql, const BlockingParams& params,
                                    bool* found) {
  try {
    Answer answer = session_.run(sql, params);
    if (found) *found = answer.affected() > 0;
  } catch (const StorageError& failure) {
    return StorageStatus::failure(StorageStatus::Kind::io_error, failure.what());
  }
  return {};
}

StorageStatus PgAccountStore::put_key(const Account* account, const ApiKey& key) {
  if (!account) {
    return write("INSERT INTO baton_keys (" + kKeyColumns + ") VALUES ($1, $2, $3, $4, $5)",
                 BlockingParams().text(key.id).text(key.account_id).text(key.label)
                     .bytes(key.sha256).integer(key.created_at));
  }
  // One statement, so that the account and its first key are written together or not at all.
  return write("WITH account AS (INSERT INTO baton_accounts (" + kAccountColumns +
                   ") VALUES ($1, $2, $3, $4, $5)) "
                   "INSERT INTO baton_keys (" + kKeyColumns + ") VALUES ($6, $1, $7, $8, $9)",
               BlockingParams().text(account->id).text(account->label).text(account->plan)
                   .integer(account->created_at).integer(account->cost_budget_usd_nanos)
                   .text(key.id).text(key.label).bytes(key.sha256).integer(key.created_at));
}

std::optional<ApiKey> PgAccountStore::find_key_by_secret(std::string_view secret) {
  std::string hash = sha256_bytes(secret);
  Answer answer = session_.run("SELECT " + kKeyColumns + " FROM baton_keys WHERE sha256 = $1",
                               BlockingParams().bytes(hash));
  if (answer.rows() == 0) return std::nullopt;
  ApiKey key = key_at(answer, 0);
  if (key.sha256.size() != hash.size() ||
      CRYPTO_memcmp(key.sha256.data(), hash.data(), hash.size()) != 0) {
    return std::nullopt;
  }
  return key;
}

std::vector<ApiKey> PgAccountStore::list_keys(const std::string& account) {
  Answer answer = session_.run(
      "SELECT " + kKeyColumns + " FROM baton_keys WHERE account_id = $1 ORDER BY id",
      BlockingParams().text(account));
  std::vector<ApiKey> keys;
  for (int row = 0; row < answer.rows(); ++row) keys.push_back(key_at(answer, row));
  return keys;
}

StorageStatus PgAccountStore::revoke_key(const std::string& account, const std::string& key_id,
                                         bool& found) {
  return write(kBump + "DELETE FROM baton_keys WHERE account_id = $1 AND id = $2",
               BlockingParams().text(account).text(key_id), &found);
}

std::optional<Account> PgAccountStore::find_account(const std::string& account) {
  Answer answer = session_.run("SELECT " + kAccountColumns + " FROM baton_accounts WHERE id = $1",
                               BlockingParams().text(account));
  if (answer.rows() == 0) return std::nullopt;
  return account_at(answer, 0);
}

std::vector<Account> PgAccountStore::list_accounts(const std::string& after, int limit) {
  Answer answer = session_.run(
      "SELECT " + kAccountColumns + " FROM baton_accounts WHERE id > $1 ORDER BY id LIMIT $2",
      BlockingParams().text(after).integer(limit));
  std::vector<Account> accounts;
  for (int row = 0; row < answer.rows(); ++row) accounts.push_back(account_at(answer, row));
  return accounts;
}

StorageStatus PgAccountStore::set_plan(const std::string& account, const std::string& plan,
                                       bool& found) {
  return write(kBump + "UPDATE baton_accounts SET plan = $2 WHERE id = $1",
               BlockingParams().text(account).text(plan), &found);
}

StorageStatus PgAccountStore::set_cost_budget(const std::string& account, std::int64_t nanos,
                                              bool& found) {
  return write(kBump + "UPDATE baton_accounts SET cost_budget_usd_nanos = $2 WHERE id = $1",
               BlockingParams().text(account).integer(nanos), &found);
}

}  // namespace baton::pg
