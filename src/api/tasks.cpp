// Task endpoints (spec sections 4-6): body -> typed command -> TaskEngine -> JSON.
#include <boost/json/serialize.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "api/api.hpp"
#include "api/body.hpp"
#include "api/render.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

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

}  // namespace

http::Response Api::from_outcome(Call& call, const Outcome& outcome, int success_status,
                                 ContractSite site, bool with_lease_token) {
  http::Response response;
  if (outcome.status != 0) {  // rendered by the engine: a stored or replayed answer
    response.status = outcome.status;
    response.body = outcome.body;
  } else if (!outcome.ok()) {
    response = error(call.request, outcome.error, message_for(outcome.error), call.task_id,
                     outcome.retry_after_seconds);
  } else {
    response.status = success_status;
    response.body = task_body(*outcome.task, outcome.now, site, TaskView{with_lease_token});
  }
  response.affinity = outcome.affinity;
  return response;
}

std::optional<IdempotencyRequest> Api::idempotency_for(Call& call, const json::object& body,
                                                       int success_status, ContractSite site,
                                                       bool with_lease_token,
                                                       std::optional<http::Response>& problem) {
  std::string key;
  if (call.request.has_idempotency_key) {
    key = call.request.idempotency_key;
  } else {
    Fields fields(body);
    auto from_body = fields.string("idempotencyKey", "idempotency_key");
    if (!fields.ok()) {
      problem = error(call.request, ErrorCode::invalid_request, fields.error());
      return std::nullopt;
    }
    if (!from_body) return std::nullopt;
    key = *from_body;
  }
  if (std::string bad = check_idempotency_key(key, limits_); !bad.empty()) {
    problem = error(call.request, ErrorCode::invalid_request, bad);
    return std::nullopt;
  }
  IdempotencyRequest idempotency;
  idempotency.method = call.request.method;
  idempotency.path = call.path;
  idempotency.key = std::move(key);
  idempotency.request_hash = canonical_body_hash(body);
  idempotency.success_status = success_status;
  idempotency.ttl_seconds = config_.idempotency.ttl_seconds;
  idempotency.render = [site, with_lease_token](const Task& task, Millis now) {
    return task_body(task, now, site, TaskView{with_lease_token});
  };
  return idempotency;
}

asio::awaitable<http::Response> Api::create_task(Call& call) {
  json::object body;
  if (auto problem = read_body(call, body)) co_return *problem;
  Fields fields(body);
  CreateRequest create;
  create.account = call.account;
  auto type = fields.string("type");
  const json::value* payload = fields.raw("payload");
  auto priority = fields.integer("priority");
  auto max_attempts = fields.integer("maxAttempts", "max_attempts");
  auto lease = fields.integer("leaseDurationSeconds", "lease_duration_seconds");
  auto scheduled = fields.string("scheduledAt", "scheduled_at");
  auto delay = fields.integer("delaySeconds", "delay_seconds");
  if (fields.ok() && !type) fields.fail("type is required.");
  if (fields.ok()) fields.fail(check_type(*type));
  if (fields.ok() && !payload) fields.fail("payload is required (a JSON object).");
  if (fields.ok() && !payload->is_object()) fields.fail("payload must be a JSON object.");
  if (fields.ok() && priority) fields.fail(check_priority(*priority));
  if (fields.ok() && max_attempts) fields.fail(check_max_attempts(*max_attempts, limits_));
  if (fields.ok() && lease) fields.fail(check_lease_seconds(*lease, limits_));
  if (fields.ok() && delay) fields.fail(check_delay_seconds(*delay, limits_));
  if (fields.ok() && scheduled && delay) fields.fail("Send scheduledAt or delaySeconds, not both.");
  Millis now = wall_now_ms();
  if (fields.ok() && scheduled) {
    auto at = parse_rfc3339(*scheduled);
    if (!at) {
      fields.fail("scheduledAt must be an RFC 3339 time such as 2026-11-22T10:00:00.000Z.");
    } else if (*at > now + limits_.max_schedule_ahead_seconds * 1000) {
      fields.fail("scheduledAt may be at most " +
                  std::to_string(limits_.max_schedule_ahead_seconds) + " seconds ahead.");
    } else {
      create.scheduled_at = *at;
    }
  }
  if (!fields.ok()) co_return error(call.request, ErrorCode::invalid_request, fields.error());
  create.payload_json = json::serialize(*payload);
  if (static_cast<std::int64_t>(create.payload_json.size()) > limits_.max_payload_bytes) {
    co_return error(call.request, ErrorCode::payload_too_large,
                    "payload exceeds tasks.max_payload_bytes (" +
                        std::to_string(limits_.max_payload_bytes) + " bytes).");
  }
  create.type = std::move(*type);
  create.priority = static_cast<int>(priority.value_or(0));
  create.max_attempts = static_cast<int>(max_attempts.value_or(limits_.default_max_attempts));
  create.lease_duration_seconds = static_cast<int>(lease.value_or(limits_.lease_default_seconds));
  if (delay && *delay > 0) create.scheduled_at = now + *delay * 1000;

  std::optional<http::Response> problem;
  auto idempotency = idempotency_for(call, body, 201, ContractSite::other, false, problem);
  if (problem) co_return *problem;
  Outcome outcome = co_await engine_.create(std::move(create), idempotency ? &*idempotency : nullptr);
  if (outcome.ok() && outcome.task) call.task_id = outcome.task->id;
  co_return from_outcome(call, outcome, 201, ContractSite::other, false);
}

