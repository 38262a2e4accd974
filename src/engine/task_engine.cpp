#include "engine/task_engine.hpp"

namespace baton {

IdempotencyRequest item_idempotency(const IdempotencyRequest& batch, std::size_t index) {
  IdempotencyRequest item = batch;
  item.key.push_back('\x1f');
  item.key += std::to_string(index);
  item.scope_key.clear();
  return item;
}

boost::asio::awaitable<BatchOutcome> TaskEngine::create_batch(
    std::vector<CreateRequest> requests, const IdempotencyRequest* idempotency) {
  BatchOutcome batch;
  batch.now = wall_now_ms();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::optional<IdempotencyRequest> item;
    if (idempotency) item = item_idempotency(*idempotency, i);
    Outcome outcome = co_await create(std::move(requests[i]), item ? &*item : nullptr);
    if (!outcome.ok()) {
      batch.error = outcome.error;
      batch.retry_after_seconds = outcome.retry_after_seconds;
      co_return batch;
    }
    batch.items.push_back(std::move(outcome));
  }
  co_return batch;
}

boost::asio::awaitable<BatchOutcome> TaskEngine::claim_batch(ClaimRequest request,
                                                             int max_tasks) {
  BatchOutcome batch;
  batch.now = wall_now_ms();
  for (int i = 0; i < max_tasks; ++i) {
    Outcome outcome = co_await claim_next(request);
    batch.affinity = outcome.affinity;
    if (!outcome.ok()) {
      // What was claimed stays claimed and is answered; an error with nothing claimed is
      // the answer.
      if (batch.items.empty()) {
        batch.error = outcome.error;
        batch.retry_after_seconds = outcome.retry_after_seconds;
      }
      break;
    }
    if (!outcome.task) {
      if (batch.items.empty()) batch.queue_paused = outcome.queue_paused;
      break;
    }
    batch.items.push_back(std::move(outcome));
    request.wait_ms = 0;  // the long poll ends at the first task
  }
  co_return batch;
}

boost::asio::awaitable<ChainedOutcome> TaskEngine::apply_then_claim(
    std::string account, std::string task_id, Command command,
    const IdempotencyRequest* idempotency, ClaimRequest next) {
  ChainedOutcome chained;
  chained.done = co_await apply(std::move(account), std::move(task_id), std::move(command),
                                idempotency);
  if (!succeeded(chained.done)) co_return chained;
  chained.claimed = true;
  chained.next = co_await claim_next(std::move(next));
  co_return chained;
}

}  // namespace baton
