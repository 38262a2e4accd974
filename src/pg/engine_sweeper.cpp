// PgEngine's sweeper, on the first thread of every node: expired leases and acceptance
// gates of every node, other nodes' changes to accounts, what a dead node left (links
// not told, verifications not started), the usage and roster folds, expired idempotency
// keys and the retention purge; and commit(), which times each write transaction.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "core/failures.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

// Runs one step of a sweep; the first failure is kept for /health, and the next steps run.
asio::awaitable<void> sweep_step(asio::awaitable<void> step, std::string& failure) {
  try {
    co_await std::move(step);
  } catch (const std::exception& e) {
    if (failure.empty()) failure = e.what();
  }
}

}  // namespace

asio::awaitable<void> PgEngine::sweep() {
  Thread& thread = *threads_.front();
  asio::steady_timer timer(thread.io);
  Millis last_purge = wall_now_ms();
  // Dependencies whose dependents were not told, and verifications not started or not
  // reported, are looked for at start and then every kLinksEvery sweeps: they are left
  // only by a node that died at that moment.
  constexpr std::uint64_t kLinksEvery = 50;
  // Usage and roster rows are folded every second: a read sums a few rows per group.
  constexpr std::uint64_t kFoldEvery = 10;
  for (std::uint64_t sweeps = 0; !shutting_down_; ++sweeps) {
    // Each on its own: a failure of one (a lease's row that does not decode) must not
    // stop the others (other nodes' revocations reaching this node's caches).
    std::string failure;
    co_await sweep_step(check_accounts(thread), failure);
    co_await sweep_step(sweep_deadlines(thread, "expired_leases"), failure);
    co_await sweep_step(sweep_deadlines(thread, "expired_gates"), failure);
    if (sweeps % kLinksEvery == 0) {
      co_await sweep_step(tell_unfinished_links(thread), failure);
      spawn_alone(thread, resuming_gates_, resume_gates(thread, sweeps == 0),
                  "postgres verification recovery");
    }
    if (sweeps % kFoldEvery == 0) {
      co_await sweep_step(fold_usage(thread, wall_now_ms()), failure);
      co_await sweep_step(fold_workers(thread), failure);
    }
    if (Millis now = wall_now_ms();
        now - last_purge >= static_cast<Millis>(options_.purge_interval_seconds) * 1000) {
      co_await sweep_step(purge_idempotency(thread, now), failure);
      spawn_alone(thread, purging_, purge_history(thread), "postgres retention purge");
      last_purge = now;
    }
    storage_reached(failure.empty(), failure);
    co_await wait_for(timer, std::chrono::milliseconds(options_.sweep_interval_ms));
  }
}

asio::awaitable<std::vector<Result>> PgEngine::commit(Connection& connection, std::vector<Step> steps,
                                                      int changes) {
  std::int64_t start = wall_now_us();
  std::vector<Result> results = co_await connection.pipeline(std::move(steps));
  // A sweep that found nothing commits nothing: not a write.
  if (changes > 0 && !results.empty() && results.back().ok()) {
    commit_us_.add(wall_now_us() - start);
    commit_changes_.add(changes);
  }
  co_return results;
}

void PgEngine::spawn_alone(Thread& thread, bool& running, asio::awaitable<void> step,
                           std::string_view where) {
  if (running) return;
  running = true;
  asio::co_spawn(thread.io, std::move(step),
                 [&running, log = log_exit(where)](std::exception_ptr failure) {
                   running = false;
                   log(failure);
                 });
}

