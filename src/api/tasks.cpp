// Task operations (spec sections 4-6): validated input -> engine command -> answer.
#include <boost/json/serialize.hpp>

#include "api/body.hpp"
#include "api/commands.hpp"
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"
#include "http/message.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

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

// Claims for `call` as claim_task.
asio::awaitable<Taken> take_task(Services& services, Call& call, ClaimRequest claim) {
  watch_claim(call, claim);
  Outcome outcome = co_await services.engine.claim_next(std::move(claim));
  co_return co_await keep_or_release(services, call, std::move(outcome));
}

// The claim a complete or fail with claim_next made, as the answer's `next`: the claimed
// task or null, or the error that stopped the claim (the call itself succeeded).
std::string next_of(const Call& call, const Outcome& outcome, const std::string& claimed_type) {
  if (!outcome.ok()) {
    return "{\"task\":null," +
           error_body(outcome.error, message_for(outcome.error), call.request_id, {},
                      outcome.retry_after_seconds)
               .substr(1);
  }
  if (outcome.task) {
    return task_body(*outcome.task, outcome.now, ContractSite::claim, TaskView{true});
  }
  if (outcome.queue_paused) return paused_claim_body(claimed_type, kPausedClaimRetrySeconds);
  return empty_claim_body(kEmptyClaimRetrySeconds);
}

void append_next(Result& result, const std::string& next) {
  result.body.pop_back();  // the closing brace of {"task": …, "agent_contract": …}
  result.body.append(",\"next\":").append(next).push_back('}');
}

Result client_gone() {
  Result gone;
  gone.client_gone = true;
  return gone;
}

// Complete and fail. With claim_next, once the call has succeeded (its new state
// durable), a claim as claim_task would make it, answered as `next`; a failed call claims
// nothing.
asio::awaitable<Result> apply_then_claim(Services& services, Call& call, Command command) {
  std::optional<ClaimRequest> claim = claim_next_request(call.input, call.account);
  if (claim) claim->max_leases = call.plan.workers;
  const std::string claimed_type = claim && claim->type ? *claim->type : std::string();
  if (!claim) {
    co_return co_await apply_command(services, call, std::move(command), AnswerShape{}, true);
  }
  if (call.cost_budget_usd_nanos > 0) {
    // The call's own cost report may pass the monthly budget: the claim is decided after
    // it, in a step of its own.
    Result result =
        co_await apply_command(services, call, std::move(command), AnswerShape{}, true);
    if (result.status != 200) co_return result;
    if (std::optional<Result> refused = month_budget_refusal(services, call)) {
      append_next(result, "{\"task\":null," + refused->body.substr(1));
      co_return result;
    }
    Taken taken = co_await take_task(services, call, std::move(*claim));
    if (taken.client_gone) co_return client_gone();
    if (taken.outcome.ok() && taken.outcome.task) result.affinity = taken.outcome.affinity;
    append_next(result, next_of(call, taken.outcome, claimed_type));
    co_return result;
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
  if (taken.client_gone) co_return client_gone();
  // The next call is about the claimed task.
  if (taken.outcome.ok() && taken.outcome.task) result.affinity = taken.outcome.affinity;
  append_next(result, next_of(call, taken.outcome, claimed_type));
  co_return result;
}

}  // namespace

asio::awaitable<Result> create_task(Services& services, Call& call) {
  Built<CreateRequest> built =
      create_request(call.input, services.limits, call.account, wall_now_ms());
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  CreateRequest create = std::move(std::get<CreateRequest>(built));
  create.monthly_quota = call.plan.tasks_per_month;
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
  if (std::optional<Result> refused = month_budget_refusal(services, call)) co_return *refused;
  ClaimRequest claim = claim_request(call.input, call.account);
  claim.max_leases = call.plan.workers;
  if (std::optional<int> count = claim_count(call.input)) {
    co_return co_await claim_batch(services, call, std::move(claim), *count);
  }
  const std::string claim_type = claim.type.value_or(std::string());
  Taken taken = co_await take_task(services, call, std::move(claim));
  if (taken.client_gone) co_return client_gone();
  const Outcome& outcome = taken.outcome;
  if (outcome.ok() && !outcome.task) {
    Result empty = json_result(200, outcome.queue_paused
                                        ? paused_claim_body(claim_type, kPausedClaimRetrySeconds)
                                        : empty_claim_body(kEmptyClaimRetrySeconds));
    empty.affinity = outcome.affinity;
    co_return empty;
  }
  std::string task_id = outcome.task ? outcome.task->id : std::string();
  co_return from_outcome(call, outcome, AnswerShape{200, ContractSite::claim, true}, task_id);
}

asio::awaitable<Result> claim_task_by_id(Services& services, Call& call) {
  if (std::optional<Result> refused = month_budget_refusal(services, call)) co_return *refused;
  Command claim = claim_by_id_command(call.input);
  std::get<ClaimCmd>(claim).max_leases = call.plan.workers;
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

asio::awaitable<Result> review_task(Services& services, Call& call) {
  Built<ReviewCmd> built = review_command(call.input);
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  Command review = std::move(std::get<ReviewCmd>(built));
  co_return co_await apply_command(services, call, std::move(review), AnswerShape{}, true);
}

asio::awaitable<Result> accept_task(Services& services, Call& call) {
  Command accept = AcceptCmd{};
  co_return co_await apply_command(services, call, std::move(accept), AnswerShape{}, true);
}

asio::awaitable<Result> rework_task(Services& services, Call& call) {
  Command rework = ReworkCmd{call.input.string("feedback").value_or("")};
  co_return co_await apply_command(services, call, std::move(rework), AnswerShape{}, true);
}

asio::awaitable<Result> get_task(Services& services, Call& call) {
  std::string task_id = task_id_of(call);
  Outcome outcome = co_await services.engine.get(call.account, task_id);
  Result result = from_outcome(call, outcome, AnswerShape{}, task_id);
  if (outcome.ok() && outcome.children) {
    result.body.pop_back();  // the closing brace of {"task": …, "agent_contract": …}
    append_children(result.body, *outcome.children, outcome.task->cost);
    result.body.push_back('}');
  }
  co_return result;
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
