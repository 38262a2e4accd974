// A shard's operations (spec sections 4-6): create, a command on a task, a command with
// the claim that follows it, reads, and claims. Each decides on the shard's state with
// the pure state machine, hands its writes to group commit, and answers once they are
// durable. shard.cpp keeps that state (records, indexes, timers) and its commits.
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "core/lifecycle_history.hpp"
#include "engine/linked_create.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"

namespace baton {

namespace asio = boost::asio;

namespace {

// The answer when the write a decision waited for failed: storage is unavailable.
Outcome unavailable_at(Millis now) {
  Outcome failed;
  failed.error = ErrorCode::unavailable;
  failed.now = now;
  return failed;
}

}  // namespace

asio::awaitable<StorageStatus> Shard::wait_commit(std::uint64_t generation) {
  co_return co_await committer_.wait(generation);
}

asio::awaitable<Outcome> Shard::finish(Outcome outcome, std::uint64_t generation) {
  StorageStatus committed = co_await committer_.wait(generation);
  if (!committed.ok()) co_return unavailable_at(outcome.now);
  co_return outcome;
}

std::uint64_t Shard::decide_create(CreateRequest request, const IdempotencyRequest* idempotency,
                                   Outcome& outcome) {
  std::int64_t micros = wall_now_us();
  outcome.now = micros / 1000;
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    return 0;
  }
  // Counted once its decision is certain: nothing below refuses a create.
  if (!request.quota_taken &&
      !quota_.try_take(request.account, usage_month(outcome.now), request.monthly_quota)) {
    outcome.error = ErrorCode::quota_exceeded;
    return 0;
  }
  Task task;
  task.account_id = std::move(request.account);
  task.type = std::move(request.type);
  int vnode = vnode_of(task.account_id, task.type);
  Ulid id = ulids_.next(outcome.now, vnode, static_cast<int>(micros % 1000));
  task.id = task_id_string(id);
  task.payload_json = std::move(request.payload_json);
  task.priority = request.priority;
  task.max_attempts = request.max_attempts;
  task.lease_duration_seconds = request.lease_duration_seconds;
  task.scheduled_at = request.scheduled_at;
  task.created_at = task.updated_at = outcome.now;
  task.review_required = request.review_required;
  task.budget_usd_nanos = request.budget_usd_nanos;
  task.definition_of_done = std::move(request.definition_of_done);
  task.verification_type = std::move(request.verification_type);
  task.auto_accept = request.auto_accept;
  task.acceptance_timeout_seconds = request.acceptance_timeout_seconds;
  task.accept_on_timeout = request.accept_on_timeout;
  task.verifies_task_id = std::move(request.verifies_task_id);
  task.verifies_attempt = request.verifies_attempt;
  Millis until = request.assign_timeout_seconds > 0
                     ? outcome.now + static_cast<Millis>(request.assign_timeout_seconds) * 1000
                     : 0;
  if (!request.assign_to.empty()) {
    task.assign_to = std::move(request.assign_to);
    task.assigned_until = until;
  } else if (request.assign_best) {
    if (std::optional<std::string> best = best_worker(task.account_id, task.type, outcome.now)) {
      task.assign_to = std::move(*best);
      task.assigned_until = until;
    }
  }
  start_linked(task, request);
  record_creation(task, outcome.now);
  outcome.task = share(std::move(task));
  return commit_transition(nullptr, outcome.task, id, idempotency, outcome.now, outcome);
}

asio::awaitable<Outcome> Shard::create(CreateRequest request,
                                       const IdempotencyRequest* idempotency) {
  Outcome outcome;
  std::uint64_t generation = decide_create(std::move(request), idempotency, outcome);
  if (generation == 0) co_return outcome;
  co_return co_await finish(std::move(outcome), generation);
}

asio::awaitable<std::vector<Outcome>> Shard::create_all(
    std::vector<CreateRequest> requests, std::vector<const IdempotencyRequest*> idempotency) {
  std::vector<Outcome> outcomes(requests.size());
  std::uint64_t generation = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    Outcome& outcome = outcomes[i];
    if (idempotency[i]) {
      // The batch's own key is held single-flight by the caller, so a stored item is one
      // an earlier attempt made durable: answer it again.
      IdempotencyCheck stored = stored_response(*idempotency[i]);
      if (stored.kind == IdempotencyCheck::Kind::replay) {
        outcome.now = wall_now_ms();
        outcome.status = stored.status;
        outcome.body = std::move(stored.body);
        continue;
      }
      if (stored.kind == IdempotencyCheck::Kind::conflict) {
        outcome.error = ErrorCode::idempotency_conflict;
        continue;
      }
    }
    generation = std::max(generation, decide_create(std::move(requests[i]), idempotency[i], outcome));
  }
  if (generation == 0) co_return outcomes;
  StorageStatus committed = co_await committer_.wait(generation);
  if (!committed.ok()) {
    for (Outcome& outcome : outcomes) {
      if (outcome.ok()) outcome = unavailable_at(outcome.now);
    }
  }
  co_return outcomes;
}

