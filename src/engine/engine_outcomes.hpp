#pragma once
// Small pieces LocalEngine's files share: an error outcome stamped with the time, and an
// idempotency request with its scope encoded as the idempotency family's key.
#include <optional>
#include <string>

#include "core/time.hpp"
#include "engine/task_engine.hpp"
#include "store/keys.hpp"

namespace baton {

inline Outcome error_outcome(ErrorCode code, int retry_after = 0) {
  Outcome outcome;
  outcome.error = code;
  outcome.retry_after_seconds = retry_after;
  outcome.now = wall_now_ms();
  return outcome;
}

inline std::optional<IdempotencyRequest> scoped(const std::string& account,
                                                const IdempotencyRequest* request) {
  if (!request) return std::nullopt;
  IdempotencyRequest copy = *request;
  copy.scope_key = keys::idempotency_key(account, copy.method, copy.path, copy.key);
  return copy;
}

}  // namespace baton
