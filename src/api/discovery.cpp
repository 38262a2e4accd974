// The discovery documents (spec section 10): public, no agent_contract, all read off the
// operation table and the running config.
#include <boost/json/serialize.hpp>

#include "api/handlers.hpp"
#include "api/mcp.hpp"
#include "api/operations.hpp"
#include "api/schema.hpp"
#include "api/services.hpp"
#include "core/lifecycle.hpp"
#include "core/version.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Result document(const json::value& body) { return json_result(200, json::serialize(body)); }

// A field's bounds as the operation table declares them (so the document cannot say
// another number than the one enforced).
json::object field_range(const Services& services, std::string_view operation,
                         std::string_view field) {
  json::object range;
  if (const Operation* row = find_operation(services.operations, operation)) {
    for (const FieldSpec& spec : row->fields) {
      if (spec.name != field) continue;
      if (spec.minimum) range["min"] = *spec.minimum;
      if (spec.maximum) range["max"] = *spec.maximum;
    }
  }
  return range;
}

json::object limits_in_force(const Services& services) {
  const Config& config = services.config;
  const TaskLimits& limits = services.limits;
  auto range = [](std::int64_t min, std::int64_t max) {
    return json::object{{"min", min}, {"max", max}};
  };
  json::object lease = range(limits.lease_min_seconds, limits.lease_max_seconds);
  lease["default"] = limits.lease_default_seconds;
  json::object attempts = range(limits.min_max_attempts, limits.max_max_attempts);
  attempts["default"] = limits.default_max_attempts;
  return {
      {"lease_seconds", std::move(lease)},
      {"max_attempts", std::move(attempts)},
      {"priority", field_range(services, "create_task", "priority")},
      {"payload_max_bytes", limits.max_payload_bytes},
      {"payload_max_depth", limits.max_depth},
      {"claim_wait_max_seconds", limits.max_wait_seconds},
      {"schedule_ahead_max_seconds", limits.max_schedule_ahead_seconds},
      {"retry_after_max_seconds", limits.max_retry_after_seconds},
      {"reason_max_chars", limits.max_reason_chars},
      {"worker_id_max_chars", limits.max_worker_id_chars},
      {"idempotency_key_max_chars", limits.max_idempotency_key_chars},
      {"idempotency_ttl_seconds", config.idempotency.ttl_seconds},
      {"list_page_max", field_range(services, "list_tasks", "limit").at("max")},
      {"require_lease_token", config.leases.require_token},
      {"sync", to_string(config.storage.sync)},
      {"body_max_bytes", config.server.max_body_bytes},
      {"header_max_bytes", config.server.max_header_bytes},
      {"max_connections", services.max_connections},
      {"max_connections_per_ip", config.server.max_connections_per_ip},
      {"idle_timeout_seconds", config.server.idle_timeout_seconds},
      {"mcp_max_sessions", config.mcp.max_sessions},
      {"mcp_max_sessions_per_account", config.mcp.max_sessions_per_account},
      {"mcp_session_idle_seconds", config.mcp.session_idle_seconds},
  };
}

json::object lifecycle_document() {
  json::array states, terminal, edges;
  for (int s = 0; s < kTaskStatusCount; ++s) {
    auto status = static_cast<TaskStatus>(s);
    states.emplace_back(to_string(status));
    if (is_terminal(status)) terminal.emplace_back(to_string(status));
  }
  for (const LifecycleEdge& edge : lifecycle_edges()) {
    edges.push_back(json::object{{"from", to_string(edge.from)}, {"to", to_string(edge.to)},
                                 {"by", edge.by}});
  }
  return {{"states", std::move(states)},
          {"initial", "pending"},
          {"terminal", std::move(terminal)},
          {"transitions", std::move(edges)}};
}

}  // namespace

