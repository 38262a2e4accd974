#include "engine/local_engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "core/failures.hpp"
#include "engine/cross_shard.hpp"
#include "engine/engine_outcomes.hpp"
#include "engine/single_flight.hpp"
#include "engine/shard.hpp"
#include "engine/verification.hpp"
#include "store/backup.hpp"
#include "store/db.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"
#include "store/task_listing.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

namespace {

thread_local int tls_shard = -1;

// Lets the connection's shard call off a parked claim whose client went away.
class WaiterCancel final : public ClaimCancel {
 public:
  explicit WaiterCancel(std::shared_ptr<Waiter> waiter) : waiter_(std::move(waiter)) {}
  void cancel() override {
    if (waiter_->try_take()) waiter_->result.set(WaitResult::ended(WaitResult::Kind::cancelled));
  }

 private:
  std::shared_ptr<Waiter> waiter_;
};

std::uint64_t arrival_now() {
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

LocalEngine::LocalEngine(Db& db, const EngineOptions& options, int shard_count)
    : db_(db),
      options_(options),
      quota_([&db](const std::string& account, std::int64_t month) {
        std::int64_t created = 0;
        store::scan_usage(db, account, month_first_hour(month), month_first_hour(month + 1),
                          [&](const keys::UsageKey&, const UsageCounts& counts) {
                            created += counts.created;
                          });
        return created;
      }),
      spend_([&db](const std::string& account, std::int64_t month) {
        std::int64_t nanos = 0;
        store::scan_usage(db, account, month_first_hour(month), month_first_hour(month + 1),
                          [&](const keys::UsageKey&, const UsageCounts& counts) {
                            nanos += counts.cost.usd_nanos;
                          });
        return nanos;
      }) {
  for (int i = 0; i < shard_count; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, db, options, leases_, quota_, spend_));
  }
  for (auto& shard : shards_) {
    // On the finished task's shard, once its write is durable.
    shard->set_on_dependency_done([this, &context = shard->context()](
                                      const Ulid& dependent, const std::string& dependency,
                                      bool failed, std::int64_t finished_us) {
      asio::co_spawn(context, tell_dependent(dependent, dependency, failed, finished_us),
                     NoteFailure{"dependency notice"});
    });
    shard->set_on_verification(
        [this, &context = shard->context()](std::shared_ptr<const Task> task) {
          asio::co_spawn(
              context,
              [this, task = std::move(task)]() -> asio::awaitable<void> {
                co_await start_verification(*this, task);
              },
              NoteFailure{"verification"});
        },
        [this, &context = shard->context()](std::shared_ptr<const Task> verifier) {
          asio::co_spawn(context, report_verification(*this, std::move(verifier)),
                         NoteFailure{"verification"});
        });
  }
}

LocalEngine::~LocalEngine() { stop(); }

int LocalEngine::current_shard() { return tls_shard; }

asio::io_context& LocalEngine::context(int shard) { return shards_.at(shard)->context(); }

Shard& LocalEngine::queue_owner(const std::string& account, const std::string& type) {
  return *shards_[shard_of_vnode(vnode_of(account, type), shard_count())];
}

void LocalEngine::recover() {
  int count = shard_count();
  StorageStatus counted = store::count_queue_facts(db_);
  if (!counted.ok()) throw StorageError(counted.message);
  store::scan_queue_facts(db_, keys::kQueueFactsPrefix,
                          [&](const keys::QueueFactsKey& key, const QueueFacts& facts) {
                            if (facts.paused) queue_owner(key.account, key.type).restore_paused(key.account, key.type);
                          });
  store::scan_active(db_, [&](const keys::ActiveKey& key, const records::ActiveEntry& entry) {
    shards_[shard_of_vnode(ulid_vnode(key.id), count)]->restore(key, entry);
  });
  recover_schedules();
  store::scan_worker_stats(db_, [&](const std::string& key, const WorkerTypeStats& stats) {
    if (auto parts = keys::decode_worker_stats_key(key)) {
      queue_owner(parts->account, parts->type).restore_worker_stats(key, stats);
    }
  });
}

