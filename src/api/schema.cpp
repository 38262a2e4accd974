#include "api/schema.hpp"

#include <boost/json/parse.hpp>

#include <cctype>
#include <map>

namespace baton::api {

namespace json = boost::json;

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
                       "workers_limit": {"type": "integer", "minimum": 0}}}
    }
  },
  "Plan": {
    "type": "object", "required": ["name", "workers", "tasks_per_month", "claims_per_hour",
                                   "creates_per_hour", "reads_per_hour", "mutations_per_hour",
                                   "heartbeats_per_hour", "retention_days", "retention_seconds"],
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
                            "description": "Wins over retention_days when set."}
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
      "mean_run_ms": {"type": "integer", "description": "From claim to result."}}
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
      "assignedUntil": {"type": ["string", "null"], "format": "date-time"}
    }
  },
  "TaskAnswer": {
    "type": "object", "required": ["task", "agent_contract"],
    "properties": {"task": {"$ref": "#/components/schemas/Task"},
                   "agent_contract": {"$ref": "#/components/schemas/AgentContract"},
                   "children": {"description": "Reads of a parent: its children (the first 1000 ids, oldest first) and how many are in each state.",
                                "type": "object", "required": ["count", "ids", "rollup"],
                                "properties": {"count": {"type": "integer", "minimum": 0},
                                               "ids": {"type": "array", "items": {"type": "string"}},
                                               "rollup": {"type": "object", "additionalProperties": {"type": "integer"}}}},
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

json::object field_schema(const FieldSpec& field);

// An object whose members are `fields` (any object when there are none).
json::object properties_schema(const std::vector<FieldSpec>& fields) {
  json::object schema{{"type", "object"}};
  if (fields.empty()) return schema;
  json::object properties;
  json::array required;
  for (const FieldSpec& inner : fields) {
    properties[inner.name] = field_schema(inner);
    if (inner.required) required.emplace_back(inner.name);
  }
  schema["properties"] = std::move(properties);
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json::object field_schema(const FieldSpec& field) {
  json::object schema;
  switch (field.type) {
    case FieldType::string:
      schema["type"] = "string";
      if (field.minimum) schema["minLength"] = *field.minimum;
      if (field.maximum) schema["maxLength"] = *field.maximum;
      if (!field.pattern.empty()) schema["pattern"] = field.pattern;
      if (!field.one_of.empty()) {
        json::array words;
        for (std::string_view word : field.one_of) words.emplace_back(word);
        schema["enum"] = std::move(words);
      }
      break;
    case FieldType::integer:
      schema["type"] = "integer";
      if (field.minimum) schema["minimum"] = *field.minimum;
      if (field.maximum) schema["maximum"] = *field.maximum;
      break;
    case FieldType::boolean:
      schema["type"] = "boolean";
      break;
    case FieldType::object:
      schema = properties_schema(field.properties);
      break;
    case FieldType::array:
      schema["type"] = "array";
      if (field.items == FieldType::string) {
        json::object item{{"type", "string"}};
        if (!field.pattern.empty()) item["pattern"] = field.pattern;
        schema["items"] = std::move(item);
      } else {
        schema["items"] = properties_schema(field.properties);
      }
      if (field.minimum) schema["minItems"] = *field.minimum;
      if (field.maximum) schema["maxItems"] = *field.maximum;
      break;
  }
  std::string description(field.description);
  if (!field.alias.empty()) {
    description += (description.empty() ? "" : " ") + std::string("Also accepted as ") +
                   std::string(field.alias) + ".";
  }
  if (!description.empty()) schema["description"] = description;
  return schema;
}

json::object object_schema(const Operation& operation, bool body_only) {
  json::object properties;
  json::array required;
  for (const FieldSpec& field : operation.fields) {
    if (body_only && field.in != FieldIn::body) continue;
    properties[field.name] = field_schema(field);
    if (field.required) required.emplace_back(field.name);
  }
  json::object schema{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json::object ref(std::string_view component) {
  return {{"$ref", "#/components/schemas/" + std::string(component)}};
}

json::object json_content(json::object schema) {
  return {{"application/json", {{"schema", std::move(schema)}}}};
}

std::string_view tag_of(const Operation& operation) {
  if (operation.path.starts_with("/v1/tasks")) return "tasks";
  if (operation.path.starts_with("/v1/workers")) return "workers";
  if (operation.path.starts_with("/v1/keys")) return "keys";
  if (operation.path.starts_with("/v1/admin")) return "admin";
  return "discovery";
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

json::object error_responses(const std::vector<ErrorCode>& codes, json::object responses) {
  std::map<int, json::array> by_status;
  for (ErrorCode code : codes) by_status[error_info(code).http_status].emplace_back(error_info(code).name);
  for (auto& [status, names] : by_status) {
    std::string description;
    for (const json::value& name : names) {
      description += (description.empty() ? "" : ", ") + std::string(name.as_string());
    }
    json::object response{{"description", description},
                          {"content", json_content(ref("Error"))},
                          {"x-error-codes", std::move(names)}};
    if (status == 429 || status == 503) {
      response["headers"] = json::object{
          {"Retry-After", {{"description", "Seconds to wait before retrying."},
                           {"schema", {{"type", "integer"}}}}}};
    }
    responses[std::to_string(status)] = std::move(response);
  }
  return responses;
}

json::object operation_object(const Operation& operation) {
  json::object out{{"operationId", operation.id},
                   {"summary", operation.summary},
                   {"description", operation.description},
                   {"tags", json::array{tag_of(operation)}}};
  switch (operation.auth) {
    case Auth::none: out["security"] = json::array{}; break;
    case Auth::api_key:
      out["security"] = json::array{json::object{{"bearer", json::array{}}}};
      break;
    case Auth::admin_key:
      out["security"] = json::array{json::object{{"admin_key", json::array{}}}};
      break;
  }
  json::array parameters;
  for (const FieldSpec& field : operation.fields) {
    if (field.in == FieldIn::body) continue;
    json::object parameter{{"name", field.name},
                           {"in", field.in == FieldIn::path ? "path" : "query"},
                           {"required", field.in == FieldIn::path || field.required},
                           {"schema", field_schema(field)}};
    if (!field.description.empty()) parameter["description"] = field.description;
    parameters.push_back(std::move(parameter));
  }
  if (!parameters.empty()) out["parameters"] = std::move(parameters);
  if (operation.has_body()) {
    json::object body = object_schema(operation, true);
    bool required = body.contains("required");
    out["requestBody"] = json::object{{"required", required},
                                      {"content", json_content(std::move(body))}};
  }
  json::object responses{{std::to_string(operation.success_status),
                          {{"description", operation.summary},
                           {"content", json_content(ref(operation.output))}}}};
  out["responses"] = error_responses(declared_errors(operation), std::move(responses));
  return out;
}

// POST /mcp is a transport, not an operation: it carries the operations as tools.
json::object mcp_path_item() {
  json::object responses{
      {"200", {{"description", "A JSON-RPC response; a tool's own failure is a result with "
                               "isError true."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"202", {{"description", "A notification or a client response was accepted."}}},
      {"400", {{"description", "Malformed JSON-RPC, a missing Mcp-Session-Id or an unsupported "
                               "MCP-Protocol-Version."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"401", {{"description", "missing_api_key, invalid_api_key"},
               {"content", json_content(ref("Error"))}}},
      {"403", {{"description", "An Origin header that is not allowed."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"404", {{"description", "An unknown or expired session."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"405", {{"description", "method_not_allowed (GET: no event stream is offered)"},
               {"content", json_content(ref("Error"))}}},
      {"413", {{"description", "payload_too_large: the body exceeds server.max_body_bytes"},
               {"content", json_content(ref("Error"))}}},
      {"415", {{"description", "A Content-Type other than JSON."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"503", {{"description", "Too many sessions, or the server is unavailable."},
               {"content", json_content(ref("JsonRpcMessage"))}}}};
  json::object post{{"operationId", "mcp"},
                    {"summary", "Model Context Protocol"},
                    {"description", "Streamable HTTP transport, JSON-RPC 2.0: initialize, ping, "
                                    "tools/list, tools/call. One tool per task operation."},
                    {"tags", json::array{"mcp"}},
                    {"security", json::array{json::object{{"bearer", json::array{}}}}},
                    {"requestBody", {{"required", true},
                                     {"content", json_content(ref("JsonRpcMessage"))}}},
                    {"responses", std::move(responses)}};
  json::object end{
      {"operationId", "mcp_end_session"},
      {"summary", "End an MCP session"},
      {"description", "Ends the session named by the Mcp-Session-Id header."},
      {"tags", json::array{"mcp"}},
      {"security", json::array{json::object{{"bearer", json::array{}}}}},
      {"parameters", json::array{json::object{{"name", "Mcp-Session-Id"},
                                              {"in", "header"},
                                              {"required", true},
                                              {"schema", {{"type", "string"}}}}}},
      {"responses",
       {{"204", {{"description", "The session ended."}}},
        {"400", {{"description", "No Mcp-Session-Id header."},
                 {"content", json_content(ref("JsonRpcMessage"))}}},
        {"401", {{"description", "missing_api_key, invalid_api_key"},
                 {"content", json_content(ref("Error"))}}},
        {"404", {{"description", "No such session of this account."},
                 {"content", json_content(ref("JsonRpcMessage"))}}}}}};
  return {{"post", std::move(post)}, {"delete", std::move(end)}};
}

}  // namespace

json::object input_schema(const Operation& operation) { return object_schema(operation, false); }

json::object tool_entry(const Operation& operation) {
  return {{"name", operation.id},
          {"title", operation.summary},
          {"description", operation.description},
          {"inputSchema", input_schema(operation)}};
}

json::object openapi_document(const std::vector<Operation>& table, std::string_view version,
                              bool with_mcp) {
  json::object components_schemas = json::parse(kComponents).as_object();
  json::array codes, actions;
  for (const ErrorInfo& info : error_catalog()) codes.emplace_back(info.name);
  for (int a = 0; a <= static_cast<int>(kLastActionCode); ++a) {
    actions.emplace_back(to_string(static_cast<ActionCode>(a)));
  }
  components_schemas["Error"].as_object()["properties"].as_object()["error"].as_object()["enum"] =
      std::move(codes);
  components_schemas["NextAction"].as_object()["properties"].as_object()["action"].as_object()["enum"] =
      std::move(actions);

  json::object paths;
  for (const Operation& operation : table) {
    json::value& item = paths[operation.path];
    if (!item.is_object()) item = json::object{};
    item.as_object()[lower(operation.method)] = operation_object(operation);
  }
  json::array tags{json::object{{"name", "tasks"}, {"description", "The task lifecycle."}},
                   json::object{{"name", "workers"}, {"description", "The worker roster and rank."}},
                   json::object{{"name", "keys"}, {"description", "Accounts and API keys."}},
                   json::object{{"name", "admin"},
                                {"description", "The operator's operations, with the admin key."}},
                   json::object{{"name", "discovery"},
                                {"description", "What an agent reads first; no key needed."}}};
  if (with_mcp) {
    paths["/mcp"] = mcp_path_item();
    tags.push_back(json::object{{"name", "mcp"}, {"description", "The MCP endpoint."}});
  } else {
    components_schemas.erase("JsonRpcMessage");
  }

  return {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "Baton"},
        {"version", version},
        {"summary", "A self-hosted task server for autonomous agents."},
        {"description",
         "Producers create tasks; workers claim them by type, hold a lease renewed by "
         "heartbeats, and complete or fail them. Every answer of /v1 carries an agent_contract "
         "saying what to do next. Speaks the Orchestrion v1 API."},
        {"license", {{"name", "MIT"}, {"identifier", "MIT"}}}}},
      {"servers", json::array{json::object{{"url", "/"}, {"description", "This server."}}}},
      {"tags", std::move(tags)},
      {"paths", std::move(paths)},
      {"components",
       {{"schemas", std::move(components_schemas)},
        {"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                      {"description", "An API key from POST /v1/keys/register."}}},
          {"admin_key", {{"type", "http"}, {"scheme", "bearer"},
                         {"description", "The server's admin key (config admin_key), for the "
                                         "admin operations only."}}}}}}}};
}

}  // namespace baton::api
