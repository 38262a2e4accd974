// PgEngine's threads, long polls and the LISTEN connection. The sweeper is in
// engine_sweeper.cpp, the operations on tasks in engine_tasks.cpp, the plan's limits in
// engine_limits.cpp, and the schedules' loop in engine_schedules.cpp.
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


}  // namespace

asio::awaitable<void> wait_for(asio::steady_timer& timer, std::chrono::milliseconds wait) {
  timer.expires_after(wait);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

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
  asio::co_spawn(first, run_schedules(), log_exit("postgres schedules"));
}

void PgEngine::begin_shutdown() {
  shutting_down_ = true;
  end_log_streams("shutting_down");
  schedules_changed();  // the schedules loop sees the shutdown now
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

asio::awaitable<void> PgEngine::listen_ready() {
  Thread& thread = *threads_.front();
  asio::steady_timer timer(thread.io);
  while (!shutting_down_) {
    std::string error;
    std::span<const Statement> none;
    std::unique_ptr<Connection> connection = co_await Connection::connect(thread.io, options_.url, none, error);
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
    co_await wait_for(timer, std::chrono::seconds(1));
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

// A snapshot is RocksDB's (POST /v1/admin/backup): nothing of this engine's lives on the node.
SnapshotOutcome PgEngine::snapshot(const std::string&) {
  SnapshotOutcome outcome;
  outcome.failure = SnapshotFailure::failed;
  outcome.reason = "storage.engine: postgres keeps no data of its own to copy: back the database "
                   "up with PostgreSQL's tools (pg_dump, pg_basebackup)";
  return outcome;
}

}  // namespace baton::pg