void LocalEngine::start() {
  for (auto& shard : shards_) {
    Shard* raw = shard.get();
    bool pin = options_.pin_shards;
    threads_.emplace_back([raw, pin] {
      tls_shard = raw->index();
      std::string name = "baton-shard-" + std::to_string(raw->index());
      pthread_setname_np(pthread_self(), name.c_str());
      if (pin) {
        // One shard per core: each stays on its core, with its caches warm.
        unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(static_cast<unsigned>(raw->index()) % cores, &set);
        pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      }
      auto guard = asio::make_work_guard(raw->context());
      asio::post(raw->context(), [raw] { raw->start(); });
      raw->context().run();
    });
  }
  for (auto& shard : shards_) {
    Shard* raw = shard.get();
    asio::post(raw->context(), [raw] { raw->catch_up_schedules(); });
  }
  asio::co_spawn(shards_.front()->context(), watch_storage(), NoteFailure{"storage watch"});
  if (retention_) {
    asio::co_spawn(shards_.front()->context(), keep_history_bounded(),
                   NoteFailure{"retention purge"});
  }
  rewatch_restored();
}

void LocalEngine::begin_shutdown() {
  for (auto& shard : shards_) {
    Shard* raw = shard.get();
    asio::post(raw->context(), [raw] { raw->shut_down(); });
  }
}

void LocalEngine::stop() {
  for (auto& shard : shards_) shard->context().stop();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  // A stopped loop seals nothing more, and requests whose answers were abandoned may
  // still have changes queued: write whatever is.
  for (auto& shard : shards_) shard->finish_commits();
}

asio::awaitable<Outcome> LocalEngine::create(CreateRequest request,
                                             const IdempotencyRequest* asked) {
  Shard& owner = queue_owner(request.account, request.type);
  std::optional<IdempotencyRequest> scope = scoped(request.account, asked);
  const IdempotencyRequest* idempotency = scope ? &*scope : nullptr;
  bool linked = !request.depends_on.empty() || !request.parent_task_id.empty();
  Outcome outcome = co_await single_flight(idempotency, [&]() -> asio::awaitable<Outcome> {
    if (linked) return create_linked(std::move(request), idempotency, owner);
    return on_shard(owner.context(), [&]() -> asio::awaitable<Outcome> {
      return owner.create(std::move(request), idempotency);
    });
  });
  outcome.affinity = owner.index();
  co_return outcome;
}


asio::awaitable<Outcome> LocalEngine::apply(std::string account, std::string task_id,
                                            Command command,
                                            const IdempotencyRequest* asked) {
  auto id = parse_task_id(task_id);
  if (!id) co_return error_outcome(ErrorCode::task_not_found);
  Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*id), shard_count())];
  std::optional<IdempotencyRequest> scope = scoped(account, asked);
  const IdempotencyRequest* idempotency = scope ? &*scope : nullptr;
  Outcome outcome = co_await single_flight(idempotency, [&]() -> asio::awaitable<Outcome> {
    return on_shard(owner.context(), [&]() -> asio::awaitable<Outcome> {
      return owner.apply(account, *id, std::move(command), idempotency);
    });
  });
  outcome.affinity = owner.index();
  co_return outcome;
}

asio::awaitable<ChainedOutcome> LocalEngine::apply_then_claim(
    std::string account, std::string task_id, Command command,
    const IdempotencyRequest* idempotency, ClaimRequest next) {
  auto id = parse_task_id(task_id);
  Shard* owner = id ? shards_[shard_of_vnode(ulid_vnode(*id), shard_count())].get() : nullptr;
  // Idempotent commands keep their single-flight path; typeless claims look across shards.
  if (!owner || idempotency || !next.type || next.account != account ||
      &queue_owner(next.account, *next.type) != owner) {
    co_return co_await TaskEngine::apply_then_claim(std::move(account), std::move(task_id),
                                                    std::move(command), idempotency,
                                                    std::move(next));
  }
  ChainedOutcome chained =
      co_await on_shard(owner->context(), [&]() -> asio::awaitable<ChainedOutcome> {
        return owner->apply_then_claim(account, *id, std::move(command), *next.type,
                                       next.claimant());
      });
  chained.done.affinity = owner->index();
  chained.next.affinity = owner->index();
  if (chained.claimed && chained.next.ok() && !chained.next.task && next.wait_ms > 0 &&
      current_shard() >= 0 && next.max_leases > 0 &&
      leases_.in_use(next.account) >= next.max_leases) {
    chained.next = error_outcome(ErrorCode::max_workers_reached);  // as claim_once
  } else if (chained.claimed && chained.next.ok() && !chained.next.task && next.wait_ms > 0 &&
             current_shard() >= 0) {
    chained.next = co_await park(next);
    chained.next.affinity = owner->index();
  }
  co_return chained;
}

