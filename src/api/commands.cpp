#include "api/commands.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

namespace baton::api {

namespace json = boost::json;

namespace {

Caller caller_of(const Input& input) {
  Caller caller;
  caller.lease_token = input.string("lease_token", "leaseToken").value_or("");
  caller.worker_id = input.string("worker_id", "workerId").value_or("");
  return caller;
}

std::optional<InputProblem> missing_token(const Caller& caller, bool require_token) {
  if (require_token && caller.lease_token.empty()) {
    return InputProblem{ErrorCode::invalid_request,
                        "lease_token is required (leases.require_token is on)."};
  }
  return std::nullopt;
}

// The cost a heartbeat, complete or fail reports (its fields checked by cost_field).
TaskCost cost_of(const Input& input) {
  TaskCost cost;
  const json::value* fields = input.find("cost");
  if (!fields || !fields->is_object()) return cost;
  Input figures(fields->get_object());
  cost.input_tokens = figures.integer("input_tokens", "inputTokens").value_or(0);
  cost.output_tokens = figures.integer("output_tokens", "outputTokens").value_or(0);
  cost.total_tokens = figures.integer("total_tokens", "totalTokens").value_or(0);
  cost.usd_nanos = usd_to_nanos(figures.number("estimated_cost_usd", "estimatedCostUsd").value_or(0));
  cost.cpu_time_ms = figures.integer("cpu_time_ms", "cpuTimeMs").value_or(0);
  cost.subrequests = figures.integer("subrequests").value_or(0);
  return cost;
}

}  // namespace

Built<CreateRequest> create_request(const Input& input, const TaskLimits& limits,
                                    std::string account, Millis now) {
  auto scheduled = input.string("scheduledAt", "scheduled_at");
  auto delay = input.integer("delaySeconds", "delay_seconds");
  if (scheduled && delay) return InputProblem{ErrorCode::invalid_request, "Send scheduledAt or delaySeconds, not both."};
  CreateRequest create;
  if (scheduled) {
    auto at = parse_rfc3339(*scheduled);
    if (!at) {
      return InputProblem{ErrorCode::invalid_request,
                          "scheduledAt must be an RFC 3339 time such as 2026-11-22T10:00:00.000Z."};
    }
    if (*at > now + limits.max_schedule_ahead_seconds * 1000) {
      return InputProblem{ErrorCode::invalid_request,
                          "scheduledAt may be at most " +
                              std::to_string(limits.max_schedule_ahead_seconds) +
                              " seconds ahead."};
    }
    create.scheduled_at = *at;
  }
  create.payload_json = json::serialize(*input.find("payload"));
  if (static_cast<std::int64_t>(create.payload_json.size()) > limits.max_payload_bytes) {
    return InputProblem{ErrorCode::payload_too_large,
                        "payload exceeds tasks.max_payload_bytes (" +
                            std::to_string(limits.max_payload_bytes) + " bytes)."};
  }
  create.account = std::move(account);
  create.type = *input.string("type");
  create.priority = static_cast<int>(input.integer("priority").value_or(0));
  create.max_attempts = static_cast<int>(
      input.integer("maxAttempts", "max_attempts").value_or(limits.default_max_attempts));
  create.lease_duration_seconds = static_cast<int>(
      input.integer("leaseDurationSeconds", "lease_duration_seconds")
          .value_or(limits.lease_default_seconds));
  if (delay && *delay > 0) create.scheduled_at = now + *delay * 1000;
  if (const json::value* ids = input.find("depends_on", "dependsOn")) {
    for (const json::value& id : ids->get_array()) {
      std::string text(id.get_string());
      // Naming a dependency twice waits for it once.
      if (std::find(create.depends_on.begin(), create.depends_on.end(), text) ==
          create.depends_on.end()) {
        create.depends_on.push_back(std::move(text));
      }
    }
  }
  create.run_on_dependency_failure =
      input.string("on_dependency_failure", "onDependencyFailure").value_or("cancel") == "run";
  create.parent_task_id = input.string("parent_task_id", "parentTaskId").value_or("");
  if (const json::value* review = input.find("review")) {
    const json::value* required = review->get_object().if_contains("required");
    create.review_required = required && required->is_bool() && required->get_bool();
  }
  create.definition_of_done = input.string("definition_of_done", "definitionOfDone");
  if (const json::value* verification = input.find("verification")) {
    create.verification_type = Input(verification->get_object()).string("type").value_or("");
  }
  create.auto_accept = input.boolean("auto_accept", "autoAccept").value_or(false);
  create.assign_to = input.string("assign_to", "assignTo").value_or("");
  create.assign_best = input.string("assign").value_or("") == "best";
  if (auto timeout = input.integer("assign_timeout_seconds", "assignTimeoutSeconds")) {
    create.assign_timeout_seconds = static_cast<int>(*timeout);
  } else if (create.assign_best) {
    create.assign_timeout_seconds = limits.assign_timeout_seconds;
  }
  create.budget_usd_nanos = usd_to_nanos(input.number("budget_usd", "budgetUsd").value_or(0));
  create.acceptance_timeout_seconds = limits.acceptance_timeout_seconds;
  if (const json::value* acceptance = input.find("acceptance")) {
    Input gate(acceptance->get_object());
    if (auto timeout = gate.integer("timeout_seconds", "timeoutSeconds")) {
      create.acceptance_timeout_seconds = static_cast<int>(*timeout);
    }
    create.accept_on_timeout = gate.string("on_timeout", "onTimeout").value_or("") == "accept";
  }
  return create;
}

Built<std::vector<CreateRequest>> create_batch_request(const Input& input,
                                                       const TaskLimits& limits,
                                                       const std::string& account, Millis now) {
  std::vector<CreateRequest> requests;
  const json::value* tasks = input.find("tasks");
  if (!tasks || !tasks->is_array()) {
    return InputProblem{ErrorCode::invalid_request, "tasks is required (a JSON array)"};
  }
  requests.reserve(tasks->get_array().size());
  for (const json::value& item : tasks->get_array()) {
    if (!item.is_object()) {
      return InputProblem{ErrorCode::invalid_request,
                          "tasks[" + std::to_string(requests.size()) + "] must be a JSON object"};
    }
    Built<CreateRequest> built = create_request(Input(item.get_object()), limits, account, now);
    if (auto* problem = std::get_if<InputProblem>(&built)) {
      problem->message = "tasks[" + std::to_string(requests.size()) + "]: " + problem->message;
      return std::move(*problem);
    }
    requests.push_back(std::move(std::get<CreateRequest>(built)));
  }
  return requests;
}

ClaimRequest claim_request(const Input& input, std::string account) {
  ClaimRequest claim;
  claim.account = std::move(account);
  claim.type = input.string("type");
  claim.worker_id = input.string("worker_id", "workerId").value_or("");
  claim.wait_ms = static_cast<int>(input.integer("wait_seconds", "waitSeconds").value_or(0) * 1000);
  return claim;
}

std::optional<int> claim_count(const Input& input) {
  auto count = input.integer("max_tasks", "maxTasks");
  if (!count) return std::nullopt;
  return static_cast<int>(*count);
}

std::optional<ClaimRequest> claim_next_request(const Input& input, std::string account) {
  const json::value* fields = input.find("claim_next", "claimNext");
  if (!fields || !fields->is_object()) return std::nullopt;
  return claim_request(Input(fields->get_object()), std::move(account));
}

Built<HeartbeatCmd> heartbeat_command(const Input& input, bool require_token) {
  Caller caller = caller_of(input);
  if (auto problem = missing_token(caller, require_token)) return *problem;
  return HeartbeatCmd{std::move(caller), cost_of(input)};
}

Built<CompleteCmd> complete_command(const Input& input, const TaskLimits& limits,
                                    bool require_token) {
  CompleteCmd complete{caller_of(input), cost_of(input), std::nullopt,
                       input.string("output_id", "outputId")};
  if (auto problem = missing_token(complete.caller, require_token)) return *problem;
  if (const json::value* result = input.find("result")) {
    complete.result_json = json::serialize(*result);
    if (static_cast<std::int64_t>(complete.result_json->size()) > limits.max_payload_bytes) {
      return InputProblem{ErrorCode::payload_too_large,
                          "result exceeds tasks.max_payload_bytes (" +
                              std::to_string(limits.max_payload_bytes) + " bytes)."};
    }
    // Seed 000 sends the output id inside the result.
    if (const json::value* inner = result->get_object().if_contains("output_id");
        !complete.output_id && inner && inner->is_string()) {
      complete.output_id = std::string(inner->get_string());
    }
  }
  return complete;
}

Built<FailCmd> fail_command(const Input& input, bool require_token) {
  FailCmd fail;
  fail.caller = caller_of(input);
  if (auto problem = missing_token(fail.caller, require_token)) return *problem;
  fail.reason = input.string("reason");
  fail.cost = cost_of(input);
  fail.retryable = input.boolean("retryable").value_or(true);
  if (auto retry = input.integer("retry_after_seconds", "retryAfterSeconds")) {
    fail.retry_after_seconds = static_cast<int>(*retry);
  }
  return fail;
}

Built<ReviewCmd> review_command(const Input& input) {
  ReviewCmd review;
  std::string decision = input.string("decision").value_or("approve");
  review.decision = decision == "reject"   ? ReviewDecision::reject
                    : decision == "revise" ? ReviewDecision::revise
                                           : ReviewDecision::approve;
  review.feedback = input.string("feedback").value_or("");
  if (review.decision != ReviewDecision::approve && review.feedback.empty()) {
    return InputProblem{ErrorCode::invalid_request,
                        "feedback is required to " + decision + " (what is wrong, or what to change)."};
  }
  return review;
}

Built<LogAppendRequest> log_append_request(const Input& input, const TaskLimits& limits,
                                           bool require_token) {
  LogAppendRequest request;
  request.caller = caller_of(input);
  if (auto problem = missing_token(request.caller, require_token)) return *problem;
  const json::array& lines = input.find("lines")->get_array();
  request.lines.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Input line(lines[i].get_object());
    LogLineInput item{line.string("level").value_or("info"), line.string("message").value_or(""),
                      ""};
    if (const json::value* data = line.find("data")) item.data_json = json::serialize(*data);
    std::size_t bytes = item.level.size() + item.message.size() + item.data_json.size();
    if (bytes > static_cast<std::size_t>(limits.max_log_line_bytes)) {
      return InputProblem{ErrorCode::payload_too_large,
                          "lines[" + std::to_string(i) + "] has " + std::to_string(bytes) +
                              " bytes (level, message and data); task_logs.max_line_bytes is " +
                              std::to_string(limits.max_log_line_bytes) + "."};
    }
    request.lines.push_back(std::move(item));
  }
  return request;
}

ClaimCmd claim_by_id_command(const Input& input) {
  return ClaimCmd{caller_of(input).worker_id, {}};
}

}  // namespace baton::api
