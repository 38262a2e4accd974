// The retention purge's schedule: every account with a retention, every shard, a bounded
// batch at a time, so that requests keep being served between batches.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/failures.hpp"
#include "engine/cross_shard.hpp"
#include "engine/local_engine.hpp"
#include "engine/shard.hpp"
#include "store/accounts.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<void> LocalEngine::keep_history_bounded() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(options_.purge_interval_seconds));
    auto [error] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    if (!db_.writable()) continue;
    // A storage fault ends this round (noted for /health), never the purge.
    try {
      co_await purge_round();
    } catch (const std::exception& failure) {
      note_failure(Failure::storage_answer, "retention purge", failure.what());
    }
  }
}

asio::awaitable<void> LocalEngine::purge_round() {
  const int count = shard_count();
  const int batch = options_.purge_batch;
  for (const std::string& account : store::account_ids(db_)) {
    Millis keep = retention_(account);
    if (keep <= 0) continue;
    Millis cutoff = wall_now_ms() - keep;
    for (auto& shard : shards_) {
      Shard* owner = shard.get();
      for (TaskStatus status :
           {TaskStatus::completed, TaskStatus::dead_letter, TaskStatus::cancelled}) {
        // Each step resumes after the last task the one before looked at, so a task that
        // must stay (ended after the cutoff, requeued) is looked at once per round.
        std::optional<Ulid> after;
        for (;;) {
          Shard::PurgeStep step = co_await on_shard(
              owner->context(), [&]() -> asio::awaitable<Shard::PurgeStep> {
                return owner->purge(account, status, cutoff, after, batch, count);
              });
          purged_.fetch_add(static_cast<std::uint64_t>(step.purged), std::memory_order_relaxed);
          if (step.done || !db_.writable()) break;
          after = step.last;
        }
      }
    }
  }
}

}  // namespace baton