asio::awaitable<Outcome> LocalEngine::get(std::string account, std::string task_id) {
  auto id = parse_task_id(task_id);
  if (!id) co_return error_outcome(ErrorCode::task_not_found);
  Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*id), shard_count())];
  Outcome outcome = co_await on_shard(owner.context(), [&]() -> asio::awaitable<Outcome> {
    return owner.get(account, *id);
  });
  outcome.affinity = owner.index();
  if (outcome.ok()) {
    TaskChildren children = store::read_children(db_, account, *id);
    if (children.count > 0) outcome.children = std::make_shared<const TaskChildren>(std::move(children));
  }
  co_return outcome;
}

asio::awaitable<Outcome> LocalEngine::claim_once(const ClaimRequest& request) {
  // At the limit, a claim is refused whether or not a task waits; below it, the shard
  // that claims takes the slot exactly (LeaseGate), so a race past this look still stops.
  if (request.max_leases > 0 && leases_.in_use(request.account) >= request.max_leases) {
    co_return error_outcome(ErrorCode::max_workers_reached);
  }
  if (request.type) {
    Shard& owner = queue_owner(request.account, *request.type);
    Outcome outcome = co_await on_shard(owner.context(), [&]() -> asio::awaitable<Outcome> {
      return owner.claim_best(request.account, request.type, request.claimant());
    });
    outcome.affinity = owner.index();  // a typed claim's queue has one home
    co_return outcome;
  }
  // Any type: the account's queues live on several shards; find the best head, claim there,
  // but only a task of at least the priority of the best head seen on any other shard (the
  // runner-up). Another claim may take the chosen shard's better tasks between the look
  // and the claim: then nothing is claimed and it looks again (each such miss means some
  // claim got a task, so this ends). The last look claims without the runner-up's floor,
  // so a claim never answers "nothing" while tasks wait.
  constexpr int kLooks = 16;
  for (int look = 0; look < kLooks; ++look) {
    Shard* best_shard = nullptr;
    std::optional<ReadyEntry> best, runner_up;
    for (auto& shard : shards_) {
      Shard& candidate = *shard;
      auto head = co_await on_shard(candidate.context(),
                                    [&]() -> asio::awaitable<std::optional<ReadyEntry>> {
                                      co_return candidate.peek_best(request.account,
                                                                    request.worker_id);
                                    });
      if (!head) continue;
      if (!best || *head < *best) {
        runner_up = best;
        best = head;
        best_shard = &candidate;
      } else if (!runner_up || *head < *runner_up) {
        runner_up = head;
      }
    }
    if (!best_shard) break;
    std::optional<int> floor;
    if (runner_up && look + 1 < kLooks) floor = runner_up->priority();
    Outcome outcome = co_await on_shard(best_shard->context(), [&]() -> asio::awaitable<Outcome> {
      std::optional<std::string> any_type;  // named: not a converted temporary (g++ 12)
      return best_shard->claim_best(request.account, any_type, request.claimant(), floor);
    });
    if (!outcome.ok() || outcome.task) co_return outcome;
  }
  co_return error_outcome(ErrorCode::none);
}

asio::awaitable<Outcome> LocalEngine::claim_next(ClaimRequest request) {
  Outcome outcome = co_await claim_once(request);
  if (outcome.ok() && !outcome.task && request.wait_ms > 0 && current_shard() >= 0) {
    int affinity = outcome.affinity;  // a typeless claim has none: served wherever the best is
    bool paused = outcome.queue_paused;
    outcome = co_await park(request);
    outcome.affinity = affinity;
    if (paused && outcome.ok() && !outcome.task) {
      // Waited out on a paused queue: say whether it still is.
      Shard& owner = queue_owner(request.account, *request.type);
      outcome.queue_paused = co_await on_shard(owner.context(), [&]() -> asio::awaitable<bool> {
        co_return owner.queue_paused(request.account, *request.type);
      });
    }
  }
  co_return outcome;
}


