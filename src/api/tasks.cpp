// Task operations (spec sections 4-6): validated input -> engine command -> answer.
#include <boost/json/serialize.hpp>

#include "api/body.hpp"
#include "api/commands.hpp"
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "http/message.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// An empty claim asks the agent to come back after this long (spec section 4).
constexpr int kEmptyClaimRetrySeconds = 5;

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
    default: return std::string(error_info(code).name);
  }
}

std::string render_list(const std::vector<Task>& tasks, const std::optional<std::string>& cursor) {
  std::string out = "{\"tasks\":[";
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (i) out.push_back(',');
    append_task(out, tasks[i], TaskView{});
  }
  out.append("],\"next_cursor\":");
  if (cursor) {
    append_json_string(out, *cursor);
  } else {
    out.append("null");
  }
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_list());
  out.push_back('}');
  return out;
}

// How a task operation's successful answer is rendered.
struct AnswerShape {
  int status = 200;
  ContractSite site = ContractSite::other;
  bool with_lease_token = false;
};

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

// The Idempotency-Key of this call (header first, then the body's field), checked.
// nullopt with `problem` empty: the call carries none.
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

// Runs one command on one task: the shared tail of claim by id, heartbeat, complete, fail,
// cancel and requeue. Callers pass a Command they made, never a temporary of one of its
// alternatives: g++ 12 destroys such a converted temporary twice when it is a coroutine's
// by-value argument.
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

// What a claim came to. `client_gone`: the client left while it was served, and whatever
// was claimed went back untouched.
struct Taken {
  Outcome outcome;
  bool client_gone = false;
};

// A long poll listens for the client leaving (or, over MCP, calling the claim off).
void watch_claim(Call& call, ClaimRequest& claim) {
  if (claim.wait_ms <= 0) return;
  // Shared with the disconnect watch, which may outlive the call's frame by a moment.
  claim.watch = std::make_shared<ClaimWatch>();
  call.connection.watch_disconnect([watch = claim.watch] { watch->on_client_gone(); });
  if (call.cancel) call.cancel->on_cancel = [watch = claim.watch] { watch->on_client_gone(); };
}

// A claim made for `call`: kept, or, when the client left (or called it off) meanwhile,
// given back untouched. A client that is gone never takes a task.
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

// Claims for `call` as claim_task.
asio::awaitable<Taken> take_task(Services& services, Call& call, ClaimRequest claim) {
  watch_claim(call, claim);
  Outcome outcome = co_await services.engine.claim_next(std::move(claim));
  co_return co_await keep_or_release(services, call, std::move(outcome));
}

// Complete and fail. With claim_next, once the call has succeeded (its new state
// durable), a claim as claim_task would make it, answered as `next`; a failed call claims
// nothing.
asio::awaitable<Result> apply_then_claim(Services& services, Call& call, Command command) {
  std::optional<ClaimRequest> claim = claim_next_request(call.input, call.account);
  if (!claim) {
    co_return co_await apply_command(services, call, std::move(command), AnswerShape{}, true);
  }
  std::string task_id = task_id_of(call);
  std::optional<Result> problem;
  std::optional<IdempotencyRequest> idempotency =
      idempotency_for(services, call, AnswerShape{}, problem);
  if (problem) co_return *problem;
  watch_claim(call, *claim);
  ChainedOutcome chained = co_await services.engine.apply_then_claim(
      call.account, task_id, std::move(command), idempotency ? &*idempotency : nullptr,
      std::move(*claim));
  Result result = from_outcome(call, chained.done, AnswerShape{}, task_id);
  if (!chained.claimed || result.status != 200) co_return result;
  Taken taken = co_await keep_or_release(services, call, std::move(chained.next));
  if (taken.client_gone) {
    Result gone;
    gone.client_gone = true;
    co_return gone;
  }
  const Outcome& outcome = taken.outcome;
  std::string next;
  if (!outcome.ok()) {
    // The call itself succeeded; only the claim did not: say so inside next.
    next = "{\"task\":null," +
           error_body(outcome.error, message_for(outcome.error), call.request_id, {},
                      outcome.retry_after_seconds)
               .substr(1);
  } else if (outcome.task) {
    next = task_body(*outcome.task, outcome.now, ContractSite::claim, TaskView{true});
    result.affinity = outcome.affinity;  // the next call is about this task
  } else {
    next = empty_claim_body(kEmptyClaimRetrySeconds);
  }
  result.body.pop_back();  // the closing brace of {"task": …, "agent_contract": …}
  result.body.append(",\"next\":").append(next).push_back('}');
  co_return result;
}

}  // namespace

