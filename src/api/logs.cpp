// Task logs (seed 004's LogEntry): the lease holder appends lines, anyone with the
// account's key reads them, page by page (docs/api.md "Task logs").
#include "api/commands.hpp"
#include "api/handlers.hpp"
#include "api/log_lines.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// The log's counters, as every log answer shows them.
void append_log_state(std::string& out, const Task& task) {
  out.append("\"first_seq\":").append(std::to_string(task.log_first_seq));
  out.append(",\"last_seq\":").append(std::to_string(task.log_last_seq));
  out.append(",\"bytes\":").append(std::to_string(task.log_bytes));
  out.append(",\"dropped\":").append(std::to_string(task.log_dropped));
}

Result log_error(const Call& call, ErrorCode error, const std::string& task_id) {
  return error_result(call, error, "", task_id);
}

}  // namespace

asio::awaitable<Result> append_logs(Services& services, Call& call) {
  Built<LogAppendRequest> built =
      log_append_request(call.input, services.limits, services.config.leases.require_token);
  if (auto* problem = std::get_if<InputProblem>(&built)) co_return problem_result(call, *problem);
  LogAppendRequest request = std::move(std::get<LogAppendRequest>(built));
  request.account = call.account;
  request.task_id = task_id_of(call);
  request.max_task_bytes = services.config.task_logs.max_task_bytes;
  LogAppendOutcome outcome = co_await services.engine.append_logs(std::move(request));
  std::string task_id = task_id_of(call);
  if (!outcome.ok()) {
    Outcome failed;
    failed.error = outcome.error;
    failed.task = outcome.task;
    failed.now = outcome.now;
    co_return from_outcome(call, failed, AnswerShape{}, task_id);
  }
  std::string out = "{\"taskId\":";
  append_json_string(out, task_id);
  out.append(",\"appended\":").append(std::to_string(outcome.last_seq - outcome.first_seq + 1));
  out.append(",\"seqs\":{\"first\":").append(std::to_string(outcome.first_seq));
  out.append(",\"last\":").append(std::to_string(outcome.last_seq)).append("},\"log\":{");
  append_log_state(out, *outcome.task);
  out.append("},\"agent_contract\":");
  append_contract(out, contract_for_task(*outcome.task, outcome.now, ContractSite::other));
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

asio::awaitable<Result> get_logs(Services& services, Call& call) {
  std::string task_id = task_id_of(call);
  std::int64_t after = call.input.integer("after").value_or(0);
  int limit = static_cast<int>(call.input.integer("limit").value_or(100));
  LogPage page = co_await services.engine.read_logs(call.account, task_id, after, limit);
  if (page.error != ErrorCode::none) co_return log_error(call, page.error, task_id);
  std::string out = "{\"taskId\":";
  append_json_string(out, task_id);
  out.append(",\"status\":\"").append(to_string(page.task->status)).append("\",\"lines\":[");
  for (std::size_t i = 0; i < page.lines.size(); ++i) {
    if (i) out.push_back(',');
    append_log_line(out, page.lines[i], task_id);
  }
  out.append("],\"log\":{");
  append_log_state(out, *page.task);
  // Where the next page starts: the last line shown, or where this one was asked from.
  std::int64_t next = page.lines.empty() ? std::max(after, page.task->log_first_seq - 1)
                                         : page.lines.back().seq;
  out.append("},\"next_after\":").append(std::to_string(next));
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_task(*page.task, wall_now_ms(), ContractSite::other));
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

}  // namespace baton::api