std::uint64_t Shard::decide(const std::string& account, const Ulid& id, Command& command,
                            const IdempotencyRequest* idempotency, Outcome& outcome) {
  outcome.now = wall_now_ms();
  std::shared_ptr<const Task> task = load(id);
  if (!task || (!account.empty() && task->account_id != account)) {
    outcome.error = ErrorCode::task_not_found;
    return 0;
  }
  bool took_lease = false;
  if (auto* claim = std::get_if<ClaimCmd>(&command)) {
    claim->new_lease_token = random_hex_token("lse_", 16);
    // Only a claim that can succeed meets the limit: one of a task not claimable gets
    // the error that says why.
    if (is_claimable_by(*task, claim->worker_id, outcome.now)) {
      if (!take_lease(task->account_id, claim->max_leases)) {
        outcome.error = ErrorCode::max_workers_reached;
        return 0;
      }
      took_lease = true;
    }
  }
  Transition transition = baton::apply(*task, command, context_at(outcome.now));
  if (took_lease && (!transition.ok() || transition.unchanged || !db_.writable())) {
    end_lease(task->account_id);
  }
  if (!transition.ok()) {
    outcome.error = transition.error;
    outcome.retry_after_seconds = transition.retry_after_seconds;
    outcome.task = share(std::move(transition.task));
    return 0;
  }
  if (transition.unchanged) {
    outcome.task = share(std::move(transition.task));
    // A safe retry (complete again) answers what an earlier request decided. While that
    // decision is still being committed, answering now would acknowledge a change a crash
    // can still lose: answer once it is durable, as the earlier request will be.
    auto dirty = dirty_.find(id);
    return dirty != dirty_.end() ? dirty->second.generation : 0;
  }
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    return 0;
  }
  outcome.task = share(std::move(transition.task));
  return commit_transition(task.get(), outcome.task, id, idempotency, outcome.now, outcome);
}

asio::awaitable<Outcome> Shard::apply(std::string account, Ulid id, Command command,
                                      const IdempotencyRequest* idempotency) {
  Outcome outcome;
  std::uint64_t generation = decide(account, id, command, idempotency, outcome);
  if (generation == 0) co_return outcome;
  co_return co_await finish(std::move(outcome), generation);
}

asio::awaitable<ChainedOutcome> Shard::apply_then_claim(std::string account, Ulid id,
                                                        Command command, std::string type,
                                                        Claimant claimant) {
  ChainedOutcome chained;
  std::uint64_t generation = decide(account, id, command, nullptr, chained.done);
  if (!succeeded(chained.done)) co_return chained;
  chained.claimed = true;
  Outcome& next = chained.next;
  next.now = chained.done.now;
  std::uint64_t claim_generation = 0;
  if (!db_.writable()) {
    next.error = ErrorCode::unavailable;
  } else if (ready_.paused(account, type)) {
    next.queue_paused = true;
  } else if (ReadyQueues::Queue* queue = queue_for(account, type, claimant.worker_id)) {
    claim_generation = claim_into(next, *queue, claimant);
  }
  // The command's answer stands on its own write: a claim whose write fails after it
  // leaves the command acknowledged, with the failure in `next`.
  if (generation != 0) {
    StorageStatus committed = co_await committer_.wait(generation);
    if (!committed.ok()) {
      chained.done = unavailable_at(chained.done.now);
      chained.claimed = false;
      chained.next = Outcome{};
      co_return chained;
    }
  }
  if (claim_generation != 0) {
    StorageStatus committed = co_await committer_.wait(claim_generation);
    if (!committed.ok()) chained.next = unavailable_at(next.now);
  }
  co_return chained;
}

asio::awaitable<Outcome> Shard::get(std::string account, Ulid id) {
  Outcome outcome;
  outcome.now = wall_now_ms();
  std::shared_ptr<const Task> task = load(id);
  if (!task || task->account_id != account) {
    outcome.error = ErrorCode::task_not_found;
  } else {
    outcome.task = std::move(task);
  }
  co_return outcome;
}

asio::awaitable<Outcome> Shard::get_durable(std::string account, Ulid id) {
  Outcome outcome = co_await get(std::move(account), id);
  if (!outcome.ok()) co_return outcome;
  if (auto dirty = dirty_.find(id); dirty != dirty_.end()) {
    co_return co_await finish(std::move(outcome), dirty->second.generation);
  }
  co_return outcome;
}

bool Shard::take_lease(const std::string& account, std::int64_t max_leases) {
  if (!leases_.try_take(account, max_leases)) return false;
  ++leases_held_[account];
  return true;
}

void Shard::end_lease(const std::string& account) {
  leases_.give_back(account);
  auto held = leases_held_.find(account);
  if (held != leases_held_.end() && --held->second <= 0) leases_held_.erase(held);
}

