// The engine's view of its queues across shards: an account's queues (GET /v1/queues),
// pausing one on the shard that owns it, and what /metrics reads (histograms, storage
// figures, tasks by type across accounts).
#include <algorithm>
#include <map>

#include "engine/cross_shard.hpp"
#include "engine/local_engine.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace asio = boost::asio;

namespace baton {

asio::awaitable<std::vector<QueueStats>> LocalEngine::queues(std::string account) {
  std::vector<QueueStats> all;
  int count = shard_count();
  for (auto& shard : shards_) {
    Shard& owner = *shard;
    std::vector<QueueStats> part =
        co_await on_shard(owner.context(), [&]() -> asio::awaitable<std::vector<QueueStats>> {
          co_return owner.queue_stats(account, count);
        });
    for (QueueStats& stats : part) all.push_back(std::move(stats));
  }
  std::sort(all.begin(), all.end(),
            [](const QueueStats& a, const QueueStats& b) { return a.type < b.type; });
  co_return all;
}

asio::awaitable<QueueControlOutcome> LocalEngine::pause_queue(std::string account,
                                                              std::string type, bool paused) {
  Shard& owner = queue_owner(account, type);
  int count = shard_count();
  co_return co_await on_shard(owner.context(), [&]() -> asio::awaitable<QueueControlOutcome> {
    return owner.set_paused(account, type, paused, count);
  });
}

asio::awaitable<EngineMetrics> LocalEngine::metrics(int max_types) {
  EngineMetrics out;
  std::map<std::string, QueueStats> by_type;
  for (auto& shard : shards_) {
    Shard& owner = *shard;
    out.commit_write_us.merge(owner.committer().write_latency());
    out.commit_ops.merge(owner.committer().write_sizes());
    out.lease_expiry_lag_us.merge(owner.expiry_lag());
    out.shard_ready.push_back(owner.ready_depth());
    std::vector<QueueStats> part =
        co_await on_shard(owner.context(), [&]() -> asio::awaitable<std::vector<QueueStats>> {
          co_return owner.type_totals();
        });
    for (QueueStats& stats : part) add_counts(by_type[stats.type], stats);
  }
  out.claim_wait_us = claim_wait_us_.snapshot();
  // Dead letters as stored: a change not yet written shows within a commit round.
  store::scan_queue_facts(db_, keys::kQueueFactsPrefix,
                          [&](const keys::QueueFactsKey& key, const QueueFacts& facts) {
                            if (facts.dead_lettered > 0) by_type[key.type].dead_lettered += facts.dead_lettered;
                          });
  for (auto& [type, stats] : by_type) {
    stats.type = type;
    out.types.push_back(std::move(stats));
  }
  out.types = fold_types(std::move(out.types), max_types);
  out.storage = db_.figures();
  co_return out;
}

}  // namespace baton
