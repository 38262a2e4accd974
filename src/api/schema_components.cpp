// The schemas of the answer bodies: data, beside render.cpp, which writes the answers.
#include "api/schema.hpp"

namespace baton::api {

namespace {

// The answer bodies, as JSON Schema 2020-12 (OpenAPI 3.1). Written by hand beside
// render.cpp, which writes them; the integration tests validate live answers against it.
// The error and action enums are filled from the catalogs in core/errors.
constexpr std::string_view kComponents = R"json({
  "NextAction": {
    "type": "object", "required": ["action", "available", "recommended"],
    "properties": {
      "action": {"type": "string"}, "available": {"type": "boolean"},
      "recommended": {"type": "boolean", "description": "Exactly one action is recommended."},
      "description": {"type": "string"}, "method": {"type": "string"},
      "endpoint": {"type": "string"},
      "retry_after_seconds": {"type": "integer", "minimum": 0},
      "output_id": {"type": "string"}
    }
  },
  "AgentContract": {
    "type": "object", "required": ["version", "retryable", "next_actions"],
    "description": "What the agent should do next.",
    "properties": {
      "version": {"type": "string", "const": "1"}, "retryable": {"type": "boolean"},
      "next_actions": {"type": "array", "minItems": 1,
                       "items": {"$ref": "#/components/schemas/NextAction"}},
      "task_claimable": {"type": "boolean"}, "lease_valid": {"type": "boolean"},
      "lease_expires_in_seconds": {"type": "integer"},
      "recommended_heartbeat_interval_seconds": {"type": "integer", "minimum": 1},
      "billing_context": {
        "type": "object", "required": ["workers_in_use", "workers_limit"],
        "description": "max_workers_reached only: the plan and its worker limit.",
        "properties": {"plan": {"type": "string"},
                       "workers_in_use": {"type": "integer", "minimum": 0},
                       "workers_limit": {"type": "integer", "minimum": 0}}},
      "budget_context": {
        "type": "object", "required": ["reason", "scope", "budget_usd", "spent_usd"],
        "description": "budget_exceeded: the task's budget or the account's for the month.",
        "properties": {"reason": {"const": "budget_exceeded"},
                       "scope": {"enum": ["task", "month"]},
                       "budget_usd": {"type": "number"}, "spent_usd": {"type": "number"},
                       "resets_at": {"type": "string", "format": "date-time"}}},
      "queue_context": {
        "type": "object", "required": ["reason", "type"],
        "description": "queue_paused: an operator paused the claimed type's queue.",
        "properties": {"reason": {"const": "queue_paused"}, "type": {"type": "string"}}}
    }
  },
  "Plan": {
    "type": "object", "required": ["name", "workers", "tasks_per_month", "claims_per_hour",
                                   "creates_per_hour", "reads_per_hour", "mutations_per_hour",
                                   "heartbeats_per_hour", "retention_days", "retention_seconds",
                                   "cost_budget_usd"],
    "description": "A plan's limits; null is no limit.",
    "properties": {
      "name": {"type": "string"},
      "workers": {"type": ["integer", "null"], "minimum": 1},
      "tasks_per_month": {"type": ["integer", "null"], "minimum": 1},
      "claims_per_hour": {"type": ["integer", "null"], "minimum": 1},
      "creates_per_hour": {"type": ["integer", "null"], "minimum": 1},
      "reads_per_hour": {"type": ["integer", "null"], "minimum": 1},
      "mutations_per_hour": {"type": ["integer", "null"], "minimum": 1},
      "heartbeats_per_hour": {"type": ["integer", "null"], "minimum": 1},
      "retention_days": {"type": ["integer", "null"], "minimum": 1},
      "retention_seconds": {"type": ["integer", "null"], "minimum": 1,
                            "description": "Wins over retention_days when set."},
      "cost_budget_usd": {"type": ["integer", "null"], "minimum": 1,
                          "description": "Whole dollars of reported cost per calendar month."}
    }
  },
  "UsageCounts": {
    "type": "object",
    "required": ["created", "claimed", "completed", "failed", "dead_lettered", "cancelled",
                 "mean_wait_ms", "mean_run_ms"],
    "properties": {
      "created": {"type": "integer"}, "claimed": {"type": "integer"},
      "completed": {"type": "integer"},
      "failed": {"type": "integer", "description": "Attempts that failed or expired."},
      "dead_lettered": {"type": "integer"}, "cancelled": {"type": "integer"},
      "mean_wait_ms": {"type": "integer", "description": "From claimable to claimed."},
      "mean_run_ms": {"type": "integer", "description": "From claim to result."},
      "cost": {"$ref": "#/components/schemas/Cost"}}
  },
  "Period": {
    "type": "object", "required": ["start", "end"],
    "properties": {"start": {"type": "string", "format": "date-time"},
                   "end": {"type": "string", "format": "date-time"}}
  },
  "Usage": {
    "type": "object", "required": ["accountId", "period", "totals", "quota", "workers_in_use",
                                   "agent_contract"],
    "properties": {
      "accountId": {"type": "string"},
      "period": {"$ref": "#/components/schemas/Period"},
      "totals": {"$ref": "#/components/schemas/UsageCounts"},
      "quota": {"type": "object", "required": ["tasks_per_month", "created_this_month"],
                "properties": {"tasks_per_month": {"type": ["integer", "null"]},
                               "created_this_month": {"type": "integer", "minimum": 0}}},
      "workers_in_use": {"type": "integer", "minimum": 0},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "UsageSeries": {
    "type": "object", "required": ["bucket", "period", "points", "agent_contract"],
    "properties": {
      "bucket": {"type": "string", "enum": ["hour", "day"]},
      "period": {"$ref": "#/components/schemas/Period"},
      "points": {"type": "array", "items": {"allOf": [
        {"$ref": "#/components/schemas/UsageCounts"},
        {"type": "object", "required": ["start"],
         "properties": {"start": {"type": "string", "format": "date-time"}}}]}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "UsageBreakdown": {
    "type": "object", "required": ["period", "types", "agent_contract"],
    "properties": {
      "period": {"$ref": "#/components/schemas/Period"},
      "types": {"type": "array", "items": {"allOf": [
        {"$ref": "#/components/schemas/UsageCounts"},
        {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}]}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "LogLine": {
    "type": "object", "required": ["seq", "timestamp", "level", "message", "workerId", "taskId"],
    "properties": {
      "seq": {"type": "integer", "minimum": 1},
      "timestamp": {"type": "string", "format": "date-time"},
      "level": {"type": "string"}, "message": {"type": "string"}, "data": {"type": "object"},
      "workerId": {"type": ["string", "null"]}, "taskId": {"type": "string"}}
  },
  "LogState": {
    "type": "object", "required": ["first_seq", "last_seq", "bytes", "dropped"],
    "description": "The kept lines are first_seq..last_seq (none when first_seq > last_seq).",
    "properties": {
      "first_seq": {"type": "integer"}, "last_seq": {"type": "integer"},
      "bytes": {"type": "integer"}, "dropped": {"type": "integer"}}
  },
  "LogAppended": {
    "type": "object", "required": ["taskId", "appended", "seqs", "log", "agent_contract"],
    "properties": {
      "taskId": {"type": "string"}, "appended": {"type": "integer"},
      "seqs": {"type": "object", "required": ["first", "last"],
               "properties": {"first": {"type": "integer"}, "last": {"type": "integer"}}},
      "log": {"$ref": "#/components/schemas/LogState"},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "LogPage": {
    "type": "object", "required": ["taskId", "status", "lines", "log", "next_after", "agent_contract"],
    "properties": {
      "taskId": {"type": "string"}, "status": {"type": "string"},
      "lines": {"type": "array", "items": {"$ref": "#/components/schemas/LogLine"}},
      "log": {"$ref": "#/components/schemas/LogState"},
      "next_after": {"type": "integer"},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "LogStream": {
    "type": "string",
    "description": "text/event-stream: `id: <seq>` and `data: <LogLine>` per line, `: keep-alive` comments, `event: end` (data {taskId, status}) or `event: dropped` (data {taskId, reason}) last. Over WebSocket: {type: logs, data: [LogLine]} messages, then {type: end | dropped, data}."
  },
  "AccountList": {
    "type": "object", "required": ["accounts", "next_after"],
    "properties": {
      "accounts": {"type": "array", "items": {
        "type": "object", "required": ["accountId", "label", "plan", "createdAt"],
        "properties": {"accountId": {"type": "string"}, "label": {"type": "string"},
                       "plan": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"}}}},
      "next_after": {"type": ["string", "null"]}}
  },
  "Page": {
    "type": "string",
    "description": "text/html, text/javascript or text/css: the dashboard (docs/dashboard.md)."
  },
  "Metrics": {
    "type": "string",
    "description": "text/plain; version=0.0.4: the Prometheus text exposition format (docs/operations.md lists the metrics)."
  },
  "StreamToken": {
    "type": "object", "required": ["token", "expires_at", "url", "agent_contract"],
    "properties": {
      "token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
      "url": {"type": "string"},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Cost": {
    "type": "object", "description": "Seed 004's CostBreakdown: the sum of what was reported.",
    "required": ["inputTokens", "outputTokens", "totalTokens", "estimatedCostUsd", "cpuTimeMs",
                 "subrequests"],
    "properties": {
      "inputTokens": {"type": "integer", "minimum": 0},
      "outputTokens": {"type": "integer", "minimum": 0},
      "totalTokens": {"type": "integer", "minimum": 0},
      "estimatedCostUsd": {"type": "number", "minimum": 0},
      "cpuTimeMs": {"type": "integer", "minimum": 0},
      "subrequests": {"type": "integer", "minimum": 0}}
  },
  "Costs": {
    "type": "object", "required": ["tasks", "aggregate", "by_type", "next_cursor", "agent_contract"],
    "properties": {
      "tasks": {"type": "array", "items": {
        "type": "object", "required": ["taskId", "type", "status", "cost"],
        "properties": {"taskId": {"type": "string"}, "type": {"type": "string"},
                       "status": {"type": "string"},
                       "cost": {"$ref": "#/components/schemas/Cost"}}}},
      "aggregate": {"$ref": "#/components/schemas/Cost"},
      "by_type": {"type": "object",
                  "additionalProperties": {"$ref": "#/components/schemas/Cost"}},
      "next_cursor": {"type": ["string", "null"]},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "AccountBudget": {
    "type": "object", "required": ["account", "agent_contract"],
    "properties": {
      "account": {"type": "object", "required": ["id", "cost_budget_usd"],
                  "properties": {"id": {"type": "string"},
                                 "cost_budget_usd": {"type": ["number", "null"],
                                                     "description": "null: the plan's."}}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "BillingPlans": {
    "type": "object", "required": ["plans", "default_plan"],
    "properties": {"plans": {"type": "array", "items": {"$ref": "#/components/schemas/Plan"}},
                   "default_plan": {"type": "string"}, "payment": {"type": "string"}}
  },
  "BillingStatus": {
    "type": "object", "required": ["accountId", "plan", "period", "usage", "agent_contract"],
    "properties": {
      "accountId": {"type": "string"},
      "plan": {"$ref": "#/components/schemas/Plan"},
      "period": {"type": "object", "required": ["start", "end"],
                 "properties": {"start": {"type": "string", "format": "date-time"},
                                "end": {"type": "string", "format": "date-time"}}},
      "usage": {"type": "object", "required": ["workers_in_use", "requests_this_hour"],
                "properties": {"workers_in_use": {"type": "integer", "minimum": 0},
                               "tasks_created_this_month": {"type": "integer", "minimum": 0},
                               "cost_this_month": {"type": "object",
                                                   "properties": {"spent_usd": {"type": "number"},
                                                                  "budget_usd": {"type": ["number", "null"]}}},
                               "requests_this_hour": {"type": "object"}}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "AccountPlan": {
    "type": "object", "required": ["account", "plan", "agent_contract"],
    "properties": {
      "account": {"type": "object", "required": ["id", "plan"],
                  "properties": {"id": {"type": "string"}, "label": {"type": "string"},
                                 "plan": {"type": "string"},
                                 "createdAt": {"type": "string", "format": "date-time"}}},
      "plan": {"$ref": "#/components/schemas/Plan"},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Task": {
    "type": "object",
    "required": ["id", "type", "status", "payload", "priority", "maxAttempts", "attemptCount",
                 "leaseDurationSeconds", "createdAt", "updatedAt"],
    "properties": {
      "id": {"type": "string", "pattern": "^tsk_[0-9A-HJKMNP-TV-Z]{26}$"},
      "type": {"type": "string"},
      "status": {"type": "string",
                 "enum": ["pending", "claimed", "completed", "dead_letter", "cancelled",
                          "blocked", "awaiting_review", "awaiting_acceptance"]},
      "payload": {"type": "object"}, "result": {"type": ["object", "null"]},
      "outputId": {"type": ["string", "null"]}, "priority": {"type": "integer"},
      "maxAttempts": {"type": "integer"}, "attemptCount": {"type": "integer"},
      "leaseDurationSeconds": {"type": "integer"},
      "leaseExpiresAt": {"type": ["string", "null"], "format": "date-time"},
      "claimedBy": {"type": ["string", "null"]},
      "leaseToken": {"type": "string",
                     "description": "Only in claim and heartbeat answers: the fencing token."},
      "scheduledAt": {"type": ["string", "null"], "format": "date-time"},
      "failureReason": {"type": ["string", "null"]},
      "createdAt": {"type": "string", "format": "date-time"},
      "updatedAt": {"type": "string", "format": "date-time"},
      "completedAt": {"type": ["string", "null"], "format": "date-time"},
      "dependsOn": {"type": "array", "items": {"type": "string"},
                    "description": "Only on tasks created with depends_on."},
      "waitingOn": {"type": "array", "items": {"type": "string"},
                    "description": "The dependencies not finished yet."},
      "onDependencyFailure": {"type": "string", "enum": ["cancel", "run"]},
      "parentTaskId": {"type": "string"},
      "review": {"type": "object", "properties": {"required": {"type": "boolean"}}},
      "reviewFeedback": {"type": "string",
                         "description": "The latest revise or rework feedback, for the next claimer."},
      "definitionOfDone": {"type": "string"},
      "verification": {"type": "object", "required": ["type", "state", "taskId", "notes"],
                       "properties": {"type": {"type": "string"},
                                      "state": {"type": "string", "enum": ["none", "pending", "passed", "failed"]},
                                      "taskId": {"type": ["string", "null"]},
                                      "notes": {"type": ["string", "null"]}}},
      "autoAccept": {"type": "boolean"},
      "acceptanceDeadline": {"type": ["string", "null"], "format": "date-time"},
      "verifiesTaskId": {"type": "string", "description": "On a verifier's task: the task it verifies."},
      "assignTo": {"type": "string", "description": "Only this worker may claim the task (until assignedUntil, when set)."},
      "cost": {"$ref": "#/components/schemas/Cost"},
      "budgetUsd": {"type": "number", "description": "Past it, answers say budget_exceeded."},
      "assignedUntil": {"type": ["string", "null"], "format": "date-time"}
    }
  },
  "TaskAnswer": {
    "type": "object", "required": ["task", "agent_contract"],
    "properties": {"task": {"$ref": "#/components/schemas/Task"},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"},
                   "children": {"description": "Reads of a parent: its children (the first 1000 ids, oldest first) and how many are in each state.",
                                "type": "object", "required": ["count", "ids", "rollup", "cost", "total_cost"],
                                "properties": {"count": {"type": "integer", "minimum": 0},
                                               "ids": {"type": "array", "items": {"type": "string"}},
                                               "rollup": {"type": "object", "additionalProperties": {"type": "integer"}},
                                               "cost": {"$ref": "#/components/schemas/Cost"},
                                               "total_cost": {"$ref": "#/components/schemas/Cost"}}},
                   "next": {"description": "Complete and fail with claim_next: the claim made after this call (a ClaimAnswer; with error and message when the claim itself failed).",
                            "$ref": "#/components/schemas/ClaimAnswer"}}
  },
  "ClaimAnswer": {
    "type": "object", "required": ["agent_contract"],
    "description": "task without max_tasks; tasks with it.",
    "properties": {
      "task": {"description": "null when no task was claimable (within wait_seconds).",
               "anyOf": [{"$ref": "#/components/schemas/Task"}, {"type": "null"}]},
      "tasks": {"type": "array", "description": "With max_tasks: each claimed task and its own contract; empty when none was claimable.",
                "items": {"$ref": "#/components/schemas/TaskAnswer"}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "BatchCreated": {
    "type": "object", "required": ["tasks", "taskIds", "agent_contract"],
    "properties": {
      "tasks": {"type": "array", "description": "Each task as create_task answers it, in request order.",
                "items": {"$ref": "#/components/schemas/TaskAnswer"}},
      "taskIds": {"type": "array", "items": {"type": "string"}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "TaskList": {
    "type": "object", "required": ["tasks", "next_cursor", "agent_contract"],
    "properties": {
      "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
      "next_cursor": {"type": ["string", "null"]},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Error": {
    "type": "object", "required": ["error", "message", "request_id", "agent_contract"],
    "properties": {
      "error": {"type": "string"}, "message": {"type": "string"},
      "request_id": {"type": "string", "description": "Equals the X-Request-Id header."},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Schedule": {
    "type": "object",
    "required": ["id", "name", "cron", "timezone", "enabled", "missed", "task", "webhook",
                 "next_run_at", "last_run_at", "last_task_id", "runs", "created_at", "updated_at"],
    "properties": {
      "id": {"type": "string"}, "name": {"type": "string"}, "cron": {"type": "string"},
      "timezone": {"type": "string"}, "enabled": {"type": "boolean"},
      "missed": {"enum": ["skip", "run_once"]},
      "task": {"type": "object", "description": "The template: the fields of a create."},
      "webhook": {"type": "boolean", "description": "Whether it has a webhook URL."},
      "next_run_at": {"type": ["string", "null"], "format": "date-time"},
      "last_run_at": {"type": ["string", "null"], "format": "date-time"},
      "last_task_id": {"type": ["string", "null"]},
      "runs": {"type": "integer", "minimum": 0},
      "created_at": {"type": "string", "format": "date-time"},
      "updated_at": {"type": "string", "format": "date-time"}}
  },
  "ScheduleAnswer": {
    "type": "object", "required": ["schedule", "agent_contract"],
    "properties": {
      "schedule": {"$ref": "#/components/schemas/Schedule"},
      "webhook": {"type": "object", "required": ["url", "secret"],
                  "description": "Only when the secret was just made (create, webhook: true, rotate).",
                  "properties": {"url": {"type": "string"}, "secret": {"type": "string"}}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "ScheduleList": {
    "type": "object", "required": ["schedules", "agent_contract"],
    "properties": {"schedules": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "TaskEvent": {
    "type": "object", "required": ["at", "event", "from", "to", "attempt", "worker_id", "detail"],
    "properties": {
      "at": {"type": "string", "format": "date-time"},
      "event": {"enum": ["create_task", "claim_task", "complete_task", "fail_task", "lease_expired",
                         "cancel_task", "requeue_task", "review_task", "dependency_done",
                         "accept_task", "rework_task", "verification_done", "acceptance_timeout"],
                "description": "The operation or event of the lifecycle edge taken (GET /v1/capabilities lists the edges)."},
      "from": {"type": ["string", "null"], "description": "The state before; null for create_task."},
      "to": {"type": "string", "description": "The state after."},
      "attempt": {"type": "integer", "minimum": 0, "description": "attemptCount after the event."},
      "worker_id": {"type": ["string", "null"], "description": "The worker of the claim the event made or ended."},
      "detail": {"type": ["string", "null"],
                 "description": "A failure reason, a reviewer's feedback, the dependency that finished, a verification's verdict; at most 200 bytes."}}
  },
  "TaskHistory": {
    "type": "object", "required": ["task_id", "status", "events", "dropped", "agent_contract"],
    "properties": {"task_id": {"type": "string"},
                   "status": {"type": "string"},
                   "events": {"type": "array", "items": {"$ref": "#/components/schemas/TaskEvent"},
                              "description": "Oldest first, the latest tasks.history_kept."},
                   "dropped": {"type": "integer", "minimum": 0, "description": "Older events dropped."},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "ScheduleRun": {
    "type": "object", "required": ["seq", "trigger", "due_at", "fired_at", "task_id", "task_status", "error"],
    "properties": {
      "seq": {"type": "integer", "minimum": 1},
      "trigger": {"enum": ["cron", "manual", "webhook", "missed"]},
      "due_at": {"type": "string", "format": "date-time"},
      "fired_at": {"type": "string", "format": "date-time"},
      "task_id": {"type": ["string", "null"]},
      "task_status": {"type": ["string", "null"], "description": "The task's state now (null: none made, or purged)."},
      "error": {"type": ["string", "null"], "description": "Why no task was made."}}
  },
  "ScheduleRuns": {
    "type": "object", "required": ["runs", "next_before", "agent_contract"],
    "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/ScheduleRun"}},
                   "next_before": {"type": ["integer", "null"]},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "ScheduleFired": {
    "type": "object", "required": ["task", "run", "agent_contract"],
    "properties": {"task": {"$ref": "#/components/schemas/Task"},
                   "run": {"$ref": "#/components/schemas/ScheduleRun"},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Queue": {
    "type": "object",
    "required": ["type", "pending", "scheduled", "claimed", "blocked", "awaiting_review",
                 "awaiting_acceptance", "dead_lettered", "oldest_pending_age_seconds",
                 "created_per_minute", "completed_per_minute", "paused", "paused_at"],
    "properties": {
      "type": {"type": "string"},
      "pending": {"type": "integer", "minimum": 0, "description": "Due: claimable now (or once resumed)."},
      "scheduled": {"type": "integer", "minimum": 0, "description": "Pending, not due yet."},
      "claimed": {"type": "integer", "minimum": 0},
      "blocked": {"type": "integer", "minimum": 0},
      "awaiting_review": {"type": "integer", "minimum": 0},
      "awaiting_acceptance": {"type": "integer", "minimum": 0},
      "dead_lettered": {"type": "integer", "minimum": 0},
      "oldest_pending_age_seconds": {"type": ["integer", "null"],
                                     "description": "How long the longest-waiting due task has waited."},
      "created_per_minute": {"type": "integer", "minimum": 0, "description": "In the last minute."},
      "completed_per_minute": {"type": "integer", "minimum": 0, "description": "In the last minute."},
      "paused": {"type": "boolean"},
      "paused_at": {"type": ["string", "null"], "format": "date-time"}}
  },
  "QueueList": {
    "type": "object", "required": ["queues", "agent_contract"],
    "properties": {"queues": {"type": "array", "items": {"$ref": "#/components/schemas/Queue"}},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "QueueAnswer": {
    "type": "object", "required": ["queue", "agent_contract"],
    "properties": {"queue": {"$ref": "#/components/schemas/Queue"},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "WorkerList": {
    "type": "object", "required": ["workers", "agent_contract"],
    "properties": {
      "workers": {"type": "array", "items": {
        "type": "object",
        "required": ["worker_id", "last_seen", "live_leases", "rank", "types_claimed", "types"],
        "properties": {
          "worker_id": {"type": "string"}, "last_seen": {"type": "string", "format": "date-time"},
          "live_leases": {"type": "integer", "minimum": 0},
          "rank": {"type": "integer", "minimum": 0, "maximum": 100},
          "types_claimed": {"type": "array", "items": {"type": "string"}},
          "types": {"type": "array", "items": {
            "type": "object",
            "required": ["type", "claims", "completed", "failed", "expired", "accepted", "reworked", "mean_complete_ms", "rank"],
            "properties": {
              "type": {"type": "string"}, "claims": {"type": "integer"},
              "completed": {"type": "integer"}, "failed": {"type": "integer"},
              "expired": {"type": "integer"}, "accepted": {"type": "integer"},
              "reworked": {"type": "integer"}, "mean_complete_ms": {"type": ["integer", "null"]},
              "rank": {"type": "integer", "minimum": 0, "maximum": 100}}}}}}},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Registered": {
    "type": "object", "required": ["apiKey", "accountId", "keyId", "agent_contract"],
    "properties": {
      "apiKey": {"type": "string", "description": "Shown once; only its SHA-256 is stored."},
      "accountId": {"type": "string"}, "keyId": {"type": "string"},
      "plan": {"type": "string", "description": "The plan the account follows."},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Key": {
    "type": "object", "required": ["keyId", "label", "createdAt"],
    "properties": {"keyId": {"type": "string"}, "label": {"type": "string"},
                   "createdAt": {"type": "string", "format": "date-time"}}
  },
  "KeyList": {
    "type": "object", "required": ["keys", "agent_contract"],
    "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "KeyCreated": {
    "type": "object", "required": ["apiKey", "accountId", "key", "keyId", "agent_contract"],
    "properties": {"apiKey": {"type": "string"}, "accountId": {"type": "string"},
                   "key": {"$ref": "#/components/schemas/Key"}, "keyId": {"type": "string"},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "KeyRevoked": {
    "type": "object", "required": ["revoked", "keyId", "agent_contract"],
    "properties": {"revoked": {"type": "boolean"}, "keyId": {"type": "string"},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Backup": {
    "type": "object",
    "required": ["path", "bytes", "files", "sequence", "took_ms", "agent_contract"],
    "properties": {
      "path": {"type": "string", "description": "The snapshot's directory on the server."},
      "bytes": {"type": "integer", "minimum": 0,
                "description": "Its files' sizes summed (hard links counted in full)."},
      "files": {"type": "integer", "minimum": 0},
      "sequence": {"type": "integer", "minimum": 0,
                   "description": "Every RocksDB write up to this sequence number is in it."},
      "took_ms": {"type": "integer", "minimum": 0},
      "agent_contract": {"$ref": "#/components/schemas/AgentContract"}}
  },
  "Health": {
    "type": "object",
    "required": ["status", "version", "uptime_seconds", "shards", "storage", "failures"],
    "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                   "version": {"type": "string"}, "uptime_seconds": {"type": "integer"},
                   "shards": {"type": "integer"}, "storage": {"type": "object"},
                   "failures": {"type": "object",
                                "additionalProperties": {"type": "integer", "minimum": 0}},
                   "connections": {"type": "object"},
                   "retention": {"type": "object", "description": "Terminal tasks purged past their plan's retention since start."},
                   "log_streams": {"type": "object", "description": "Live log streams open now (open)."},
                   "dependencies": {"type": "object", "description": "Releases of blocked tasks, and the time from a dependency's terminal state to the release being durable (quantiles, to within 19 %)."}}
  },
  "AgentCard": {
    "type": "object", "required": ["name", "description", "version", "urls"],
    "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                   "version": {"type": "string"}, "api": {"type": "string"},
                   "urls": {"type": "object"}, "authentication": {"type": "object"},
                   "worker_loop": {"type": "array", "items": {"type": "string"}},
                   "mcp": {"type": "object"}}
  },
  "Capabilities": {
    "type": "object",
    "required": ["lifecycle", "limits", "errors", "actions", "operations"],
    "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                   "registration": {"type": "string"},
                   "lifecycle": {"type": "object"}, "limits": {"type": "object"},
                   "errors": {"type": "array"}, "actions": {"type": "array"},
                   "operations": {"type": "array"}, "rate_limits": {"type": "object"},
                   "plans": {"type": "object"}}
  },
  "ToolManifest": {
    "type": "object", "required": ["tools"],
    "properties": {"tools": {"type": "array", "items": {
      "type": "object", "required": ["name", "description", "inputSchema"],
      "properties": {"name": {"type": "string"}, "title": {"type": "string"},
                     "description": {"type": "string"}, "inputSchema": {"type": "object"},
                     "method": {"type": "string"}, "path": {"type": "string"},
                     "auth": {"type": "string", "enum": ["bearer", "admin", "none"]},
                     "mcp_tool": {"type": "boolean"}}}}}
  },
  "OpenApiDocument": {
    "type": "object", "required": ["openapi", "info", "paths"],
    "properties": {"openapi": {"type": "string"}, "info": {"type": "object"},
                   "servers": {"type": "array"}, "tags": {"type": "array"},
                   "paths": {"type": "object"}, "components": {"type": "object"}}
  },
  "JsonRpcMessage": {
    "type": "object", "required": ["jsonrpc"],
    "description": "A JSON-RPC 2.0 request, notification or response (no batches).",
    "properties": {"jsonrpc": {"type": "string", "const": "2.0"},
                   "id": {"type": ["string", "integer"]}, "method": {"type": "string"},
                   "params": {"type": "object"}, "result": {"type": "object"},
                   "error": {"type": "object"}}
  }
})json";

}  // namespace

std::string_view answer_components() { return kComponents; }

}  // namespace baton::api
