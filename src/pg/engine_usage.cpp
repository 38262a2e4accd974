// PgEngine's usage reports (GET /v1/usage…). Each transition adds a row of what it changes
// (usage_change, the function the RocksDB engine counts with) in the transaction that
// makes it, so the reports match the stored tasks and survive any crash; the sweeper folds
// the last hours' rows, and a report sums the rest.
#include <boost/asio/use_awaitable.hpp>

#include "core/usage.hpp"
#include "pg/blocking_session.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

// The figures go in the columns' order (BATON_USAGE_FIGURES in task_rows.cpp), as
// usage() reads them back.
Params usage_row(const std::string& account, const std::string& type, Millis now, const UsageCounts& change) {
  Params out;
  out.text(account).integer(usage_hour(now)).text(type);
  for (std::int64_t figure : {change.created, change.claimed, change.completed, change.failed,
                              change.dead_lettered, change.cancelled, change.wait_ms_total, change.runs,
                              change.run_ms_total, change.cost.input_tokens, change.cost.output_tokens,
                              change.cost.total_tokens, change.cost.usd_nanos, change.cost.cpu_time_ms,
                              change.cost.subrequests}) {
    out.integer(figure);
  }
  return out;
}

}  // namespace

bool usage_params(Params& out, const Task* before, const Task& after, Millis now) {
  UsageCounts change = usage_change(before, after, now);
  if (change.empty()) return false;
  out = usage_row(after.account_id, after.type, now, change);
  return true;
}

void UsageSum::add(const Task* before, const Task& after) {
  UsageCounts change = usage_change(before, after, now_);
  if (!change.empty()) sums_[{after.account_id, after.type}].add(change);
}

std::vector<Params> UsageSum::rows() const {
  std::vector<Params> rows;
  rows.reserve(sums_.size());
  for (const auto& [queue, counts] : sums_) rows.push_back(usage_row(queue.first, queue.second, now_, counts));
  return rows;
}

asio::awaitable<void> PgEngine::fold_usage(Thread& thread, Millis now) {
  Lease connection = co_await thread.pool->acquire();
  require(co_await connection->run("fold_usage", Params().integer(usage_hour(now))));
}

std::vector<UsageRow> PgEngine::usage(const std::string& account, std::int64_t from_hour,
                                      std::int64_t until_hour) {
  Answer sums = counts_->run(std::string(kUsageRows),
                             BlockingParams().text(account).integer(from_hour).integer(until_hour));
  std::vector<UsageRow> rows;
  rows.reserve(static_cast<std::size_t>(sums.rows()));
  for (int row = 0; row < sums.rows(); ++row) {
    UsageRow usage;
    usage.hour = sums.integer(row, 0);
    usage.type = sums.text(row, 1);
    UsageCounts& counts = usage.counts;
    std::int64_t* figures[] = {&counts.created, &counts.claimed, &counts.completed, &counts.failed,
                               &counts.dead_lettered, &counts.cancelled, &counts.wait_ms_total,
                               &counts.runs, &counts.run_ms_total, &counts.cost.input_tokens,
                               &counts.cost.output_tokens, &counts.cost.total_tokens,
                               &counts.cost.usd_nanos, &counts.cost.cpu_time_ms, &counts.cost.subrequests};
    int column = 2;
    for (std::int64_t* figure : figures) *figure = sums.integer(row, column++);
    rows.push_back(std::move(usage));
  }
  return rows;
}

}  // namespace baton::pg
