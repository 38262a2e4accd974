// A plan's limits on PostgreSQL: the worker limit (live leases) and the monthly task
// quota, exact across every node. A claim or create of a limited account locks the
// account's row in its transaction, counts, and writes only when it fits; the lock makes
// the account's limited operations count one after the other, and nothing else takes it.
// Also the counts the api reads without a coroutine (billing status, the budget check).
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "core/usage.hpp"
#include "pg/blocking_session.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> lock_account(Connection& connection, const std::string& account) {
  Result locked = require(co_await connection.run("lock_account", Params().text(account)));
  // No row, no lock: the count would race. Every key's account has its row.
  if (locked.rows() != 1) throw StorageError("postgres: account " + account + " has no row to lock");
}

}  // namespace

asio::awaitable<bool> PgEngine::lease_fits(Connection& connection, const std::string& account,
                                           std::int64_t max_leases) {
  co_await lock_account(connection, account);
  Result leases = require(co_await connection.run("count_leases", Params().text(account)));
  co_return leases.integer(0, 0) < max_leases;
}

asio::awaitable<std::int64_t> PgEngine::quota_room(Connection& connection,
                                                   const std::string& account,
                                                   std::int64_t monthly_quota, Millis now) {
  co_await lock_account(connection, account);
  std::int64_t month = usage_month(now);
  Result created = require(co_await connection.run(
      "count_created_in", Params().text(account).integer(month_first_hour(month)).integer(month_first_hour(month + 1))));
  co_return std::max<std::int64_t>(0, monthly_quota - created.integer(0, 0));
}

std::int64_t PgEngine::leases_in_use(const std::string& account) {
  return counts_
      ->run(std::string(kCountLeases), BlockingParams().text(account))
      .integer(0, 0);
}

std::int64_t PgEngine::created_this_month(const std::string& account) {
  std::int64_t month = usage_month(wall_now_ms());
  return counts_
      ->run(std::string(kCountCreatedIn), BlockingParams()
                                               .text(account)
                                               .integer(month_first_hour(month))
                                               .integer(month_first_hour(month + 1)))
      .integer(0, 0);
}

std::int64_t PgEngine::spent_this_month(const std::string& account) {
  Answer spent = counts_->run("SELECT usd_nanos FROM baton_spend WHERE account_id = $1 AND month = $2",
                              BlockingParams().text(account).integer(usage_month(wall_now_ms())));
  return spent.rows() == 0 ? 0 : spent.integer(0, 0);
}

}  // namespace baton::pg
