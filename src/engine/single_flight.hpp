#pragma once
// LocalEngine::single_flight, defined where every file that calls it sees it: an
// idempotent operation runs at most once at a time per key, its stored answer replayed.
#include <boost/asio/awaitable.hpp>

#include <exception>

#include "engine/cross_shard.hpp"
#include "engine/engine_outcomes.hpp"
#include "engine/local_engine.hpp"
#include "engine/routing.hpp"
#include "engine/shard.hpp"

namespace baton {

template <typename Operation>
boost::asio::awaitable<Outcome> LocalEngine::single_flight(const IdempotencyRequest* idempotency,
                                                    Operation operation) {
  if (!idempotency) co_return co_await operation();
  Shard& home = *shards_[shard_of_key(idempotency->scope_key, shard_count())];
  auto check = co_await on_shard(home.context(), [&]() -> boost::asio::awaitable<Shard::IdempotencyCheck> {
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
  co_await on_shard(home.context(), [&]() -> boost::asio::awaitable<void> {
    home.end_idempotent(*idempotency);
    co_return;
  });
  if (failure) std::rethrow_exception(failure);
  co_return outcome;
}

}  // namespace baton
