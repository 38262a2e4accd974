// Task logs (seed 004's LogEntry): the lease holder appends lines, anyone with the
// account's key reads them, page by page (docs/api.md "Task logs").
#include <boost/json/serialize.hpp>

#include "api/handlers.hpp"
#include "api/log_lines.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Caller caller_of(const Input& input) {
  return Caller{input.string("lease_token", "leaseToken").value_or(""),
                input.string("worker_id", "workerId").value_or("")};
}

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
  const Config::TaskLogs& bounds = services.config.task_logs;
  LogAppendRequest request;
  request.account = call.account;
  request.task_id = task_id_of(call);
  request.caller = caller_of(call.input);
  request.max_task_bytes = bounds.max_task_bytes;
  if (services.config.leases.require_token && request.caller.lease_token.empty()) {
    co_return error_result(call, ErrorCode::invalid_request,
                           "lease_token is required (leases.require_token is on).");
  }
  const json::array& lines = call.input.find("lines")->get_array();
  request.lines.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Input line(lines[i].get_object());
    LogLineInput input{line.string("level").value_or("info"), line.string("message").value_or(""),
                       ""};
    if (const json::value* data = line.find("data")) input.data_json = json::serialize(*data);
    std::size_t bytes = input.level.size() + input.message.size() + input.data_json.size();
    if (bytes > static_cast<std::size_t>(bounds.max_line_bytes)) {
      co_return error_result(call, ErrorCode::payload_too_large,
                             "lines[" + std::to_string(i) + "] has " + std::to_string(bytes) +
                                 " bytes (level, message and data); task_logs.max_line_bytes "
                                 "is " + std::to_string(bounds.max_line_bytes) + ".");
    }
    request.lines.push_back(std::move(input));
  }
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
