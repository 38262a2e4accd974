// PgEngine's retention purge: every account with a retention, each terminal status, a
// bounded step at a time (purge_tasks), so that the database keeps serving requests
// between steps. Each step resumes after the last task the one before looked at, so a
// task that must stay (ended after the cutoff, held by a transaction, a dependency whose
// dependents are still to be told) is looked at once per round.
#include <boost/asio/use_awaitable.hpp>

#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

asio::awaitable<void> PgEngine::purge_history(Thread& thread) {
  if (!retention_) co_return;
  constexpr int kAccounts = 1000;
  std::string after_account;
  for (bool more = true; more && !shutting_down_;) {
    std::vector<std::string> accounts;
    {
      Lease connection = co_await thread.pool->acquire();
      Result ids = require(co_await connection->run(
          "account_ids", Params().text(after_account).integer(kAccounts)));
      for (int row = 0; row < ids.rows(); ++row) accounts.push_back(ids.text(row, 0));
      more = ids.rows() == kAccounts;
    }
    if (!accounts.empty()) after_account = accounts.back();
    for (const std::string& account : accounts) {
      Millis keep = retention_(account);
      if (keep <= 0) continue;
      Millis cutoff = wall_now_ms() - keep;
      for (TaskStatus status : {TaskStatus::completed, TaskStatus::dead_letter, TaskStatus::cancelled}) {
        co_await purge_status(thread, account, status, cutoff);
      }
    }
  }
}

asio::awaitable<void> PgEngine::purge_status(Thread& thread, const std::string& account,
                                              TaskStatus status, Millis cutoff) {
  std::string after;
  while (!shutting_down_) {
    Lease connection = co_await thread.pool->acquire();
    Result step = require(co_await connection->run(
        "purge_tasks", Params()
                           .text(account)
                           .integer(static_cast<int>(status))
                           .text(after)
                           .integer(options_.purge_batch)
                           .integer(cutoff)
                           .text(first_id_at(cutoff))));
    if (step.is_null(0, 0)) co_return;  // nothing more to look at
    purged_.fetch_add(static_cast<std::uint64_t>(step.integer(0, 2)), std::memory_order_relaxed);
    if (step.integer(0, 1) < options_.purge_batch) co_return;
    after = step.text(0, 0);
  }
}

}  // namespace baton::pg
