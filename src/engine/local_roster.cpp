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
#include "store/task_listing.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<std::vector<WorkerSummary>> LocalEngine::workers(std::string account,
                                                                 Millis seen_since) {
  std::vector<WorkerRow> rows;
  for (auto& shard : shards_) {
    Shard& owner = *shard;
    auto counted = co_await on_shard(owner.context(), [&]() -> asio::awaitable<
                                                        std::vector<std::pair<keys::WorkerStatsKey, WorkerTypeStats>>> {
      co_return owner.worker_stats_of(account, seen_since);
    });
    for (auto& [key, stats] : counted) rows.push_back(WorkerRow{std::move(key.worker), std::move(key.type), stats});
  }
  // Live leases: the account's claimed tasks, by who holds them (at most this many read).
  constexpr int kLeasesRead = 10000;
  store::ListQuery claimed;
  claimed.account = account;
  claimed.status = TaskStatus::claimed;
  claimed.limit = kLeasesRead;
  store::ListResult leases = store::list_tasks(db_, claimed);
  std::vector<std::string> holders;
  for (const Task& task : leases.tasks) holders.push_back(task.claimed_by);
  co_return make_roster(std::move(rows), holders);
}

}  // namespace baton
