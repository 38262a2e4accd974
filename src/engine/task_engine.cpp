#include "engine/task_engine.hpp"

namespace baton {

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