asio::awaitable<http::Response> Api::claim_next(Call& call) {
  json::object body;
  if (auto problem = read_body(call, body)) co_return *problem;
  Fields fields(body);
  auto type = fields.string("type");
  auto worker = fields.string("workerId", "worker_id");
  auto wait = fields.integer("waitSeconds", "wait_seconds");
  if (fields.ok() && type) fields.fail(check_type(*type));
  if (fields.ok() && worker) fields.fail(check_worker_id(*worker, limits_));
  if (fields.ok() && wait) fields.fail(check_wait_seconds(*wait, limits_));
  if (!fields.ok()) co_return error(call.request, ErrorCode::invalid_request, fields.error());

  ClaimRequest claim;
  claim.account = call.account;
  claim.type = type;
  claim.worker_id = worker.value_or("");
  claim.wait_ms = static_cast<int>(wait.value_or(0) * 1000);
  if (claim.wait_ms > 0) {
    // Shared with the disconnect watch, which may outlive this frame by a moment.
    claim.watch = std::make_shared<ClaimWatch>();
    call.connection.watch_disconnect([watch = claim.watch] { watch->on_client_gone(); });
  }
  Outcome outcome = co_await engine_.claim_next(std::move(claim));
  if (outcome.ok() && outcome.task && call.connection.disconnected()) {
    // The client left while its claim was being served: give the task back untouched.
    co_await engine_.apply(call.account, outcome.task->id,
                           ReleaseCmd{outcome.task->lease_token, outcome.previous_claimed_by,
                                      outcome.previous_lease_token},
                           nullptr);
    co_return http::Response{};
  }
  if (outcome.ok() && !outcome.task) {
    http::Response response;
    response.body = empty_claim_body(5);
    response.affinity = outcome.affinity;
    co_return response;
  }
  if (outcome.task) call.task_id = outcome.task->id;
  co_return from_outcome(call, outcome, 200, ContractSite::claim, true);
}