Shard::Claimed Shard::claim_from(ReadyQueues::Queue& queue, const Claimant& claimant, Millis now,
                                 std::optional<int> min_priority) {
  const std::string& worker_id = claimant.worker_id;
  for (;;) {
    // Entries rank best first: once the head's priority is too low, so is the rest's.
    if (min_priority && !queue.entries.empty() &&
        queue.entries.begin()->priority() < *min_priority) {
      return {};
    }
    auto entry = ready_.pop_best(queue);
    if (!entry) break;
    std::shared_ptr<const Task> task = load(entry->id);
    if (!task) continue;  // stale entry: skip it
    if (!is_claimable_by(*task, worker_id, now)) {
      // Pending but not due: it became ready by a clock that has since stepped back; or
      // in a queue its assignment no longer matches. Put it back where it belongs rather
      // than dropping it.
      if (task->status == TaskStatus::pending) reindex(nullptr, *task, entry->id);
      continue;
    }
    if (!take_lease(task->account_id, claimant.max_leases)) {
      ready_.push(queue, *entry);  // still the queue's best, for a claim under the limit
      Claimed refused;
      refused.at_lease_limit = true;
      return refused;
    }
    ClaimCmd claim{worker_id, random_hex_token("lse_", 16)};
    Transition transition = baton::apply(*task, claim, context_at(now));
    if (!transition.ok()) {
      end_lease(task->account_id);
      continue;
    }
    Outcome unused;
    Claimed claimed;
    claimed.task = share(std::move(transition.task));
    claimed.generation =
        commit_transition(task.get(), claimed.task, entry->id, nullptr, now, unused, true);
    claimed.previous = std::move(task);
    return claimed;
  }
  return {};
}

std::uint64_t Shard::claim_into(Outcome& outcome, ReadyQueues::Queue& queue,
                                const Claimant& claimant, std::optional<int> min_priority) {
  Claimed claimed = claim_from(queue, claimant, outcome.now, min_priority);
  if (claimed.at_lease_limit) outcome.error = ErrorCode::max_workers_reached;
  if (!claimed.task) return 0;
  outcome.task = std::move(claimed.task);
  outcome.previous_claimed_by = claimed.previous->claimed_by;
  outcome.previous_lease_token = claimed.previous->lease_token;
  return claimed.generation;
}

asio::awaitable<Outcome> Shard::claim_best(std::string account, std::optional<std::string> type,
                                           Claimant claimant,
                                           std::optional<int> min_priority) {
  const std::string& worker_id = claimant.worker_id;
  Outcome outcome;
  outcome.now = wall_now_ms();
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  if (type && ready_.paused(account, *type)) {
    outcome.queue_paused = true;
    co_return outcome;
  }
  ReadyQueues::Queue* queue = type ? queue_for(account, *type, worker_id)
                                    : ready_.best_queue_of_account(account, worker_id);
  if (!queue) co_return outcome;
  std::uint64_t generation = claim_into(outcome, *queue, claimant, min_priority);
  if (!outcome.task) co_return outcome;
  co_return co_await finish(std::move(outcome), generation);
}

asio::awaitable<std::vector<Outcome>> Shard::claim_several(std::string account, std::string type,
                                                           Claimant claimant, int count) {
  std::vector<Outcome> outcomes;
  Millis now = wall_now_ms();
  if (!db_.writable()) {
    outcomes.push_back(unavailable_at(now));
    co_return outcomes;
  }
  std::uint64_t generation = 0;
  while (db_.writable() && static_cast<int>(outcomes.size()) < count) {
    ReadyQueues::Queue* queue = queue_for(account, type, claimant.worker_id);
    if (!queue) break;
    Outcome outcome;
    outcome.now = now;
    std::uint64_t claimed = claim_into(outcome, *queue, claimant);
    if (!outcome.ok() && outcomes.empty()) outcomes.push_back(std::move(outcome));
    if (!outcome.task) break;
    generation = std::max(generation, claimed);
    outcomes.push_back(std::move(outcome));
    // A queue emptied by these claims may be released at the next tick, not sooner.
  }
  if (generation == 0) co_return outcomes;
  StorageStatus committed = co_await committer_.wait(generation);
  if (!committed.ok()) {
    outcomes.assign(1, unavailable_at(now));
  }
  co_return outcomes;
}

ReadyQueues::Queue* Shard::queue_for(const std::string& account, const std::string& type,
                                     const std::string& worker) {
  if (ready_.paused(account, type)) return nullptr;
  ReadyQueues::Queue* own = ready_.find(account, type);
  ReadyQueues::Queue* pinned = worker.empty() ? nullptr : ready_.find(account, pinned_type(type, worker));
  if (!pinned || pinned->entries.empty()) return own;
  if (!own || own->entries.empty()) return pinned;
  return *pinned->entries.begin() < *own->entries.begin() ? pinned : own;
}

std::optional<ReadyEntry> Shard::peek_best(const std::string& account, const std::string& worker) {
  ReadyQueues::Queue* queue = ready_.best_queue_of_account(account, worker);
  if (!queue) return std::nullopt;
  return *queue->entries.begin();
}

}  // namespace baton
