#pragma once
// What the task operations share (tasks.cpp, batches.cpp): an engine outcome turned into
// an answer, the idempotency key a call carries, a command run on one task, and a claim
// kept or, when its client left, given back.
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

#include "api/commands.hpp"
#include "api/operation.hpp"
#include "core/contract.hpp"
#include "engine/task_engine.hpp"

namespace baton::api {

// An empty claim asks the agent to come back after this long (spec section 4).
inline constexpr int kEmptyClaimRetrySeconds = 5;
// A claim of a paused queue: pausing is an operator's act, undone in minutes, not seconds.
inline constexpr int kPausedClaimRetrySeconds = 30;

std::string message_for(ErrorCode code);

// How a task operation's successful answer is rendered.
struct AnswerShape {
  int status = 200;
  ContractSite site = ContractSite::other;
  bool with_lease_token = false;
};

Result from_outcome(const Call& call, const Outcome& outcome, AnswerShape shape,
                    const std::string& task_id);

// The Idempotency-Key of this call (header first, then the body's field), checked, its
// stored answer rendered as `shape` says. nullopt with `problem` empty: the call carries
// none.
std::optional<IdempotencyRequest> idempotency_for(Services& services, const Call& call,
                                                  AnswerShape shape,
                                                  std::optional<Result>& problem);

std::string task_id_of(const Call& call);

// Runs one command on one task: the shared tail of claim by id, heartbeat, complete, fail,
// cancel and requeue. Callers pass a Command they made, never a temporary of one of its
// alternatives: g++ 12 destroys such a converted temporary twice when it is a coroutine's
// by-value argument.
boost::asio::awaitable<Result> apply_command(Services& services, Call& call, Command command,
                                             AnswerShape shape, bool idempotent);

Result problem_result(const Call& call, const InputProblem& problem);

// What a claim came to. `client_gone`: the client left while it was served, and whatever
// was claimed went back untouched.
struct Taken {
  Outcome outcome;
  bool client_gone = false;
};

// A long poll listens for the client leaving (or, over MCP, calling the claim off).
void watch_claim(Call& call, ClaimRequest& claim);

// A claim made for `call`: kept, or, when the client left (or called it off) meanwhile,
// given back untouched. A client that is gone never takes a task.
boost::asio::awaitable<Taken> keep_or_release(Services& services, Call& call, Outcome outcome);

// claim_task with max_tasks (batches.cpp).
boost::asio::awaitable<Result> claim_batch(Services& services, Call& call, ClaimRequest claim,
                                           int max_tasks);

}  // namespace baton::api
