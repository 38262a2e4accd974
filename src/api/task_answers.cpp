#include "api/task_answers.hpp"

#include "api/body.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "http/message.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

std::string message_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::task_not_found: return "No task with this id exists for this account.";
    case ErrorCode::invalid_transition: return "The task's state does not allow this operation.";
    case ErrorCode::lease_expired:
      return "This lease is no longer valid: it expired, or the task was claimed again.";
    case ErrorCode::task_cancelled: return "The task was cancelled; stop working on it.";
    case ErrorCode::task_currently_claimed: return "Another worker holds this task's lease.";
    case ErrorCode::not_yet_claimable: return "The task is scheduled for later.";
    case ErrorCode::idempotency_conflict:
      return "This Idempotency-Key was used with a different request body.";
    case ErrorCode::idempotency_in_flight:
      return "A request with this Idempotency-Key is still being processed.";
    case ErrorCode::unavailable: return "Storage is unavailable or the server is shutting down.";
    case ErrorCode::task_assigned:
      return "The task is assigned to another worker (assignTo); only it may claim the task "
             "until assignedUntil.";
    case ErrorCode::dependency_not_found:
      return "depends_on or parent_task_id names a task that does not exist in this account.";
    default: return std::string(error_info(code).name);
  }
}

Result from_outcome(const Call& call, const Outcome& outcome, AnswerShape shape,
                    const std::string& task_id) {
  Result result;
  if (outcome.status != 0) {  // rendered by the engine: a stored or replayed answer
    result.status = outcome.status;
    result.body = outcome.body;
  } else if (!outcome.ok()) {
    result = error_result(call, outcome.error, message_for(outcome.error), task_id,
                          outcome.retry_after_seconds);
  } else {
    result.status = shape.status;
    result.body = task_body(*outcome.task, outcome.now, shape.site,
                            TaskView{shape.with_lease_token});
  }
  result.affinity = outcome.affinity;
  return result;
}

std::optional<IdempotencyRequest> idempotency_for(Services& services, const Call& call,
                                                  AnswerShape shape, std::optional<Result>& problem) {
  std::optional<std::string> key = call.idempotency_header;
  if (!key) key = call.input.string("idempotencyKey", "idempotency_key");
  if (!key) return std::nullopt;
  if (std::string bad = check_idempotency_key(*key, services.limits); !bad.empty()) {
    problem = error_result(call, ErrorCode::invalid_request, bad);
    return std::nullopt;
  }
  IdempotencyRequest idempotency;
  idempotency.method = call.method;
  idempotency.path = call.path;
  idempotency.key = std::move(*key);
  json::object body = call.input.values();
  // Path fields are part of the scope (the path), not of the body: an MCP call carries
  // them as arguments, an HTTP call in the path, and the two must hash alike.
  for (const FieldSpec& field : call.operation.fields) {
    if (field.in == FieldIn::path) {
      body.erase(field.name);
      if (!field.alias.empty()) body.erase(field.alias);
    }
  }
  idempotency.request_hash = canonical_body_hash(body);
  idempotency.success_status = shape.status;
  idempotency.ttl_seconds = services.config.idempotency.ttl_seconds;
  idempotency.render = [shape](const Task& task, Millis now) {
    return task_body(task, now, shape.site, TaskView{shape.with_lease_token});
  };
  return idempotency;
}

std::string task_id_of(const Call& call) { return call.input.string("task_id", "taskId").value_or(""); }

asio::awaitable<Result> apply_command(Services& services, Call& call, Command command,
                                      AnswerShape shape, bool idempotent) {
  std::string task_id = task_id_of(call);
  std::optional<IdempotencyRequest> idempotency;
  if (idempotent) {
    std::optional<Result> problem;
    idempotency = idempotency_for(services, call, shape, problem);
    if (problem) co_return *problem;
  }
  Outcome outcome = co_await services.engine.apply(call.account, task_id, std::move(command),
                                                   idempotency ? &*idempotency : nullptr);
  co_return from_outcome(call, outcome, shape, task_id);
}

Result problem_result(const Call& call, const InputProblem& problem) {
  return error_result(call, problem.code, problem.message);
}

void watch_claim(Call& call, ClaimRequest& claim) {
  if (claim.wait_ms <= 0) return;
  // Shared with the disconnect watch, which may outlive the call's frame by a moment.
  claim.watch = std::make_shared<ClaimWatch>();
  call.connection.watch_disconnect([watch = claim.watch] { watch->on_client_gone(); });
  if (call.cancel) call.cancel->on_cancel = [watch = claim.watch] { watch->on_client_gone(); };
}

asio::awaitable<Taken> keep_or_release(Services& services, Call& call, Outcome outcome) {
  Taken taken;
  bool cancelled = call.cancel && call.cancel->cancelled;
  if (outcome.ok() && outcome.task && (call.connection.disconnected() || cancelled)) {
    Command release = ReleaseCmd{outcome.task->lease_token, outcome.previous_claimed_by,
                                 outcome.previous_lease_token};
    co_await services.engine.apply(call.account, outcome.task->id, std::move(release), nullptr);
    // Called off over MCP: an empty claim. Disconnected: nothing to send.
    taken.client_gone = call.connection.disconnected();
    co_return taken;
  }
  taken.outcome = std::move(outcome);
  co_return taken;
}

}  // namespace baton::api
