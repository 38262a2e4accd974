// LocalEngine's batches: a batch create written shard by shard in parallel, and a typed
// batch claim taken in one turn and one write on its queue's shard.
#include <boost/asio/use_awaitable.hpp>

#include "engine/cross_shard.hpp"
#include "engine/engine_outcomes.hpp"
#include "engine/local_engine.hpp"
#include "engine/single_flight.hpp"
#include "engine/routing.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/records.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<BatchOutcome> LocalEngine::create_batch(std::vector<CreateRequest> requests,
                                                       const IdempotencyRequest* asked) {
  BatchOutcome batch;
  batch.now = wall_now_ms();
  if (requests.empty()) co_return batch;
  const std::string account = requests.front().account;
  const std::int64_t month = usage_month(batch.now);
  auto batch_error = [&](ErrorCode code) {
    batch.error = code;
    return batch;
  };
  // Whether an earlier attempt made item `item` durably (its stored answer is live).
  auto stored_item = [&](const IdempotencyRequest& item) {
    std::optional<IdempotencyRequest> scope = scoped(account, &item);
    auto bytes = db_.get(Cf::idempotency, scope->scope_key);
    auto stored = bytes ? records::decode_response(*bytes) : std::nullopt;
    return stored && stored->expires_at > batch.now;
  };
  for (const CreateRequest& request : requests) {
    // Linked items are checked and watched one by one, as single creates; the quota is
    // still taken for the whole batch first, and what was not created given back.
    if (!request.depends_on.empty() || !request.parent_task_id.empty()) {
      std::int64_t fresh = 0;
      for (std::size_t i = 0; i < requests.size(); ++i) {
        if (!asked || !stored_item(item_idempotency(*asked, i))) ++fresh;
      }
      if (!db_.writable()) co_return batch_error(ErrorCode::unavailable);
      if (!quota_.try_take(account, month, requests.front().monthly_quota, fresh)) {
        co_return batch_error(ErrorCode::quota_exceeded);
      }
      for (CreateRequest& item : requests) item.quota_taken = true;
      std::size_t asked_for = requests.size();
      BatchOutcome linked = co_await TaskEngine::create_batch(std::move(requests), asked);
      if (!linked.ok()) {
        std::int64_t made = static_cast<std::int64_t>(linked.items.size());
        std::int64_t unmade = static_cast<std::int64_t>(asked_for) - made;
        quota_.give_back(account, month, std::clamp<std::int64_t>(unmade, 0, fresh));
      }
      co_return linked;
    }
  }
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
    std::int64_t fresh = static_cast<std::int64_t>(requests.size());
    for (const IdempotencyRequest& item : item_keys) {
      auto bytes = db_.get(Cf::idempotency, item.scope_key);
      auto stored = bytes ? records::decode_response(*bytes) : std::nullopt;
      if (stored && stored->expires_at > now && stored->request_hash != item.request_hash) {
        co_return error_outcome(ErrorCode::idempotency_conflict);
      }
      if (stored && stored->expires_at > now) --fresh;  // made by an earlier attempt
    }
    // The quota: all the items not made yet, or none (the batch's key is held, so no other
    // attempt makes them meanwhile). Items refused below are given back.
    if (!db_.writable()) co_return error_outcome(ErrorCode::unavailable);
    if (!quota_.try_take(account, month, requests.front().monthly_quota, fresh)) {
      co_return error_outcome(ErrorCode::quota_exceeded);
    }
    for (CreateRequest& request : requests) request.quota_taken = true;
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
  std::int64_t refused = 0;
  for (const Outcome& item : batch.items) {
    if (item.ok()) continue;
    ++refused;
    if (batch.error == ErrorCode::none) {
      batch.error = item.error;
      batch.retry_after_seconds = item.retry_after_seconds;
    }
  }
  if (refused > 0) {
    quota_.give_back(account, month, refused);
    batch.items.clear();
  }
  co_return batch;
}


asio::awaitable<BatchOutcome> LocalEngine::claim_batch(ClaimRequest request, int max_tasks) {
  if (!request.type || max_tasks <= 1) {
    co_return co_await TaskEngine::claim_batch(std::move(request), max_tasks);
  }
  BatchOutcome batch;
  batch.now = wall_now_ms();
  Shard& owner = queue_owner(request.account, *request.type);
  batch.affinity = owner.index();
  if (request.max_leases > 0 && leases_.in_use(request.account) >= request.max_leases) {
    batch.error = ErrorCode::max_workers_reached;  // as claim_once: refused at the limit
    co_return batch;
  }
  auto take = [&](int count) {
    return on_shard(owner.context(), [&, count]() -> asio::awaitable<std::vector<Outcome>> {
      return owner.claim_several(request.account, *request.type, request.claimant(), count);
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
  if (taken.empty()) {
    batch.queue_paused = co_await on_shard(owner.context(), [&]() -> asio::awaitable<bool> {
      co_return owner.queue_paused(request.account, *request.type);
    });
  }
  batch.items = std::move(taken);
  co_return batch;
}


}  // namespace baton