asio::awaitable<http::Response> Api::task_command(Call& call, const std::string& action) {
  json::object body;
  if (auto problem = read_body(call, body)) co_return *problem;
  Fields fields(body);
  Caller caller;
  caller.lease_token = fields.string("leaseToken", "lease_token").value_or("");
  caller.worker_id = fields.string("workerId", "worker_id").value_or("");
  if (fields.ok()) fields.fail(check_worker_id(caller.worker_id, limits_));
  bool fenced = action == "heartbeat" || action == "complete" || action == "fail";
  if (fields.ok() && fenced && config_.leases.require_token && caller.lease_token.empty()) {
    fields.fail("lease_token is required (leases.require_token is on).");
  }

  Command command;
  ContractSite site = ContractSite::other;
  bool with_token = false;
  bool idempotent = false;
  if (action == "claim") {
    command = ClaimCmd{caller.worker_id, {}};
    site = ContractSite::claim;
    with_token = true;
  } else if (action == "heartbeat") {
    command = HeartbeatCmd{caller};
    with_token = true;
  } else if (action == "complete") {
    CompleteCmd complete{caller, fields.object("result"), fields.string("outputId", "output_id")};
    if (fields.ok() && complete.result_json &&
        static_cast<std::int64_t>(complete.result_json->size()) > limits_.max_payload_bytes) {
      co_return error(call.request, ErrorCode::payload_too_large,
                      "result exceeds tasks.max_payload_bytes (" +
                          std::to_string(limits_.max_payload_bytes) + " bytes).");
    }
    if (fields.ok() && !complete.output_id && complete.result_json) {
      const json::value& result = body.at("result");
      if (auto* inner = result.get_object().if_contains("output_id"); inner && inner->is_string()) {
        complete.output_id = std::string(inner->get_string());
      }
    }
    command = std::move(complete);
    idempotent = true;
  } else if (action == "fail") {
    FailCmd fail;
    fail.caller = caller;
    fail.reason = fields.string("reason");
    auto retry_after = fields.integer("retryAfterSeconds", "retry_after_seconds");
    fail.retryable = fields.boolean("retryable").value_or(true);
    if (fields.ok() && fail.reason) fields.fail(check_reason(*fail.reason, limits_));
    if (fields.ok() && retry_after) fields.fail(check_retry_after_seconds(*retry_after, limits_));
    if (retry_after) fail.retry_after_seconds = static_cast<int>(*retry_after);
    command = std::move(fail);
    idempotent = true;
  } else if (action == "cancel") {
    command = CancelCmd{};
    idempotent = true;
  } else {
    command = RequeueCmd{};
    idempotent = true;
  }
  if (!fields.ok()) co_return error(call.request, ErrorCode::invalid_request, fields.error());

  std::optional<IdempotencyRequest> idempotency;
  if (idempotent) {
    std::optional<http::Response> problem;
    idempotency = idempotency_for(call, body, 200, site, with_token, problem);
    if (problem) co_return *problem;
  }
  Outcome outcome = co_await engine_.apply(call.account, call.task_id, std::move(command),
                                           idempotency ? &*idempotency : nullptr);
  co_return from_outcome(call, outcome, 200, site, with_token);
}

asio::awaitable<http::Response> Api::get_task(Call& call) {
  Outcome outcome = co_await engine_.get(call.account, call.task_id);
  co_return from_outcome(call, outcome, 200, ContractSite::other, false);
}

asio::awaitable<http::Response> Api::list_tasks(Call& call) {
  ListRequest list;
  list.account = call.account;
  std::string problem;
  if (!call.query.empty()) {
    auto params = boost::urls::parse_query(call.query);
    if (!params) co_return error(call.request, ErrorCode::invalid_request, "Malformed query string.");
    for (auto param : boost::urls::params_view(*params)) {
      const std::string& value = param.value;
      if (param.key == "status") {
        list.status = parse_task_status(value);
        if (!list.status) {
          problem = "status must be one of pending, claimed, completed, dead_letter, cancelled.";
        }
      } else if (param.key == "type") {
        if (std::string bad = check_type(value); !bad.empty()) problem = bad;
        list.type = value;
      } else if (param.key == "limit") {
        char* end = nullptr;
        long limit = std::strtol(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || limit < 1 || limit > 100) {
          problem = "limit must be an integer from 1 to 100.";
        } else {
          list.limit = static_cast<int>(limit);
        }
      } else if (param.key == "cursor") {
        if (!value.empty()) list.cursor = value;
      }
    }
  }
  if (!problem.empty()) co_return error(call.request, ErrorCode::invalid_request, problem);
  ListPage page = co_await engine_.list(std::move(list));
  if (page.error != ErrorCode::none) {
    co_return error(call.request, page.error, "cursor is not a cursor this server gave out.");
  }
  http::Response response;
  response.body = render_list(page.tasks, page.next_cursor);
  co_return response;
}

}  // namespace baton::api
