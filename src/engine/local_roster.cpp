// LocalEngine's worker roster: each shard's counts of the account's workers, their live
// leases, and the rank (core/worker_stats.hpp).
#include <algorithm>

#include <boost/asio/use_awaitable.hpp>

#include "engine/cross_shard.hpp"
#include "engine/engine_outcomes.hpp"
#include "engine/local_engine.hpp"
#include "engine/routing.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/records.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<std::vector<WorkerSummary>> LocalEngine::workers(std::string account,
                                                                 Millis seen_since) {
  std::vector<WorkerSummary> roster;
  auto row_of = [&roster](const std::string& worker) -> WorkerSummary& {
    for (WorkerSummary& summary : roster) {
      if (summary.worker_id == worker) return summary;
    }
    WorkerSummary& added = roster.emplace_back();
    added.worker_id = worker;
    return added;
  };
  for (auto& shard : shards_) {
    Shard& owner = *shard;
    auto rows = co_await on_shard(owner.context(), [&]() -> asio::awaitable<
                                                        std::vector<std::pair<keys::WorkerStatsKey, WorkerTypeStats>>> {
      co_return owner.worker_stats_of(account, seen_since);
    });
    for (auto& [key, stats] : rows) {
      WorkerSummary& summary = row_of(key.worker);
      summary.last_seen = std::max(summary.last_seen, stats.last_seen);
      summary.types.push_back(WorkerTypeSummary{key.type, stats, 0});
    }
  }
  // Live leases: the account's claimed tasks, by who holds them (at most this many read).
  constexpr int kLeasesRead = 10000;
  store::ListQuery claimed;
  claimed.account = account;
  claimed.status = TaskStatus::claimed;
  claimed.limit = kLeasesRead;
  store::ListResult leases = store::list_tasks(db_, claimed);
  for (const Task& task : leases.tasks) {
    for (WorkerSummary& summary : roster) {
      if (summary.worker_id == task.claimed_by) ++summary.live_leases;
    }
  }
  for (WorkerSummary& summary : roster) {
    std::sort(summary.types.begin(), summary.types.end(),
              [](const WorkerTypeSummary& a, const WorkerTypeSummary& b) { return a.type < b.type; });
  }
  rank_roster(roster);
  co_return roster;
}


}  // namespace baton
