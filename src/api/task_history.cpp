// GET /v1/tasks/{task_id}/history: the events of a task's history (core/task_history.hpp),
// oldest first, with the task's contract.
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"

namespace baton::api {

namespace {

void append_event(std::string& out, const TaskEvent& event) {
  out.append("{\"at\":\"").append(format_rfc3339(event.at)).append("\",\"event\":\"");
  out.append(to_string(event.kind)).append("\",\"from\":");
  if (event.kind == TaskEventKind::create_task) {
    out.append("null");
  } else {
    out.append("\"").append(to_string(event.from)).append("\"");
  }
  out.append(",\"to\":\"").append(to_string(event.to)).append("\"");
  out.append(",\"attempt\":").append(std::to_string(event.attempt));
  out.append(",\"worker_id\":");
  append_json_string_or_null(out, event.worker);
  out.append(",\"detail\":");
  append_json_string_or_null(out, event.detail);
  out.push_back('}');
}

}  // namespace

boost::asio::awaitable<Result> get_task_history(Services& services, Call& call) {
  std::string task_id = task_id_of(call);
  Outcome outcome = co_await services.engine.get(call.account, task_id);
  if (!outcome.ok()) co_return from_outcome(call, outcome, AnswerShape{}, task_id);
  const Task& task = *outcome.task;
  std::string out = "{\"task_id\":";
  append_json_string(out, task.id);
  out.append(",\"status\":\"").append(to_string(task.status)).append("\",\"events\":[");
  for (std::size_t i = 0; i < task.history.events.size(); ++i) {
    if (i) out.push_back(',');
    append_event(out, task.history.events[i]);
  }
  out.append("],\"dropped\":").append(std::to_string(task.history.dropped));
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_task(task, outcome.now, ContractSite::other));
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

}  // namespace baton::api
