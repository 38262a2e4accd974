#include "engine/local_engine.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <pthread.h>

#include <chrono>

#include "core/failures.hpp"
#include "engine/cross_shard.hpp"
#include "engine/shard.hpp"
#include "store/backup.hpp"
#include "store/db.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

namespace {

thread_local int tls_shard = -1;

Outcome error_outcome(ErrorCode code, int retry_after = 0) {
  Outcome outcome;
  outcome.error = code;
  outcome.retry_after_seconds = retry_after;
  outcome.now = wall_now_ms();
  return outcome;
}

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

// The request with its scope encoded as the idempotency family's key (store/keys).
std::optional<IdempotencyRequest> scoped(const std::string& account,
                                         const IdempotencyRequest* request) {
  if (!request) return std::nullopt;
  IdempotencyRequest copy = *request;
  copy.scope_key = keys::idempotency_key(account, copy.method, copy.path, copy.key);
  return copy;
}

std::uint64_t arrival_now() {
  return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

LocalEngine::LocalEngine(Db& db, const EngineOptions& options, int shard_count)
    : db_(db), options_(options) {
  for (int i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<Shard>(i, db, options));
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
                co_await start_verification(task);
              },
              NoteFailure{"verification"});
        },
        [this, &context = shard->context()](std::shared_ptr<const Task> verifier) {
          asio::co_spawn(context, report_verification(std::move(verifier)),
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
  store::scan_active(db_, [&](const keys::ActiveKey& key, const records::ActiveEntry& entry) {
    shards_[shard_of_vnode(ulid_vnode(key.id), count)]->restore(key, entry);
  });
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
  asio::co_spawn(shards_.front()->context(), watch_storage(), NoteFailure{"storage watch"});
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

template <typename Operation>
asio::awaitable<Outcome> LocalEngine::single_flight(const IdempotencyRequest* idempotency,
                                                    Operation operation) {
  if (!idempotency) co_return co_await operation();
  Shard& home = *shards_[shard_of_key(idempotency->scope_key, shard_count())];
  auto check = co_await on_shard(home.context(), [&]() -> asio::awaitable<Shard::IdempotencyCheck> {
    co_return home.begin_idempotent(*idempotency);
  });
  using Kind = Shard::IdempotencyCheck::Kind;
  if (check.kind == Kind::replay) {
    Outcome replay;
    replay.status = check.status;
    replay.body = std::move(check.body);
    replay.now = wall_now_ms();
    co_return replay;
  }
  if (check.kind == Kind::conflict) co_return error_outcome(ErrorCode::idempotency_conflict);
  if (check.kind == Kind::in_flight) co_return error_outcome(ErrorCode::idempotency_in_flight, 2);
  Outcome outcome;
  std::exception_ptr failure;
  try {
    outcome = co_await operation();
  } catch (...) {
    failure = std::current_exception();
  }
  co_await on_shard(home.context(), [&]() -> asio::awaitable<void> {
    home.end_idempotent(*idempotency);
    co_return;
  });
  if (failure) std::rethrow_exception(failure);
  co_return outcome;
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

asio::awaitable<BatchOutcome> LocalEngine::create_batch(std::vector<CreateRequest> requests,
                                                       const IdempotencyRequest* asked) {
  BatchOutcome batch;
  batch.now = wall_now_ms();
  if (requests.empty()) co_return batch;
  for (const CreateRequest& request : requests) {
    // Linked items are checked and watched one by one, as single creates.
    if (!request.depends_on.empty() || !request.parent_task_id.empty()) {
      co_return co_await TaskEngine::create_batch(std::move(requests), asked);
    }
  }
  const std::string account = requests.front().account;
  std::optional<IdempotencyRequest> scope = scoped(account, asked);
  const IdempotencyRequest* idempotency = scope ? &*scope : nullptr;
  std::vector<IdempotencyRequest> item_keys;
  if (asked) {
    item_keys.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      IdempotencyRequest item = item_idempotency(*asked, i);
      item_keys.push_back(*scoped(account, &item));
    }
  }
  // The items each shard owns, in request order.
  std::vector<std::vector<std::size_t>> owned(shards_.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    owned[queue_owner(requests[i].account, requests[i].type).index()].push_back(i);
  }
  std::vector<asio::io_context*> contexts;
  std::vector<Shard*> owners;
  for (auto& shard : shards_) {
    if (owned[shard->index()].empty()) continue;
    contexts.push_back(&shard->context());
    owners.push_back(shard.get());
  }
  batch.items.resize(requests.size());
  Outcome held = co_await single_flight(idempotency, [&]() -> asio::awaitable<Outcome> {
    // The same key with another body: refused before anything is created.
    Millis now = wall_now_ms();
    for (const IdempotencyRequest& item : item_keys) {
      auto bytes = db_.get(Cf::idempotency, item.scope_key);
      auto stored = bytes ? records::decode_response(*bytes) : std::nullopt;
      if (stored && stored->expires_at > now && stored->request_hash != item.request_hash) {
        co_return error_outcome(ErrorCode::idempotency_conflict);
      }
    }
    auto per_shard = co_await on_shards(
        contexts, [&](std::size_t k) -> asio::awaitable<std::vector<Outcome>> {
          Shard& owner = *owners[k];
          std::vector<CreateRequest> mine;
          std::vector<const IdempotencyRequest*> keys;
          for (std::size_t i : owned[owner.index()]) {
            mine.push_back(std::move(requests[i]));
            keys.push_back(item_keys.empty() ? nullptr : &item_keys[i]);
          }
          return owner.create_all(std::move(mine), std::move(keys));
        });
    for (std::size_t k = 0; k < owners.size(); ++k) {
      const std::vector<std::size_t>& items = owned[owners[k]->index()];
      for (std::size_t j = 0; j < items.size(); ++j) batch.items[items[j]] = std::move(per_shard[k][j]);
    }
    co_return Outcome{};
  });
  if (!held.ok()) {
    batch.error = held.error;
    batch.retry_after_seconds = held.retry_after_seconds;
    batch.items.clear();
    co_return batch;
  }
  for (const Outcome& item : batch.items) {
    if (!item.ok()) {
      batch.error = item.error;
      batch.retry_after_seconds = item.retry_after_seconds;
      batch.items.clear();
      break;
    }
  }
  co_return batch;
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
                                       next.worker_id);
      });
  chained.done.affinity = owner->index();
  chained.next.affinity = owner->index();
  if (chained.claimed && chained.next.ok() && !chained.next.task && next.wait_ms > 0 &&
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
  if (request.type) {
    Shard& owner = queue_owner(request.account, *request.type);
    Outcome outcome = co_await on_shard(owner.context(), [&]() -> asio::awaitable<Outcome> {
      return owner.claim_best(request.account, request.type, request.worker_id);
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
      return best_shard->claim_best(request.account, std::nullopt, request.worker_id, floor);
    });
    if (!outcome.ok() || outcome.task) co_return outcome;
  }
  co_return error_outcome(ErrorCode::none);
}

