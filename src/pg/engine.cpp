// PgEngine's threads, long polls, the sweeper (lease expiry, expired idempotency keys,
// other nodes' changes to accounts) and the LISTEN connection. The operations on tasks
// are in engine_tasks.cpp, the plan's limits in engine_limits.cpp, and what is not
// offered on PostgreSQL yet in engine_unbuilt.cpp.
#include "pg/engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "core/failures.hpp"
#include "pg/blocking_session.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

thread_local PgEngine::Thread* current_thread = nullptr;

// Runs one step of a sweep; the first failure is kept for /health, and the next steps run.
asio::awaitable<void> sweep_step(asio::awaitable<void> step, std::string& failure) {
  try {
    co_await std::move(step);
  } catch (const std::exception& e) {
    if (failure.empty()) failure = e.what();
  }
}

asio::awaitable<void> sleep(asio::steady_timer& timer, std::chrono::milliseconds wait) {
  timer.expires_after(wait);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

}  // namespace

// A parked long poll's end of ClaimWatch: the client's disconnect stops the wait. Called on
// the claim's own thread.
struct WaiterCancel final : ClaimCancel {
  std::mutex* mutex = nullptr;         // PgEngine::waiting_mutex_, which guards `waiter`
  PgEngine::Waiter* waiter = nullptr;  // null once the claim is no longer parked
  void cancel() override {
    std::lock_guard lock(*mutex);
    if (!waiter) return;
    waiter->leaving = true;
    waiter->timer.cancel();
  }
};

std::function<void(std::exception_ptr)> log_exit(std::string_view where) {
  return [where](std::exception_ptr failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      note_failure(Failure::detached_coroutine, where, e.what());
    }
  };
}

std::vector<Result> require(std::vector<Result> results) {
  for (const Result& result : results) {
    if (!result.ok()) throw StorageError("postgres: " + result.error());
  }
  return results;
}

void require_updated(const Result& updated, const Task& task) {
  if (updated.sqlstate() == kNoRowChanged) {
    throw StorageError("postgres: task " + task.id + " is not stored as its record says");
  }
  if (!updated.ok()) throw StorageError("postgres: " + updated.error());
}

PgEngine::PgEngine(PgOptions options)
    : options_(std::move(options)),
      node_(random_hex_token("", 8)),
      counts_(std::make_unique<BlockingSession>(options_.url)) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    auto thread = std::make_unique<Thread>(i);
    thread->pool = std::make_unique<Pool>(thread->io, options_.url, task_statements(),
                                          options_.connections_per_thread);
    threads_.push_back(std::move(thread));
  }
}

PgEngine::~PgEngine() {
  stop();
  for (auto& thread : threads_) thread->pool->abandon();
}

asio::io_context& PgEngine::context(int thread) { return threads_[static_cast<std::size_t>(thread)]->io; }

void PgEngine::start() {
  for (auto& thread : threads_) {
    Thread* self = thread.get();
    self->thread = std::thread([self] {
      current_thread = self;
      self->io.run();
      current_thread = nullptr;
    });
  }
  asio::io_context& first = threads_.front()->io;
  asio::co_spawn(first, sweep(), log_exit("postgres sweeper"));
  if (options_.notify) asio::co_spawn(first, listen_ready(), log_exit("postgres LISTEN"));
  asio::co_spawn(first, follow_logs(), log_exit("postgres log streams"));
}

void PgEngine::begin_shutdown() {
  shutting_down_ = true;
  end_log_streams("shutting_down");
  std::lock_guard lock(waiting_mutex_);
  for (Waiter* waiter : waiting_) wake_waiter(waiter);
}

void PgEngine::stop() {
  shutting_down_ = true;
  for (auto& thread : threads_) {
    thread->work.reset();
    thread->io.stop();
  }
  for (auto& thread : threads_) {
    if (thread->thread.joinable()) thread->thread.join();
  }
}

PgEngine::Thread& PgEngine::here() {
  if (!current_thread) throw StorageError("postgres: an operation ran off the engine's threads");
  return *current_thread;
}

TransitionContext PgEngine::context_at(Thread& thread, Millis now) {
  TransitionContext context;
  context.now = now;
  context.backoff = options_.backoff;
  context.jitter = std::uniform_real_distribution<double>(0.5, 1.0)(thread.random);
  context.history_kept = options_.task_history_kept;
  return context;
}

asio::awaitable<Outcome> PgEngine::claim_next(ClaimRequest request) {
  Thread& thread = here();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request.wait_ms);
  std::uint64_t order = 0;
  std::int64_t parked_us = 0;  // when it first parked
  auto answered = [&](Outcome outcome) {
    if (parked_us > 0) claim_wait_us_.add(std::max<std::int64_t>(0, wall_now_us() - parked_us));
    return outcome;
  };
  for (;;) {
    std::uint64_t wakes_seen = 0;
    {
      std::lock_guard lock(waiting_mutex_);
      wakes_seen = wakes_of(request.account);
    }
    Outcome outcome = co_await try_claim(thread, request);
    if (outcome.task || !outcome.ok() || request.wait_ms <= 0) co_return answered(std::move(outcome));
    if (order == 0) {
      std::lock_guard lock(waiting_mutex_);
      order = ++parked_;
      parked_us = wall_now_us();
    }
    if (!co_await park(thread, request, deadline, order, wakes_seen)) {
      outcome.now = wall_now_ms();
      co_return answered(std::move(outcome));
    }
  }
}