asio::awaitable<void> PgEngine::sweep_deadlines(Thread& thread, const char* statement) {
  constexpr int kBatch = 100;
  for (bool more = true; more;) {
    std::vector<std::pair<std::string, std::string>> ready;
    {
      Lease connection = co_await thread.pool->acquire();
      Millis now = wall_now_ms();
      Params batch = Params().integer(now).integer(kBatch);
      std::vector<Step> opening{Step{"BEGIN"}, Step{statement, &batch}};
      std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
      const Result& expired = opened.back();
      // The changes go out together with COMMIT; their parameters stay where they are.
      std::vector<Params> params;
      params.reserve(4 * static_cast<std::size_t>(expired.rows()));
      std::vector<Step> writes;
      std::vector<Task> written, before;
      std::vector<int> written_by;  // per step: the index in `written` of the task it updates, or -1
      std::vector<std::pair<std::size_t, std::size_t>> finished_steps;  // dependents_of's step, its task
      for (int row = 0; row < expired.rows(); ++row) {
        std::optional<Task> task;
        try {
          task = task_of(expired, row);
        } catch (const StorageError& undecodable) {
          // A record this release cannot read (a newer node's, during an upgrade): that
          // node expires it; the others go on.
          note_failure(Failure::expiry_write, "postgres sweeper", undecodable.what());
          continue;
        }
        // A lease's end, or an acceptance gate's timeout.
        Command expire = ExpireLeaseCmd{};
        if (task->status == TaskStatus::awaiting_acceptance) expire = AcceptanceTimeoutCmd{};
        Transition next = baton::apply(*task, expire, context_at(thread, now));
        if (!next.ok() || next.unchanged) continue;

        writes.push_back(Step{"update_task", &params.emplace_back(update_params(next.task))});
        written_by.push_back(static_cast<int>(written.size()));
        if (Params usage; usage_params(usage, &*task, next.task, now)) {
          writes.push_back(Step{"add_usage", &params.emplace_back(std::move(usage))});
          written_by.push_back(-1);
        }
        if (Params worker; worker_params(worker, &*task, next.task, now)) {
          writes.push_back(Step{"add_worker", &params.emplace_back(std::move(worker))});
          written_by.push_back(-1);
        }
        if (next.task.status == TaskStatus::pending) {
          ready.emplace_back(next.task.account_id, next.task.type);
          if (options_.notify) {
            Params& notice = params.emplace_back(
                Params().text(ready_notice(next.task.account_id, next.task.type)));
            writes.push_back(Step{"notify_ready", &notice});
            written_by.push_back(-1);
          }
        }
        if (is_terminal(next.task.status)) {
          // Out of attempts, or past its gate: its dependents are told.
          finished_steps.emplace_back(writes.size(), written.size());
          writes.push_back(Step{"dependents_of", &params.emplace_back(Params().text(next.task.id))});
          written_by.push_back(-1);
        }
        written.push_back(std::move(next.task));
        before.push_back(std::move(*task));
      }
      writes.push_back(Step{"COMMIT"});
      std::vector<Result> results =
          co_await commit(*connection, std::move(writes), static_cast<int>(written.size()));
      for (std::size_t i = 0; i < results.size(); ++i) {
        int task = i < written_by.size() ? written_by[i] : -1;
        if (task >= 0) {
          require_updated(results[i], written[static_cast<std::size_t>(task)]);
        } else if (!results[i].ok()) {
          throw StorageError("postgres: " + results[i].error());
        }
      }
      for (const auto& [step, task] : finished_steps) {
        tell_later(thread, dependents_told(written[task], results[step]));
      }
      for (std::size_t i = 0; i < written.size(); ++i) {
        if (before[i].status == TaskStatus::claimed) {
          expiry_lag_us_.add(std::max<std::int64_t>(0, wall_now_us() - before[i].lease_expires_at * 1000));
        }
        after_change(thread, &before[i], written[i]);
      }
      // A full batch that changed nothing would come back the same: stop there.
      more = expired.rows() == kBatch && !written.empty();
    }
    for (const auto& [account, type] : ready) wake(account, type);
  }
}

asio::awaitable<void> PgEngine::purge_idempotency(Thread& thread, Millis now) {
  Lease connection = co_await thread.pool->acquire();
  require(co_await connection->run("purge_idempotency", Params().integer(now)));
}

asio::awaitable<void> PgEngine::check_accounts(Thread& thread) {
  Lease connection = co_await thread.pool->acquire();
  Result revision = require(co_await connection->run("accounts_revision", Params()));
  std::int64_t seen = revision.rows() == 0 ? 0 : revision.integer(0, 0);
  // The first read counts as a change: keys may have been cached, and revoked elsewhere,
  // before it.
  if (seen != accounts_revision_ && options_.accounts_changed) options_.accounts_changed();
  accounts_revision_ = seen;
}

void PgEngine::storage_reached(bool reached, const std::string& error) {
  bool changed = false;
  {
    std::lock_guard lock(storage_mutex_);
    changed = reached != storage_writable_;
    if (changed && reached) ++storage_recoveries_;
    if (changed && !reached) ++storage_failures_;
    storage_writable_ = reached;
    if (!reached && changed) storage_error_ = error;
  }
  // Once per change, not once per sweep.
  if (changed && !reached) note_failure(Failure::storage_answer, "postgres sweeper", error);
}

}  // namespace baton::pg
