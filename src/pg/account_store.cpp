#include "pg/account_store.hpp"

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include <vector>

#include "core/errors.hpp"
#include "core/sha256.hpp"

namespace baton::pg {

namespace {

// A blocking statement with text parameters (bytea ones binary) and binary answers.
struct Statement {
  std::vector<std::string> values;
  std::vector<int> formats;

  Statement& text(std::string value) {
    values.push_back(std::move(value));
    formats.push_back(0);
    return *this;
  }
  Statement& bytes(std::string value) {
    text(std::move(value));
    formats.back() = 1;
    return *this;
  }
};

struct Clear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Answer = std::unique_ptr<PGresult, Clear>;

std::string column(PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column),
                     static_cast<std::size_t>(PQgetlength(result, row, column)));
}

std::int64_t integer(PGresult* result, int row, int col) {
  std::string raw = column(result, row, col);
  std::int64_t value = (!raw.empty() && static_cast<signed char>(raw[0]) < 0) ? -1 : 0;
  for (unsigned char byte : raw) value = static_cast<std::int64_t>((static_cast<std::uint64_t>(value) << 8) | byte);
  return value;
}

constexpr const char* kAccountColumns = "id, label, plan, created_at, cost_budget_usd_nanos";
constexpr const char* kKeyColumns = "id, account_id, label, sha256, created_at";

Account account_at(PGresult* result, int row) {
  Account account;
  account.id = column(result, row, 0);
  account.label = column(result, row, 1);
  account.plan = column(result, row, 2);
  account.created_at = integer(result, row, 3);
  account.cost_budget_usd_nanos = integer(result, row, 4);
  return account;
}

ApiKey key_at(PGresult* result, int row) {
  ApiKey key;
  key.id = column(result, row, 0);
  key.account_id = column(result, row, 1);
  key.label = column(result, row, 2);
  key.sha256 = column(result, row, 3);
  key.created_at = integer(result, row, 4);
  return key;
}

}  // namespace

PgAccountStore::PgAccountStore(std::string conninfo) : conninfo_(std::move(conninfo)) {}

PgAccountStore::~PgAccountStore() {
  if (conn_) PQfinish(conn_);
}

pg_conn* PgAccountStore::connection() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
  if (conn_) PQfinish(conn_);
  conn_ = PQconnectdb(conninfo_.c_str());
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string why = conn_ ? PQerrorMessage(conn_) : "out of memory";
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw StorageError("postgres: " + why);
  }
  return conn_;
}

// Runs one statement under the store's lock; an SQL error throws StorageError (the api
// answers 503), as a RocksDB fault does.
struct PgAccountStore::Query {
  static Answer run(PgAccountStore& store, const char* sql, const Statement& statement) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (const std::string& value : statement.values) {
      values.push_back(value.data());
      lengths.push_back(static_cast<int>(value.size()));
    }
    Answer answer(PQexecParams(store.connection(), sql, static_cast<int>(values.size()), nullptr,
                               values.data(), lengths.data(), statement.formats.data(), 1));
    ExecStatusType status = answer ? PQresultStatus(answer.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw StorageError(std::string("postgres: ") +
                         (answer ? PQresultErrorMessage(answer.get()) : PQerrorMessage(store.conn_)));
    }
    return answer;
  }
};

StorageStatus PgAccountStore::put_key(const Account* account, const ApiKey& key) {
  std::lock_guard lock(mutex_);
  try {
    // One statement, so the account and its key are written together or not at all.
    if (account) {
      Query::run(*this,
                 "WITH a AS (INSERT INTO baton_accounts (id, label, plan, created_at, "
                 "cost_budget_usd_nanos) VALUES ($1, $2, $3, $4, $5)) "
                 "INSERT INTO baton_keys (id, account_id, label, sha256, created_at) "
                 "VALUES ($6, $1, $7, $8, $9)",
                 Statement{}
                     .text(account->id).text(account->label).text(account->plan)
                     .text(std::to_string(account->created_at))
                     .text(std::to_string(account->cost_budget_usd_nanos))
                     .text(key.id).text(key.label).bytes(key.sha256)
                     .text(std::to_string(key.created_at)));
    } else {
      Query::run(*this,
                 "INSERT INTO baton_keys (id, account_id, label, sha256, created_at) "
                 "VALUES ($1, $2, $3, $4, $5)",
                 Statement{}.text(key.id).text(key.account_id).text(key.label).bytes(key.sha256)
                     .text(std::to_string(key.created_at)));
    }
  } catch (const StorageError& failure) {
    return StorageStatus::failure(StorageStatus::Kind::io_error, failure.what());
  }
  return {};
}

