// Batches (workflow, docs/workflows.md): many tasks created in one call, and a claim of
// several at once. Each item is answered exactly as its single operation answers it.
#include <boost/json/parse.hpp>

#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"
#include "http/message.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// The id inside a stored single-create answer (a replayed item of an idempotent batch).
std::string stored_task_id(const std::string& body) {
  boost::system::error_code error;
  json::value answer = json::parse(body, error);
  if (error || !answer.is_object()) return {};
  const json::value* task = answer.get_object().if_contains("task");
  if (!task || !task->is_object()) return {};
  const json::value* id = task->get_object().if_contains("id");
  return id && id->is_string() ? std::string(id->get_string()) : std::string();
}

}  // namespace

asio::awaitable<Result> create_tasks(Services& services, Call& call) {
  Built<std::vector<CreateRequest>> built =
      create_batch_request(call.input, services.limits, call.account, wall_now_ms());
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  const AnswerShape shape{201, ContractSite::other, false};
  std::optional<Result> problem;
  // Each item's stored answer is its single create's (TaskEngine::create_batch).
  auto idempotency = idempotency_for(services, call, shape, problem);
  if (problem) co_return *problem;
  std::vector<CreateRequest> creates = std::move(std::get<std::vector<CreateRequest>>(built));
  for (CreateRequest& create : creates) create.monthly_quota = call.plan.tasks_per_month;
  BatchOutcome batch = co_await services.engine.create_batch(std::move(creates),
                                                             idempotency ? &*idempotency : nullptr);
  if (!batch.ok()) {
    co_return error_result(call, batch.error, message_for(batch.error), {},
                           batch.retry_after_seconds);
  }
  std::string tasks = "{\"tasks\":[";
  std::string ids = "],\"taskIds\":[";
  for (std::size_t i = 0; i < batch.items.size(); ++i) {
    const Outcome& item = batch.items[i];
    if (i) {
      tasks.push_back(',');
      ids.push_back(',');
    }
    if (item.status != 0) {  // stored by an earlier attempt of this batch
      tasks.append(item.body);
      append_json_string(ids, stored_task_id(item.body));
    } else {
      tasks.append(task_body(*item.task, item.now, shape.site, TaskView{}));
      append_json_string(ids, item.task->id);
    }
  }
  tasks.append(ids).append("],\"agent_contract\":");
  append_contract(tasks, contract_for_list());
  tasks.push_back('}');
  co_return json_result(201, std::move(tasks));
}

asio::awaitable<Result> claim_batch(Services& services, Call& call, ClaimRequest claim,
                                    int max_tasks) {
  watch_claim(call, claim);
  const std::optional<std::string> claim_type = claim.type;
  BatchOutcome batch = co_await services.engine.claim_batch(std::move(claim), max_tasks);
  if (!batch.ok()) {
    co_return error_result(call, batch.error, message_for(batch.error), {},
                           batch.retry_after_seconds);
  }
  std::vector<Outcome> kept;
  bool client_gone = false;
  for (Outcome& item : batch.items) {
    Taken taken = co_await keep_or_release(services, call, std::move(item));
    client_gone = client_gone || taken.client_gone;
    if (taken.outcome.task) kept.push_back(std::move(taken.outcome));
  }
  if (client_gone) {
    Result gone;
    gone.client_gone = true;
    co_return gone;
  }
  std::string out = "{\"tasks\":[";
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (i) out.push_back(',');
    out.append(task_body(*kept[i].task, kept[i].now, ContractSite::claim, TaskView{true}));
  }
  out.append("],\"agent_contract\":");
  if (!kept.empty()) {
    append_contract(out, contract_for_claimed_batch());
  } else if (batch.queue_paused && claim_type) {
    append_contract(out, contract_for_paused_queue(*claim_type, kPausedClaimRetrySeconds));
  } else {
    append_contract(out, contract_for_empty_claim(kEmptyClaimRetrySeconds));
  }
  out.push_back('}');
  Result result = json_result(200, std::move(out));
  result.affinity = batch.affinity;
  co_return result;
}

}  // namespace baton::api