asio::awaitable<Result> get_agent_card(Services& services, Call&) {
  const Config& config = services.config;
  json::object urls{{"capabilities", "/v1/capabilities"},
                    {"tools", "/v1/tool"},
                    {"openapi", "/v1/schema"},
                    {"registration", "/v1/keys/register"},
                    {"documentation", "/v1/schema"},
                    {"health", "/health"}};
  if (config.mcp.enabled) urls["mcp"] = McpEndpoint::kPath;
  json::object card{
      {"name", "Baton"},
      {"description",
       "A self-hosted task server for autonomous agents: claim a task by type, hold its "
       "lease with heartbeats, complete or fail it. Every answer carries an agent_contract "
       "saying what to do next."},
      {"version", kBatonVersion},
      {"api", "orchestrion-v1"},
      {"urls", std::move(urls)},
      {"authentication",
       {{"scheme", "bearer"},
        {"header", "Authorization: Bearer <apiKey>"},
        {"registration", to_string(config.registration)},
        {"how", "POST /v1/keys/register answers apiKey once; send it on every /v1 call and "
                "on /mcp."}}},
      {"worker_loop",
       json::array{"claim_task with wait_seconds (long poll)",
                   "heartbeat every recommended_heartbeat_interval_seconds with lease_token",
                   "complete_task or fail_task with lease_token",
                   "follow agent_contract.next_actions when unsure"}},
  };
  if (config.mcp.enabled) {
    json::array versions;
    for (std::string_view version : McpEndpoint::kProtocolVersions) versions.emplace_back(version);
    card["mcp"] = json::object{{"endpoint", McpEndpoint::kPath},
                               {"transport", "streamable-http"},
                               {"protocol_versions", std::move(versions)}};
  }
  co_return document(card);
}

asio::awaitable<Result> get_capabilities(Services& services, Call&) {
  json::array errors, actions, operations;
  for (const ErrorInfo& info : error_catalog()) {
    errors.push_back(json::object{{"code", info.name},
                                  {"http_status", info.http_status},
                                  {"retryable", info.retryable},
                                  {"action", to_string(info.action)}});
  }
  for (int a = 0; a <= static_cast<int>(kLastActionCode); ++a) {
    actions.emplace_back(to_string(static_cast<ActionCode>(a)));
  }
  for (const Operation& operation : services.operations) {
    json::array codes;
    for (ErrorCode code : declared_errors(operation)) codes.emplace_back(error_info(code).name);
    json::object row{{"id", operation.id},
                     {"method", operation.method},
                     {"path", operation.path},
                     {"auth", to_string(operation.auth)},
                     {"mcp_tool", operation.mcp_tool},
                     {"errors", std::move(codes)}};
    if (operation.auth == Auth::api_key) row["rate_class"] = to_string(operation.rate);
    operations.push_back(std::move(row));
  }
  // The plans as in force now (SIGHUP may have replaced the file's).
  const LimitsInForce& in_force = services.plans.current();
  json::object plans;
  for (const auto& [name, plan] : in_force.plans.plans) {
    json::object limits;
    Plan values = plan;
    for (const PlanKey& key : plan_keys()) {
      std::int64_t value = plan_value(values, key);
      limits[key.key] = value > 0 ? json::value(value) : json::value(nullptr);  // null: none
    }
    plans[name] = std::move(limits);
  }
  json::object capabilities{
      {"name", "Baton"},
      {"version", kBatonVersion},
      {"lifecycle", lifecycle_document()},
      {"limits", limits_in_force(services)},
      {"errors", std::move(errors)},
      {"actions", std::move(actions)},
      {"operations", std::move(operations)},
      // Per account and class, in fixed hours (operations[].rate_class says each call's).
      {"rate_limits",
       {{"enforced", true},
        {"window", "hour"},
        {"classes", {"create", "claim", "read", "mutate", "heartbeat"}},
        {"headers", {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}},
        {"registrations_per_hour_per_address",
         in_force.registrations_per_hour_per_address > 0
             ? json::value(in_force.registrations_per_hour_per_address)
             : json::value(nullptr)}}},
      {"plans", {{"default_plan", in_force.plans.default_plan}, {"plans", std::move(plans)}}},
      {"registration", to_string(services.config.registration)},
  };
  co_return document(capabilities);
}

asio::awaitable<Result> get_tool_manifest(Services& services, Call&) {
  json::array tools;
  for (const Operation& operation : services.operations) {
    json::object tool = tool_entry(operation);
    // Beyond MCP's fields: how to call it over plain HTTP.
    tool["method"] = operation.method;
    tool["path"] = operation.path;
    tool["auth"] = to_string(operation.auth);
    tool["mcp_tool"] = operation.mcp_tool;
    tools.push_back(std::move(tool));
  }
  co_return document(json::object{{"tools", std::move(tools)}});
}

asio::awaitable<Result> get_openapi_schema(Services& services, Call&) {
  co_return document(openapi_document(services.operations, kBatonVersion, services.config.mcp.enabled));
}

}  // namespace baton::api