asio::awaitable<Result> create_task(Services& services, Call& call) {
  Built<CreateRequest> built =
      create_request(call.input, services.limits, call.account, wall_now_ms());
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  CreateRequest create = std::move(std::get<CreateRequest>(built));
  const AnswerShape shape{201, ContractSite::other, false};
  std::optional<Result> problem;
  auto idempotency = idempotency_for(services, call, shape, problem);
  if (problem) co_return *problem;
  Outcome outcome =
      co_await services.engine.create(std::move(create), idempotency ? &*idempotency : nullptr);
  std::string task_id = outcome.ok() && outcome.task ? outcome.task->id : std::string();
  co_return from_outcome(call, outcome, shape, task_id);
}

asio::awaitable<Result> claim_task(Services& services, Call& call) {
  ClaimRequest claim = claim_request(call.input, call.account);
  Taken taken = co_await take_task(services, call, std::move(claim));
  if (taken.client_gone) {
    Result gone;
    gone.client_gone = true;
    co_return gone;
  }
  const Outcome& outcome = taken.outcome;
  if (outcome.ok() && !outcome.task) {
    Result empty = json_result(200, empty_claim_body(kEmptyClaimRetrySeconds));
    empty.affinity = outcome.affinity;
    co_return empty;
  }
  std::string task_id = outcome.task ? outcome.task->id : std::string();
  co_return from_outcome(call, outcome, AnswerShape{200, ContractSite::claim, true}, task_id);
}

asio::awaitable<Result> claim_task_by_id(Services& services, Call& call) {
  Command claim = claim_by_id_command(call.input);
  co_return co_await apply_command(services, call, std::move(claim),
                                   AnswerShape{200, ContractSite::claim, true}, false);
}

asio::awaitable<Result> heartbeat_task(Services& services, Call& call) {
  Built<HeartbeatCmd> built = heartbeat_command(call.input, services.config.leases.require_token);
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  Command heartbeat = std::move(std::get<HeartbeatCmd>(built));
  co_return co_await apply_command(services, call, std::move(heartbeat),
                                   AnswerShape{200, ContractSite::other, true}, false);
}

asio::awaitable<Result> complete_task(Services& services, Call& call) {
  Built<CompleteCmd> built =
      complete_command(call.input, services.limits, services.config.leases.require_token);
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  Command command = std::move(std::get<CompleteCmd>(built));
  co_return co_await apply_then_claim(services, call, std::move(command));
}

asio::awaitable<Result> fail_task(Services& services, Call& call) {
  Built<FailCmd> built = fail_command(call.input, services.config.leases.require_token);
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  Command command = std::move(std::get<FailCmd>(built));
  co_return co_await apply_then_claim(services, call, std::move(command));
}

asio::awaitable<Result> cancel_task(Services& services, Call& call) {
  Command cancel = CancelCmd{};
  co_return co_await apply_command(services, call, std::move(cancel), AnswerShape{}, true);
}

asio::awaitable<Result> requeue_task(Services& services, Call& call) {
  Command requeue = RequeueCmd{};
  co_return co_await apply_command(services, call, std::move(requeue), AnswerShape{}, true);
}

asio::awaitable<Result> get_task(Services& services, Call& call) {
  std::string task_id = task_id_of(call);
  Outcome outcome = co_await services.engine.get(call.account, task_id);
  co_return from_outcome(call, outcome, AnswerShape{}, task_id);
}

asio::awaitable<Result> list_tasks(Services& services, Call& call) {
  ListRequest list;
  list.account = call.account;
  if (auto status = call.input.string("status")) list.status = parse_task_status(*status);
  list.type = call.input.string("type");
  list.limit = static_cast<int>(call.input.integer("limit").value_or(20));
  if (auto cursor = call.input.string("cursor"); cursor && !cursor->empty()) list.cursor = cursor;
  ListPage page = co_await services.engine.list(std::move(list));
  if (page.error != ErrorCode::none) {
    co_return error_result(call, page.error, "cursor is not a cursor this server gave out.");
  }
  co_return json_result(200, render_list(page.tasks, page.next_cursor));
}

}  // namespace baton::api
