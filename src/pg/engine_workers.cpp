// PgEngine's worker roster (GET /v1/workers, docs/workflows.md) and assign: best. Each
// transition adds what worker_change says it adds to its worker's counts as a row of
// baton_workers, in the transaction that makes it; the sweeper folds the rows every
// second, and a read sums what is there (as engine_usage.cpp does for usage).
#include <boost/asio/use_awaitable.hpp>

#include <map>

#include "core/worker_stats.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"
#include "store/records.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

// The rows of worker_rows' answer.
std::vector<WorkerRow> worker_rows_of(const Result& sums) {
  std::vector<WorkerRow> rows;
  for (int row = 0; row < sums.rows(); ++row) {
    WorkerRow& out = rows.emplace_back();
    out.worker = sums.text(row, 0);
    out.type = sums.text(row, 1);
    WorkerTypeStats& s = out.stats;
    std::uint64_t* figures[] = {&s.claims,   &s.completed, &s.failed, &s.expired,
                                &s.accepted, &s.reworked,  &s.complete_ms_total};
    int column = 2;
    for (std::uint64_t* figure : figures) {
      *figure = static_cast<std::uint64_t>(std::max<std::int64_t>(0, sums.integer(row, column++)));
    }
    s.last_seen = sums.integer(row, column);
  }
  return rows;
}

}  // namespace

bool worker_params(Params& out, const Task* before, const Task& after, Millis now) {
  std::optional<WorkerChange> change = worker_change(before, after, now);
  if (!change) return false;
  const WorkerTypeStats& d = change->delta;
  out.text(after.account_id).text(change->worker).text(after.type);
  out.integer(change->undo_claim ? -1 : static_cast<std::int64_t>(d.claims));
  for (std::uint64_t figure : {d.completed, d.failed, d.expired, d.accepted, d.reworked, d.complete_ms_total}) {
    out.integer(static_cast<std::int64_t>(figure));
  }
  out.integer(d.last_seen);
  return true;
}

asio::awaitable<std::vector<WorkerSummary>> PgEngine::workers(std::string account, Millis seen_since) {
  Thread& thread = here();
  // At most this many live leases are read to count each worker's.
  constexpr int kLeasesRead = 10000;
  Params rows = Params().text(account).null().integer(seen_since);
  Params leases = Params().text(account).integer(kLeasesRead);
  std::vector<Step> reads{Step{"worker_rows", &rows}, Step{"lease_holders", &leases}};
  Lease connection = co_await thread.pool->acquire();
  std::vector<Result> answers = require(co_await connection->pipeline(std::move(reads)));
  std::vector<std::string> holders;
  for (int row = 0; row < answers[1].rows(); ++row) {
    // A record this release cannot read (a newer node's) holds a lease of no one it knows.
    std::optional<Task> task = records::decode_task(answers[1].bytes(row, 0));
    if (task) holders.push_back(std::move(task->claimed_by));
  }
  co_return make_roster(worker_rows_of(answers[0]), holders);
}

asio::awaitable<void> PgEngine::assign_best(Connection& connection, std::vector<CreateRequest*> requests,
                                            Millis now) {
  std::map<std::string, std::optional<std::string>> best_of_type;  // a batch asks once per type
  for (CreateRequest* request : requests) {
    if (!request->assign_best || !request->assign_to.empty()) continue;
    auto best = best_of_type.find(request->type);
    if (best == best_of_type.end()) {
      Result rows = require(co_await connection.run(
          "worker_rows", Params().text(request->account).text(request->type).integer(now - kAssignBestSeenMs)));
      best = best_of_type.emplace(request->type, best_worker_of(worker_rows_of(rows))).first;
    }
    // No worker of the type seen lately: the task is nobody's in particular.
    if (best->second) request->assign_to = *best->second;
  }
}

asio::awaitable<void> PgEngine::fold_workers(Thread& thread) {
  Lease connection = co_await thread.pool->acquire();
  require(co_await connection->run("fold_workers", Params()));
}

}  // namespace baton::pg