asio::awaitable<bool> PgEngine::park(Thread& thread, const ClaimRequest& request,
                                     std::chrono::steady_clock::time_point deadline,
                                     std::uint64_t order, std::uint64_t wakes_seen) {
  auto now = std::chrono::steady_clock::now();
  if (shutting_down_ || now >= deadline || (request.watch && request.watch->client_gone)) {
    co_return false;
  }
  // A task that becomes due by time alone (scheduledAt, a retry's backoff) sends no
  // notification: the poll interval bounds how late a parked claim sees it.
  Waiter waiter(thread, request.account, request.type, order,
                std::min(deadline, now + std::chrono::milliseconds(options_.poll_interval_ms)));
  waiter.timer.expires_at(waiter.until);
  auto cancel = request.watch ? std::make_shared<WaiterCancel>() : nullptr;
  std::list<Waiter*>::iterator place;
  bool woken_meanwhile = false;
  {
    std::lock_guard lock(waiting_mutex_);
    // Woken while it looked (the task it missed may be the one that woke it): look again.
    woken_meanwhile = wakes_of(request.account) != wakes_seen;
    if (!woken_meanwhile) {
      place = std::find_if(waiting_.begin(), waiting_.end(),
                           [order](const Waiter* other) { return other->order > order; });
      place = waiting_.insert(place, &waiter);
      if (cancel) {
        cancel->mutex = &waiting_mutex_;
        cancel->waiter = &waiter;
      }
    }
  }
  if (woken_meanwhile) co_return true;
  if (cancel) request.watch->cancel = cancel;
  boost::system::error_code ignored;
  co_await waiter.timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  {
    std::lock_guard lock(waiting_mutex_);
    waiting_.erase(place);
    if (cancel) cancel->waiter = nullptr;
  }
  co_return !shutting_down_ && !(request.watch && request.watch->client_gone);
}

void PgEngine::wake(const std::string& account, const std::string& type, bool every) {
  std::lock_guard lock(waiting_mutex_);
  ++wakes_of(account);
  auto now = std::chrono::steady_clock::now();
  for (Waiter* waiter : waiting_) {
    // One whose client left or whose wait is over will not look again: pass it by.
    if (waiter->woken || waiter->leaving || waiter->until <= now || waiter->account != account ||
        (waiter->type && *waiter->type != type)) {
      continue;
    }
    waiter->woken = true;
    wake_waiter(waiter);
    if (!every) return;
  }
}

void PgEngine::wake_waiter(Waiter* waiter) {
  // Its timer is its thread's: cancelled there, if it is still parked by then (the same
  // place and order: it may have left, and another claim parked at that address).
  asio::post(waiter->home->io, [this, waiter, order = waiter->order] {
    std::lock_guard lock(waiting_mutex_);
    for (Waiter* parked : waiting_) {
      if (parked == waiter && parked->order == order) {
        parked->timer.cancel();
        return;
      }
    }
  });
}

std::string PgEngine::ready_notice(const std::string& account, const std::string& type) const {
  return ready_payload({node_, account, type});
}

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
    co_await sleep(timer, std::chrono::milliseconds(options_.sweep_interval_ms));
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

asio::awaitable<void> PgEngine::listen_ready() {
  Thread& thread = *threads_.front();
  asio::steady_timer timer(thread.io);
  while (!shutting_down_) {
    std::string error;
    std::unique_ptr<Connection> connection = Connection::open(thread.io, options_.url, {}, error);
    try {
      if (!connection) throw StorageError("postgres: " + error);
      require(co_await connection->exec("LISTEN " + std::string(kReadyChannel)));
      co_await connection->wait_notifications([this](std::string_view, std::string_view payload) {
        std::optional<ReadyNotice> ready = parse_ready_payload(payload);
        if (ready && ready->node != node_) wake(ready->account, ready->type, true);
      });
    } catch (const std::exception&) {
      // The sweeper reports the storage's state; parked claims look again every poll
      // interval meanwhile.
    }
    co_await sleep(timer, std::chrono::seconds(1));
  }
}

EngineStats PgEngine::stats() {
  EngineStats stats;
  stats.shards = threads();
  std::lock_guard lock(storage_mutex_);
  stats.storage_writable = storage_writable_;
  stats.storage_error = storage_error_;
  stats.storage_failures = storage_failures_;
  stats.storage_recoveries = storage_recoveries_;
  stats.purged = purged_.load(std::memory_order_relaxed);
  return stats;
}

void PgEngine::set_retention(RetentionPolicy policy) { retention_ = std::move(policy); }

}  // namespace baton::pg