asio::awaitable<Outcome> LocalEngine::park(const ClaimRequest& request) {
  Shard& home = *shards_[current_shard()];
  auto waiter = std::make_shared<Waiter>();
  waiter->account = request.account;
  waiter->type = request.type;
  waiter->worker_id = request.worker_id;
  waiter->max_leases = request.max_leases;
  waiter->arrival = arrival_now();
  if (request.watch) {
    if (request.watch->client_gone) co_return error_outcome(ErrorCode::none);
    request.watch->cancel = std::make_shared<WaiterCancel>(waiter);
  }
  home.arm_deadline(*waiter, wall_now_ms() + request.wait_ms);

  std::vector<Shard*> hosts;
  if (request.type) {
    hosts.push_back(&queue_owner(request.account, *request.type));
  } else {
    for (auto& shard : shards_) hosts.push_back(shard.get());
  }
  for (Shard* host : hosts) asio::post(host->context(), [host, waiter] { host->register_waiter(waiter); });

  std::int64_t parked_us = wall_now_us();
  WaitResult result = co_await waiter->result.wait();
  claim_wait_us_.add(std::max<std::int64_t>(0, wall_now_us() - parked_us));
  home.disarm_deadline(*waiter);
  for (Shard* host : hosts) asio::post(host->context(), [host, waiter] { host->forget_waiter(waiter); });

  if (result.kind == WaitResult::Kind::served) {
    if (result.at_lease_limit) co_return error_outcome(ErrorCode::max_workers_reached);
    if (!result.task) co_return co_await claim_once(request);
    Shard& server = *shards_[result.shard];
    StorageStatus committed =
        co_await on_shard(server.context(), [&]() -> asio::awaitable<StorageStatus> {
          return server.wait_commit(result.generation);
        });
    if (!committed.ok()) co_return error_outcome(ErrorCode::unavailable);
    Outcome outcome;
    outcome.task = std::move(result.task);
    outcome.now = result.now;
    outcome.previous_claimed_by = std::move(result.previous_claimed_by);
    outcome.previous_lease_token = std::move(result.previous_lease_token);
    co_return outcome;
  }
  co_return error_outcome(ErrorCode::none);
}

asio::awaitable<ListPage> LocalEngine::list(ListRequest request) {
  ListPage page;
  store::ListQuery query;
  query.account = request.account;
  query.type = request.type;
  query.status = request.status;
  query.limit = request.limit;
  if (request.cursor) {
    query.before = parse_task_id(*request.cursor);
    if (!query.before) {
      page.error = ErrorCode::invalid_request;
      co_return page;
    }
  }
  store::ListResult result = store::list_tasks(db_, query);
  page.tasks = std::move(result.tasks);
  if (result.next_before) page.next_cursor = task_id_string(*result.next_before);
  co_return page;
}


EngineStats LocalEngine::stats() {
  EngineStats stats;
  stats.shards = shard_count();
  stats.storage_writable = db_.writable();
  if (!stats.storage_writable) stats.storage_error = db_.last_error();
  stats.storage_failures = db_.failures();
  stats.storage_recoveries = db_.recoveries();
  SpareWalStats spares = db_.wal_spare_stats();
  stats.wal_spares_used = spares.spares_used;
  stats.wal_spares_missed = spares.spares_missed;
  for (auto& shard : shards_) {
    stats.commit_writes += shard->committer().writes();
    stats.commit_ops += shard->committer().ops();
    CommitTiming timing = shard->committer().timing();
    stats.commit_wait_us += timing.wait_ns / 1000;
    stats.commit_write_us += timing.write_ns / 1000;
    stats.commit_back_to_shard_us += timing.back_to_shard_ns / 1000;
  }
  stats.purged = purged_.load(std::memory_order_relaxed);
  stats.releases = release_latency_.count();
  stats.release_p50_us = release_latency_.quantile(0.5);
  stats.release_p99_us = release_latency_.quantile(0.99);
  return stats;
}

std::int64_t LocalEngine::leases_in_use(const std::string& account) {
  return leases_.in_use(account);
}

std::vector<UsageRow> LocalEngine::usage(const std::string& account, std::int64_t from_hour,
                                         std::int64_t until_hour) {
  std::vector<UsageRow> rows;
  store::scan_usage(db_, account, from_hour, until_hour,
                    [&](const keys::UsageKey& key, const UsageCounts& counts) {
                      rows.push_back(UsageRow{key.hour, key.type, counts});
                    });
  return rows;
}

std::int64_t LocalEngine::created_this_month(const std::string& account) {
  return quota_.used(account, usage_month(wall_now_ms()));
}

std::int64_t LocalEngine::spent_this_month(const std::string& account) {
  return spend_.spent(account, usage_month(wall_now_ms()));
}

// The shards keep writing meanwhile: RocksDB's checkpoint needs no pause of them.
SnapshotOutcome LocalEngine::snapshot(const std::string& target) {
  return take_snapshot(db_, target);
}

}  // namespace baton
