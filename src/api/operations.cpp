#include "api/operations.hpp"

#include "api/handlers.hpp"
#include "core/cost.hpp"
#include "core/ulid.hpp"

namespace baton::api {

namespace {

using E = ErrorCode;

std::string check_printable(std::string_view text) {
  return is_printable_ascii(text) ? std::string()
                                  : "idempotencyKey must be printable ASCII characters";
}

// A worker's id is text an operator reads and a column the PostgreSQL backend compares:
// no control characters (a NUL would end it there).
bool has_control_characters(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}
std::string check_worker_id(std::string_view text) {
  return has_control_characters(text) ? "worker_id must not contain control characters" : "";
}
std::string check_assign_to(std::string_view text) {
  return has_control_characters(text) ? "assign_to must not contain control characters" : "";
}

constexpr std::string_view kTaskIdPattern = "^tsk_[0-9A-HJKMNP-TV-Z]{26}$";

std::string check_dependency_id(std::string_view id) {
  return parse_task_id(id) ? std::string() : "must be a task id (tsk_ and 26 characters)";
}

std::string check_parent_id(std::string_view id) {
  return parse_task_id(id) ? std::string()
                           : "parent_task_id must be a task id (tsk_ and 26 characters)";
}

// ---- Fields shared by several operations. ----


FieldSpec type_field(FieldIn in, bool required, std::string_view description) {
  return {.name = "type", .in = in, .required = required, .minimum = 1, .maximum = 100,
          .pattern = "^[A-Za-z0-9_-]+$", .check = check_type, .description = description};
}



FieldSpec idempotency_field(const TaskLimits& limits) {
  return {.name = "idempotencyKey", .alias = "idempotency_key", .minimum = 1,
          .maximum = limits.max_idempotency_key_chars, .check = check_printable,
          .description = "Makes a retry safe: the same key with the same input returns the "
                         "stored answer (the Idempotency-Key header does the same)."};
}

FieldSpec cost_figure(std::string_view name, std::string_view alias, std::string_view description) {
  return {.name = name, .alias = alias, .type = FieldType::integer, .minimum = 0,
          .maximum = kMaxCostFigure, .description = description};
}

// Heartbeat, complete and fail report what the work cost since the last report (seed
// 004's CostBreakdown, either spelling): added to the task's cost.
FieldSpec cost_field() {
  return {.name = "cost", .type = FieldType::object,
          .description = "What the work cost since your last report, added to the task's "
                         "cost: {input_tokens, output_tokens, total_tokens, "
                         "estimated_cost_usd, cpu_time_ms, subrequests}, each optional.",
          .properties = {cost_figure("input_tokens", "inputTokens", "Prompt tokens."),
                         cost_figure("output_tokens", "outputTokens", "Completion tokens."),
                         cost_figure("total_tokens", "totalTokens", "All tokens."),
                         {.name = "estimated_cost_usd", .alias = "estimatedCostUsd",
                          .type = FieldType::number, .minimum = 0,
                          .maximum = static_cast<std::int64_t>(kMaxUsd),
                          .description = "Dollars (kept to the nano-dollar)."},
                         cost_figure("cpu_time_ms", "cpuTimeMs", "CPU time, milliseconds."),
                         cost_figure("subrequests", {}, "Calls the work made.")}};
}

// What a task is created with: create_task's fields, and each item's of a batch.
std::vector<FieldSpec> create_fields(const TaskLimits& limits) {
  return {type_field(FieldIn::body, true, "The task type workers claim by."),
          {.name = "payload", .type = FieldType::object, .required = true,
           .maximum = limits.max_payload_bytes,
           .description = "The work, a JSON object: at most tasks.max_payload_bytes "
                          "serialized and tasks.max_depth levels deep."},
          {.name = "priority", .type = FieldType::integer, .minimum = 0, .maximum = 100,
           .description = "Higher is claimed first. Default 0."},
          {.name = "maxAttempts", .alias = "max_attempts", .type = FieldType::integer,
           .minimum = limits.min_max_attempts, .maximum = limits.max_max_attempts,
           .description = "Claims before the task goes to the dead letter."},
          {.name = "leaseDurationSeconds", .alias = "lease_duration_seconds",
           .type = FieldType::integer, .minimum = limits.lease_min_seconds,
           .maximum = limits.lease_max_seconds,
           .description = "How long a claim holds the task without a heartbeat."},
          {.name = "scheduledAt", .alias = "scheduled_at",
           .description = "RFC 3339 time before which the task is not claimable; at "
                          "most tasks.max_schedule_ahead_seconds ahead."},
          {.name = "delaySeconds", .alias = "delay_seconds", .type = FieldType::integer,
           .minimum = 0, .maximum = limits.max_schedule_ahead_seconds,
           .description = "Relative form of scheduledAt."},
          {.name = "depends_on", .alias = "dependsOn", .type = FieldType::array, .minimum = 0,
           .maximum = limits.max_dependencies, .pattern = kTaskIdPattern,
           .check = check_dependency_id,
           .description = "Tasks of this account (any type) that must complete first: until "
                          "then the task is blocked. Each must exist now, so no cycle can "
                          "form.",
           .items = FieldType::string},
          {.name = "on_dependency_failure", .alias = "onDependencyFailure",
           .one_of = {"cancel", "run"},
           .description = "When a dependency is dead-lettered or cancelled: cancel this task "
                          "(default, reason dependency_failed) or run it anyway."},
          {.name = "parent_task_id", .alias = "parentTaskId", .pattern = kTaskIdPattern,
           .check = check_parent_id,
           .description = "A task of this account this one belongs to: the parent's reads "
                          "show its children and their rollup by status."},
          {.name = "review", .type = FieldType::object,
           .description = "{\"required\": true}: completing the task moves it to "
                          "awaiting_review with its result, until review_task decides.",
           .properties = {{.name = "required", .type = FieldType::boolean,
                           .description = "Hold completions for a reviewer."}}},
          {.name = "definition_of_done", .alias = "definitionOfDone", .maximum = 10000,
           .description = "What done means, for the verifier and the acceptor. A task with one "
                          "waits in awaiting_acceptance after its worker completes it."},
          {.name = "verification", .type = FieldType::object,
           .description = "{\"type\": \"…\"}: when the task is completed, a task of this "
                          "type is created for a verifier (payload: the task's id, payload, "
                          "result and definition of done); it completes with {passed, notes}, "
                          "recorded on this task.",
           .properties = {type_field(FieldIn::body, true, "The verifier's task type.")}},
          {.name = "auto_accept", .alias = "autoAccept", .type = FieldType::boolean,
           .description = "Accept at once when the verification passes."},
          {.name = "acceptance", .type = FieldType::object,
           .description = "The acceptance gate's timeout: {timeout_seconds, on_timeout: "
                          "accept | dead_letter}. Default: tasks.acceptance_timeout_seconds, "
                          "then dead_letter.",
           .properties = {{.name = "timeout_seconds", .alias = "timeoutSeconds",
                           .type = FieldType::integer, .minimum = 0,
                           .maximum = 365LL * 24 * 3600,
                           .description = "0: wait for ever."},
                          {.name = "on_timeout", .alias = "onTimeout",
                           .one_of = {"accept", "dead_letter"},
                           .description = "What the timeout does."}}},
          {.name = "assign_to", .alias = "assignTo", .minimum = 1,
           .maximum = limits.max_worker_id_chars, .check = check_assign_to,
           .description = "Only the worker with this worker_id may claim the task (for "
                          "assign_timeout_seconds when sent, else for ever)."},
          {.name = "assign", .one_of = {"best"},
           .description = "\"best\": held for the best-ranked worker of the type seen in the "
                          "last hour (GET /v1/workers), then anyone's after "
                          "assign_timeout_seconds."},
          {.name = "assign_timeout_seconds", .alias = "assignTimeoutSeconds",
           .type = FieldType::integer, .minimum = 1, .maximum = 86400,
           .description = "How long an assignment holds; default tasks.assign_timeout_seconds "
                          "for assign: \"best\"."},
          {.name = "budget_usd", .alias = "budgetUsd", .type = FieldType::number, .minimum = 0,
           .maximum = static_cast<std::int64_t>(kMaxUsd),
           .description = "The most the task should cost (seed 003): once the cost its "
                          "workers report passes it, their answers say budget_exceeded with "
                          "a stop_work action. 0: no budget."}};
}

std::vector<FieldSpec> with_idempotency(std::vector<FieldSpec> fields, const TaskLimits& limits) {
  fields.push_back(idempotency_field(limits));
  return fields;
}

// What a claim takes: claim_task's fields, and claim_next's on complete and fail.
std::vector<FieldSpec> claim_fields(const TaskLimits& limits) {
  return {type_field(FieldIn::body, false,
                     "The task type to claim; without it, any type of the account."),
          worker_id_field(limits),
          {.name = "wait_seconds", .alias = "waitSeconds", .type = FieldType::integer,
           .minimum = 0, .maximum = limits.max_wait_seconds,
           .description = "Long poll: wait up to this long for a task (claims.max_wait_"
                          "seconds at most)."}};
}

std::vector<FieldSpec> with_claim_count(std::vector<FieldSpec> fields, const TaskLimits& limits) {
  fields.push_back({.name = "max_tasks", .alias = "maxTasks", .type = FieldType::integer,
                    .minimum = 1, .maximum = limits.max_claim_batch,
                    .description = "Claim up to this many tasks at once (claims.max_batch at "
                                   "most): the answer is tasks, each with its own leaseToken "
                                   "and agent_contract. A long poll ends at the first task."});
  return fields;
}

FieldSpec claim_next_field(const TaskLimits& limits) {
  return {.name = "claim_next", .alias = "claimNext", .type = FieldType::object,
          .description = "Claim your next task in the same call: the fields of claim_task. "
                         "Once this task's new state is durable, the answer's next carries "
                         "the claimed task (or null) and its agent_contract. Nothing is "
                         "claimed when this call fails.",
          .properties = claim_fields(limits)};
}

std::vector<FieldSpec> with_task_id(std::vector<FieldSpec> fields) {
  fields.insert(fields.begin(), task_id_field());
  return fields;
}

// The errors of a command on an existing task (spec section 4, "Which error wins").
const std::vector<ErrorCode> kFencedErrors = {E::task_not_found, E::invalid_transition,
                                              E::lease_expired, E::task_cancelled};
const std::vector<ErrorCode> kIdempotencyErrors = {E::idempotency_conflict,
                                                   E::idempotency_in_flight};

std::vector<ErrorCode> join(std::vector<ErrorCode> a, const std::vector<ErrorCode>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

std::vector<FieldSpec> task_template_fields(const TaskLimits& limits) { return create_fields(limits); }

FieldSpec task_id_field() {
  return {.name = "task_id", .alias = "taskId", .in = FieldIn::path, .required = true,
          .minimum = 1, .description = "The task's id (tsk_…)."};
}

FieldSpec worker_id_field(const TaskLimits& limits) {
  return {.name = "worker_id", .alias = "workerId", .maximum = limits.max_worker_id_chars,
          .check = check_worker_id, .description = "Who is working: recorded as claimedBy, and a fencing identity when no "
                         "lease_token is sent."};
}

FieldSpec lease_token_field() {
  return {.name = "lease_token", .alias = "leaseToken",
          .description = "The leaseToken of your claim. A stale token gets 409 lease_expired, so "
                         "a worker that lost its lease can never touch the task again."};
}

std::vector<Operation> operation_table(const TaskLimits& limits) {
  std::vector<Operation> table;

  // ---- Tasks (spec sections 4-6) ----
  table.push_back(
      {.id = "create_task", .method = "POST", .path = "/v1/tasks", .mcp_tool = true,
       .rate = RateClass::create,
       .summary = "Create a task",
       .description = "Creates a pending task of a type. Workers claim it with claim_task.",
       .fields = with_idempotency(create_fields(limits), limits),
       .success_status = 201, .output = "TaskAnswer",
       .errors = join({E::payload_too_large, E::dependency_not_found, E::quota_exceeded},
                      kIdempotencyErrors),
       .run = create_task});
  table.push_back(
      {.id = "create_tasks", .method = "POST", .path = "/v1/tasks/batch", .mcp_tool = true,
       .rate = RateClass::create,
       .summary = "Create tasks in a batch",
       .description = "Creates every task of tasks, each as create_task would; all are checked "
                      "before any is written (a bad one is a 400 naming its 0-based index), and "
                      "the answer comes once all are durable. One Idempotency-Key covers the "
                      "batch: a retry creates only what is missing and returns the same ids.",
       .fields = {{.name = "tasks", .type = FieldType::array, .required = true, .minimum = 1,
                   .maximum = limits.max_create_batch,
                   .description = "The tasks, each with create_task's fields (tasks.max_batch "
                                  "at most).",
                   .properties = create_fields(limits)},
                  idempotency_field(limits)},
       .success_status = 201, .output = "BatchCreated",
       .errors = join({E::payload_too_large, E::dependency_not_found, E::quota_exceeded},
                      kIdempotencyErrors),
       .run = create_tasks});
  table.push_back(
      {.id = "list_tasks", .method = "GET", .path = "/v1/tasks", .mcp_tool = true,
       .summary = "List tasks",
       .description = "Lists the account's tasks, newest first, a page at a time.",
       .fields = {{.name = "status", .in = FieldIn::query,
                   .one_of = {"pending", "claimed", "completed", "dead_letter", "cancelled",
                              "blocked", "awaiting_review", "awaiting_acceptance"},
                   .description = "Only tasks in this state."},
                  type_field(FieldIn::query, false, "Only tasks of this type."),
                  {.name = "limit", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 1, .maximum = 100, .description = "Page size, default 20."},
                  {.name = "cursor", .in = FieldIn::query,
                   .description = "next_cursor of the previous page."}},
       .output = "TaskList", .errors = {}, .run = list_tasks});
  table.push_back(
      {.id = "claim_task", .method = "POST", .path = "/v1/tasks/claim", .mcp_tool = true,
       .rate = RateClass::claim,
       .summary = "Claim the next task",
       .description = "Takes the best claimable task (priority, then schedule, then age) and "
                      "returns it with a lease and a leaseToken. With wait_seconds, waits for "
                      "one to arrive. task is null when none came.",
       .fields = with_claim_count(claim_fields(limits), limits), .output = "ClaimAnswer",
       .errors = {E::max_workers_reached, E::budget_exceeded}, .run = claim_task});
  table.push_back(
      {.id = "get_task", .method = "GET", .path = "/v1/tasks/{task_id}", .mcp_tool = true,
       .summary = "Read a task", .description = "Returns the task and what to do next.",
       .fields = {task_id_field()}, .output = "TaskAnswer", .errors = {E::task_not_found},
       .run = get_task});
  table.push_back(
      {.id = "get_task_history", .method = "GET", .path = "/v1/tasks/{task_id}/history",
       .mcp_tool = true, .summary = "Read a task's history",
       .description = "Every transition of the task, oldest first: when, which operation or "
                      "event, from and to which state, the attempt, the worker, and a failure "
                      "reason or reviewer's feedback. Heartbeats are not listed.",
       .fields = {task_id_field()}, .output = "TaskHistory", .errors = {E::task_not_found},
       .run = get_task_history});
  table.push_back(
      {.id = "claim_task_by_id", .method = "POST", .path = "/v1/tasks/{task_id}/claim",
       .mcp_tool = true, .rate = RateClass::claim, .summary = "Claim one task",
       .description = "Claims the task with this id, if it is claimable now.",
       .fields = with_task_id({worker_id_field(limits)}), .output = "TaskAnswer",
       .errors = {E::max_workers_reached, E::budget_exceeded, E::task_not_found, E::task_currently_claimed,
                  E::not_yet_claimable,
                  E::invalid_transition, E::task_assigned},
       .run = claim_task_by_id});
  table.push_back(
      {.id = "heartbeat", .method = "POST", .path = "/v1/tasks/{task_id}/heartbeat",
       .mcp_tool = true, .rate = RateClass::heartbeat, .summary = "Renew a lease",
       .description = "Extends the lease by the task's leaseDurationSeconds. Send it every "
                      "recommended_heartbeat_interval_seconds while working.",
       .fields = with_task_id({lease_token_field(), worker_id_field(limits), cost_field()}),
       .output = "TaskAnswer", .errors = kFencedErrors, .run = heartbeat_task});
  {
    FieldSpec cost = cost_field();
    cost.required = true;
    table.push_back(
        {.id = "report_cost", .method = "POST", .path = "/v1/tasks/{task_id}/cost",
         .mcp_tool = true, .rate = RateClass::heartbeat, .summary = "Report what a task cost",
         .description = "Adds what the work cost since your last report to the claimed task's "
                        "cost (heartbeat, complete and fail take the same cost field). Renews "
                        "the lease as a heartbeat does. Past the task's budgetUsd the contract "
                        "says budget_exceeded with stop_work.",
         .fields = with_task_id({cost, lease_token_field(), worker_id_field(limits)}),
         .output = "TaskAnswer", .errors = kFencedErrors, .run = heartbeat_task});
  }
  table.push_back(
      {.id = "complete_task", .method = "POST", .path = "/v1/tasks/{task_id}/complete",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Complete a task",
       .description = "Marks the claimed task completed with its result. Completing again with "
                      "the same lease token returns the same answer.",
       .fields = with_task_id({{.name = "result", .type = FieldType::object,
                                .maximum = limits.max_payload_bytes,
                                .description = "The result, a JSON object (at most "
                                               "tasks.max_payload_bytes serialized)."},
                               {.name = "output_id", .alias = "outputId",
                                .description = "An id of the output; else result.output_id."},
                               lease_token_field(), worker_id_field(limits), cost_field(),
                               idempotency_field(limits), claim_next_field(limits)}),
       .output = "TaskAnswer",
       .errors = join(join(kFencedErrors, {E::payload_too_large, E::max_workers_reached}),
                      kIdempotencyErrors),
       .run = complete_task});
  table.push_back(
      {.id = "fail_task", .method = "POST", .path = "/v1/tasks/{task_id}/fail",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Fail a task",
       .description = "Reports a failed attempt: the task is retried after a backoff while "
                      "attempts remain (and retryable is not false), else dead-lettered.",
       .fields = with_task_id({{.name = "reason", .maximum = limits.max_reason_chars,
                                .description = "Why it failed (failureReason)."},
                               {.name = "retry_after_seconds", .alias = "retryAfterSeconds",
                                .type = FieldType::integer, .minimum = 0,
                                .maximum = limits.max_retry_after_seconds,
                                .description = "Retry after this long instead of the default "
                                               "exponential backoff."},
                               {.name = "retryable", .type = FieldType::boolean,
                                .description = "false sends the task to the dead letter now."},
                               lease_token_field(), worker_id_field(limits), cost_field(),
                               idempotency_field(limits), claim_next_field(limits)}),
       .output = "TaskAnswer",
       .errors = join(join(kFencedErrors, {E::max_workers_reached}), kIdempotencyErrors),
       .run = fail_task});
  table.push_back(
      {.id = "cancel_task", .method = "POST", .path = "/v1/tasks/{task_id}/cancel",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Cancel a task",
       .description = "Cancels a pending or claimed task; the worker of a claimed one is told "
                      "to stop (409 task_cancelled).",
       .fields = with_task_id({idempotency_field(limits)}), .output = "TaskAnswer",
       .errors = join({E::task_not_found, E::invalid_transition}, kIdempotencyErrors),
       .run = cancel_task});
  table.push_back(
      {.id = "requeue_task", .method = "POST", .path = "/v1/tasks/{task_id}/requeue",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Requeue a dead letter",
       .description = "Puts a dead-lettered task back to pending with its attempts reset.",
       .fields = with_task_id({idempotency_field(limits)}), .output = "TaskAnswer",
       .errors = join({E::task_not_found, E::invalid_transition}, kIdempotencyErrors),
       .run = requeue_task});

  table.push_back(
      {.id = "review_task", .method = "POST", .path = "/v1/tasks/{task_id}/review",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Review a completed task",
       .description = "Decides on a task awaiting_review (created with review: {required: "
                      "true}): approve completes it with its result; reject dead-letters it "
                      "with feedback as the reason; revise sends it back to pending with "
                      "feedback shown to the next claimer (reviewFeedback).",
       .fields = with_task_id({{.name = "decision", .required = true,
                                .one_of = {"approve", "reject", "revise"},
                                .description = "approve, reject or revise."},
                               {.name = "feedback", .maximum = limits.max_reason_chars,
                                .description = "Required for reject and revise."},
                               idempotency_field(limits)}),
       .output = "TaskAnswer",
       .errors = join({E::task_not_found, E::invalid_transition}, kIdempotencyErrors),
       .run = review_task});

  table.push_back(
      {.id = "accept_task", .method = "POST", .path = "/v1/tasks/{task_id}/accept",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Accept a task's result",
       .description = "Accepts a task awaiting_acceptance (it has a definition_of_done or a "
                      "verification): it becomes completed with its result.",
       .fields = with_task_id({idempotency_field(limits)}), .output = "TaskAnswer",
       .errors = join({E::task_not_found, E::invalid_transition}, kIdempotencyErrors),
       .run = accept_task});
  table.push_back(
      {.id = "rework_task", .method = "POST", .path = "/v1/tasks/{task_id}/rework",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Send a task back to work",
       .description = "Sends a task awaiting_acceptance back to pending, with feedback shown to "
                      "the next claimer (reviewFeedback); its next completion gets a new "
                      "verification.",
       .fields = with_task_id({{.name = "feedback", .required = true, .minimum = 1,
                                .maximum = limits.max_reason_chars,
                                .description = "What to change."},
                               idempotency_field(limits)}),
       .output = "TaskAnswer",
       .errors = join({E::task_not_found, E::invalid_transition}, kIdempotencyErrors),
       .run = rework_task});

  table.push_back(
      {.id = "list_workers", .method = "GET", .path = "/v1/workers", .mcp_tool = true,
       .summary = "List workers and their rank",
       .description = "The account's workers seen in the last days: the types they claimed, "
                      "their live leases, per type the claims, completions, failures, "
                      "expiries, acceptances, reworks and mean time to complete, and a rank "
                      "from 0 to 100 (docs/workflows.md has the formula). Best first.",
       .fields = {{.name = "days", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 1, .maximum = 365,
                   .description = "Seen within this many days, default 7."}},
       .output = "WorkerList", .errors = {}, .run = list_workers});

  add_account_operations(table);
  add_log_operations(table, limits);
  add_queue_operations(table);
  add_schedule_operations(table, limits);
  add_ui_operations(table);

  // ---- Discovery (spec section 10): public, no agent_contract ----
  table.push_back({.id = "get_health", .method = "GET", .path = "/health", .auth = Auth::none,
                   .summary = "Health",
                   .description = "Liveness, and whether storage can write (503 degraded when "
                                  "it cannot).",
                   .output = "Health", .errors = {}, .run = get_health});
  table.push_back({.id = "get_agent_card", .method = "GET", .path = "/.well-known/agent.json",
                   .auth = Auth::none, .summary = "Agent card",
                   .description = "Name, version and the URLs of everything an agent needs.",
                   .output = "AgentCard", .errors = {}, .run = get_agent_card});
  table.push_back({.id = "get_capabilities", .method = "GET", .path = "/v1/capabilities",
                   .auth = Auth::none, .summary = "Capabilities",
                   .description = "Lifecycle states and transitions, the limits in force, every "
                                  "error code and action code.",
                   .output = "Capabilities", .errors = {}, .run = get_capabilities});
  table.push_back({.id = "get_tool_manifest", .method = "GET", .path = "/v1/tool",
                   .auth = Auth::none, .summary = "Tool manifest",
                   .description = "One tool per operation, with its JSON Schema input.",
                   .output = "ToolManifest", .errors = {}, .run = get_tool_manifest});
  table.push_back({.id = "get_openapi_schema", .method = "GET", .path = "/v1/schema",
                   .auth = Auth::none, .summary = "OpenAPI document",
                   .description = "This API as an OpenAPI 3.1 document.",
                   .output = "OpenApiDocument", .errors = {}, .run = get_openapi_schema});
  return table;
}

std::string_view to_string(Auth auth) {
  switch (auth) {
    case Auth::none: return "none";
    case Auth::api_key: return "bearer";
    case Auth::admin_key: return "admin";
  }
  return "none";
}

const Operation* find_operation(const std::vector<Operation>& table, std::string_view id) {
  for (const Operation& operation : table) {
    if (operation.id == id) return &operation;
  }
  return nullptr;
}

std::vector<ErrorCode> declared_errors(const Operation& operation) {
  std::vector<bool> listed(error_catalog().size() + 1, false);
  auto add = [&](ErrorCode code) { listed[static_cast<std::size_t>(code)] = true; };
  for (ErrorCode code : operation.errors) add(code);
  // Any request: malformed HTTP or a key in the query (400), headers too large (431),
  // another method on this path (405), storage or shutdown (503), a fault (500).
  // And one the storage engine in use does not offer (501; docs/scale-out.md).
  for (ErrorCode code : {E::invalid_request, E::request_header_too_large, E::method_not_allowed,
                         E::unavailable, E::server_error, E::not_implemented}) {
    add(code);
  }
  if (operation.has_body()) {
    add(E::unsupported_media_type);
    add(E::payload_too_large);  // the body over server.max_body_bytes
  }
  if (operation.auth == Auth::api_key) {
    add(E::missing_api_key);
    add(E::invalid_api_key);
    add(E::rate_limited);  // the plan's hourly limit of the operation's class
  }
  if (operation.id == "register_account") add(E::rate_limited);  // per client address
  if (operation.auth == Auth::admin_key) add(E::forbidden);  // whatever the header holds
  std::vector<ErrorCode> out;
  for (const ErrorInfo& info : error_catalog()) {
    if (listed[static_cast<std::size_t>(info.code)]) out.push_back(info.code);
  }
  return out;
}

}  // namespace baton::api