std::optional<ApiKey> PgAccountStore::find_key_by_secret(std::string_view secret) {
  std::string hash = sha256_bytes(secret);
  std::lock_guard lock(mutex_);
  Answer answer = Query::run(*this, "SELECT id, account_id, label, sha256, created_at "
                                    "FROM baton_keys WHERE sha256 = $1",
                             Statement{}.bytes(hash));
  if (PQntuples(answer.get()) == 0) return std::nullopt;
  ApiKey key = key_at(answer.get(), 0);
  if (key.sha256.size() != hash.size() ||
      CRYPTO_memcmp(key.sha256.data(), hash.data(), hash.size()) != 0) {
    return std::nullopt;
  }
  return key;
}

std::vector<ApiKey> PgAccountStore::list_keys(const std::string& account) {
  std::lock_guard lock(mutex_);
  Answer answer = Query::run(*this,
                             (std::string("SELECT ") + kKeyColumns +
                              " FROM baton_keys WHERE account_id = $1 ORDER BY id").c_str(),
                             Statement{}.text(account));
  std::vector<ApiKey> keys;
  for (int row = 0; row < PQntuples(answer.get()); ++row) keys.push_back(key_at(answer.get(), row));
  return keys;
}

StorageStatus PgAccountStore::revoke_key(const std::string& account, const std::string& key_id,
                                         bool& found) {
  std::lock_guard lock(mutex_);
  try {
    Answer answer = Query::run(*this, "DELETE FROM baton_keys WHERE account_id = $1 AND id = $2",
                               Statement{}.text(account).text(key_id));
    found = std::atoll(PQcmdTuples(answer.get())) > 0;
  } catch (const StorageError& failure) {
    return StorageStatus::failure(StorageStatus::Kind::io_error, failure.what());
  }
  return {};
}

std::optional<Account> PgAccountStore::find_account(const std::string& account) {
  std::lock_guard lock(mutex_);
  Answer answer = Query::run(
      *this, (std::string("SELECT ") + kAccountColumns + " FROM baton_accounts WHERE id = $1").c_str(),
      Statement{}.text(account));
  if (PQntuples(answer.get()) == 0) return std::nullopt;
  return account_at(answer.get(), 0);
}

std::vector<Account> PgAccountStore::list_accounts(const std::string& after, int limit) {
  std::lock_guard lock(mutex_);
  Answer answer = Query::run(*this,
                             (std::string("SELECT ") + kAccountColumns +
                              " FROM baton_accounts WHERE id > $1 ORDER BY id LIMIT $2").c_str(),
                             Statement{}.text(after).text(std::to_string(limit)));
  std::vector<Account> accounts;
  for (int row = 0; row < PQntuples(answer.get()); ++row) {
    accounts.push_back(account_at(answer.get(), row));
  }
  return accounts;
}

StorageStatus PgAccountStore::set_plan(const std::string& account, const std::string& plan,
                                       bool& found) {
  std::lock_guard lock(mutex_);
  try {
    Answer answer = Query::run(*this, "UPDATE baton_accounts SET plan = $2 WHERE id = $1",
                               Statement{}.text(account).text(plan));
    found = std::atoll(PQcmdTuples(answer.get())) > 0;
  } catch (const StorageError& failure) {
    return StorageStatus::failure(StorageStatus::Kind::io_error, failure.what());
  }
  return {};
}

StorageStatus PgAccountStore::set_cost_budget(const std::string& account, std::int64_t nanos,
                                              bool& found) {
  std::lock_guard lock(mutex_);
  try {
    Answer answer = Query::run(*this,
                               "UPDATE baton_accounts SET cost_budget_usd_nanos = $2 WHERE id = $1",
                               Statement{}.text(account).text(std::to_string(nanos)));
    found = std::atoll(PQcmdTuples(answer.get())) > 0;
  } catch (const StorageError& failure) {
    return StorageStatus::failure(StorageStatus::Kind::io_error, failure.what());
  }
  return {};
}

}  // namespace baton::pg