asio::awaitable<Outcome> LocalEngine::claim_next(ClaimRequest request) {
  Outcome outcome = co_await claim_once(request);
  if (outcome.ok() && !outcome.task && request.wait_ms > 0 && current_shard() >= 0) {
    int affinity = outcome.affinity;  // a typeless claim has none: served wherever the best is
    outcome = co_await park(request);
    outcome.affinity = affinity;
  }
  co_return outcome;
}

asio::awaitable<BatchOutcome> LocalEngine::claim_batch(ClaimRequest request, int max_tasks) {
  if (!request.type || max_tasks <= 1) {
    co_return co_await TaskEngine::claim_batch(std::move(request), max_tasks);
  }
  BatchOutcome batch;
  batch.now = wall_now_ms();
  Shard& owner = queue_owner(request.account, *request.type);
  batch.affinity = owner.index();
  auto take = [&](int count) {
    return on_shard(owner.context(), [&, count]() -> asio::awaitable<std::vector<Outcome>> {
      return owner.claim_several(request.account, *request.type, request.worker_id, count);
    });
  };
  std::vector<Outcome> taken = co_await take(max_tasks);
  if (taken.empty() && request.wait_ms > 0 && current_shard() >= 0) {
    // Parked: the first task to arrive ends the wait; whatever else is claimable by then
    // comes with it.
    Outcome first = co_await park(request);
    if (first.ok() && first.task) {
      taken.push_back(std::move(first));
      std::vector<Outcome> more = co_await take(max_tasks - 1);
      if (!more.empty() && more.front().ok()) {
        for (Outcome& outcome : more) taken.push_back(std::move(outcome));
      }
    } else if (!first.ok()) {
      taken.push_back(std::move(first));
    }
  }
  if (!taken.empty() && !taken.front().ok()) {
    batch.error = taken.front().error;
    co_return batch;
  }
  batch.items = std::move(taken);
  co_return batch;
}

asio::awaitable<Outcome> LocalEngine::park(const ClaimRequest& request) {
  Shard& home = *shards_[current_shard()];
  auto waiter = std::make_shared<Waiter>();
  waiter->account = request.account;
  waiter->type = request.type;
  waiter->worker_id = request.worker_id;
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

  WaitResult result = co_await waiter->result.wait();
  home.disarm_deadline(*waiter);
  for (Shard* host : hosts) asio::post(host->context(), [host, waiter] { host->forget_waiter(waiter); });

  if (result.kind == WaitResult::Kind::served) {
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
  stats.releases = release_latency_.count();
  stats.release_p50_us = release_latency_.quantile(0.5);
  stats.release_p99_us = release_latency_.quantile(0.99);
  return stats;
}

// The shards keep writing meanwhile: RocksDB's checkpoint needs no pause of them.
SnapshotOutcome LocalEngine::snapshot(const std::string& target) {
  return take_snapshot(db_, target);
}

}  // namespace baton
