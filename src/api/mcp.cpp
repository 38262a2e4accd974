#include "api/mcp.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <stdexcept>

#include "api/auth.hpp"
#include "api/body.hpp"
#include "api/mcp_sessions.hpp"
#include "api/render.hpp"
#include "api/router.hpp"
#include "api/schema.hpp"
#include "api/services.hpp"
#include "core/failures.hpp"
#include "core/version.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// JSON-RPC 2.0's codes, and two of the range it leaves to servers.
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kServerError = -32000;
constexpr int kSessionNotFound = -32001;

constexpr std::string_view kNullId = "null";

constexpr std::string_view kInstructions =
    "Baton hands out tasks. As a worker: call claim_task with a type and wait_seconds (a long "
    "poll), then heartbeat with the lease_token every "
    "agent_contract.recommended_heartbeat_interval_seconds while you work, then complete_task "
    "or fail_task with the lease_token. Every result carries an agent_contract whose "
    "next_actions say what to do next; GET /v1/tool maps each action's method and endpoint "
    "to its tool (check_task_status is get_task).";

// A JSON-RPC error; its data carries the agent_contract of the Baton error it amounts
// to (by default a request to fix), as every refusal of bad input does.
std::string rpc_error(std::string_view id_json, int code, std::string_view message,
                      ErrorCode as = ErrorCode::invalid_request) {
  std::string out = "{\"jsonrpc\":\"2.0\",\"id\":";
  out.append(id_json);
  out.append(",\"error\":{\"code\":");
  out.append(std::to_string(code));
  out.append(",\"message\":");
  append_json_string(out, message);
  out.append(",\"data\":{\"error\":");
  append_json_string(out, error_info(as).name);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_error(as));
  out.append("}}}");
  return out;
}

std::string rpc_result(std::string_view id_json, std::string_view result_json) {
  std::string out;
  out.reserve(40 + id_json.size() + result_json.size());
  out.append("{\"jsonrpc\":\"2.0\",\"id\":");
  out.append(id_json);
  out.append(",\"result\":");
  out.append(result_json);
  out.push_back('}');
  return out;
}

http::Response answer(int status, std::string body) {
  http::Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// The tool result of an operation's answer: the HTTP body as text and as structured
// content, so a model reads the agent_contract either way.
std::string tool_result(const Result& result) {
  std::string out;
  out.reserve(80 + 2 * result.body.size());
  out.append("{\"content\":[{\"type\":\"text\",\"text\":");
  append_json_string(out, result.body);
  out.append("}],\"structuredContent\":");
  out.append(result.body);
  out.append(",\"isError\":");
  out.append(result.status >= 400 ? "true" : "false");
  out.push_back('}');
  return out;
}

bool supported_version(std::string_view version) {
  return std::find(McpEndpoint::kProtocolVersions.begin(), McpEndpoint::kProtocolVersions.end(),
                   version) != McpEndpoint::kProtocolVersions.end();
}

// Session times: a steady clock, so a step of the wall clock expires no session.
Millis session_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Drops expired sessions every quarter of the idle time (at most every 10 s), so an
// expired session costs no memory even when no MCP request comes to find it expired. Runs
// on the shard thread that served the first MCP request, until that shard stops.
asio::awaitable<void> sweep_sessions(std::shared_ptr<McpSessions> sessions, int idle_seconds) {
  auto period = std::chrono::milliseconds(std::clamp(idle_seconds * 250, 250, 10000));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(period);
    auto [error] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    sessions->live(session_clock_ms());
  }
}

}  // namespace

struct McpEndpoint::InFlight {
  asio::any_io_executor executor;  // the call's thread
  std::shared_ptr<CallCancel> cancel;
};

McpEndpoint::McpEndpoint(Services& services)
    : services_(services),
      sessions_(std::make_shared<McpSessions>(McpSessionLimits{
          services.config.mcp.max_sessions, services.config.mcp.max_sessions_per_account,
          static_cast<std::int64_t>(services.config.mcp.session_idle_seconds) * 1000})) {
  json::array tools;
  for (const Operation& operation : services.operations) {
    if (!operation.mcp_tool) continue;
    // A tool call runs as the session's account: it would skip any other check of who
    // may call the operation.
    if (operation.auth != Auth::api_key) {
      throw std::logic_error("MCP tool " + std::string(operation.id) +
                             " does not act for an account");
    }
    tools.push_back(tool_entry(operation));
  }
  tools_list_ = json::serialize(json::object{{"tools", std::move(tools)}});
}

McpEndpoint::~McpEndpoint() = default;

std::optional<http::Response> McpEndpoint::screen(const http::Request& head) const {
  if (!services_.config.mcp.enabled) {
    return to_response(error_result(head.request_id, ErrorCode::not_found,
                                    "The MCP endpoint is off on this server (mcp.enabled)."));
  }
  if (head.method == "POST" || head.method == "DELETE") return std::nullopt;
  http::Response response = to_response(error_result(
      head.request_id, ErrorCode::method_not_allowed,
      "POST JSON-RPC messages to /mcp (DELETE ends a session); no event stream is offered."));
  response.headers.emplace_back("Allow", "POST, DELETE");
  return response;
}

asio::awaitable<http::Response> McpEndpoint::handle(http::Request& request,
                                                    http::Connection& connection) {
  const Config& config = services_.config;
  const std::string& request_id = request.request_id;
  if (!config.mcp.enabled) co_return *screen(request);
  // A page in a browser must not reach a server on the user's machine (DNS rebinding):
  // only listed origins may; clients that send no Origin are not browsers.
  if (!request.origin.empty() &&
      std::find(config.mcp.allowed_origins.begin(), config.mcp.allowed_origins.end(),
                request.origin) == config.mcp.allowed_origins.end()) {
    co_return answer(403, rpc_error(kNullId, kServerError,
                                    "Origin " + printable(request.origin) +
                                        " is not allowed (mcp.allowed_origins)."));
  }
  const std::string& method = request.method;
  if (method != "POST" && method != "DELETE") co_return *screen(request);

  auto checked = authenticate_request(services_, request_id, request.authorization);
  if (auto* refusal = std::get_if<Result>(&checked)) co_return to_response(std::move(*refusal));
  const Principal* principal = &std::get<Principal>(checked);
  Millis now = session_clock_ms();
  if (!sweeping_.exchange(true)) {
    asio::co_spawn(co_await asio::this_coro::executor,
                   sweep_sessions(sessions_, config.mcp.session_idle_seconds),
                   NoteFailure{"MCP session sweep"});
  }

  if (method == "DELETE") {
    if (request.mcp_session_id.empty()) {
      co_return answer(400, rpc_error(kNullId, kServerError, "Send the Mcp-Session-Id to end."));
    }
    if (!sessions_->close(request.mcp_session_id, principal->account)) {
      co_return answer(404, rpc_error(kNullId, kSessionNotFound, "Session not found."));
    }
    co_return answer(204, {});
  }

  if (!is_json_media_type(request.content_type)) {
    co_return answer(415, rpc_error(kNullId, kInvalidRequest, "Content-Type must be application/json.",
                                    ErrorCode::unsupported_media_type));
  }
  json::parse_options options;
  // message -> params -> arguments -> payload: the payload keeps its own depth bound.
  options.max_depth = static_cast<std::size_t>(services_.limits.max_depth) + 3;
  json::error_code parse_error;
  json::value message = json::parse(request.body, parse_error, json::storage_ptr(), options);
  if (parse_error == json::error::too_deep) {
    co_return answer(400, rpc_error(kNullId, kInvalidRequest,
                                    "The message is nested too deep: a payload may have at most "
                                    "tasks.max_depth (" +
                                        std::to_string(services_.limits.max_depth) + ") levels."));
  }
  if (parse_error) {
    co_return answer(400, rpc_error(kNullId, kParseError,
                                    "Parse error: the body is not valid JSON (" +
                                        parse_error.message() + ")."));
  }
  if (message.is_array()) {
    co_return answer(400, rpc_error(kNullId, kInvalidRequest,
                                    "Batches are not supported: send one JSON-RPC message per "
                                    "POST."));
  }
  if (!message.is_object()) {
    co_return answer(400, rpc_error(kNullId, kInvalidRequest,
                                    "A JSON-RPC message must be a JSON object."));
  }
  const json::object& rpc = message.get_object();
  const json::value* version = rpc.if_contains("jsonrpc");
  if (!version || !version->is_string() || version->get_string() != "2.0") {
    co_return answer(400, rpc_error(kNullId, kInvalidRequest, "jsonrpc must be \"2.0\"."));
  }
  std::string id_json;
  const json::value* id = rpc.if_contains("id");
  if (id) {
    bool valid = id->is_int64() || id->is_uint64() ||
                 (id->is_string() && id->get_string().size() <= kMaxIdChars);
    if (!valid) {
      co_return answer(400, rpc_error(kNullId, kInvalidRequest,
                                      "id must be an integer or a string of at most " +
                                          std::to_string(kMaxIdChars) + " characters."));
    }
    id_json = json::serialize(*id);
  }
  const json::value* method_value = rpc.if_contains("method");
  bool is_client_response = !method_value && id && (rpc.contains("result") || rpc.contains("error"));
  if (!is_client_response && (!method_value || !method_value->is_string())) {
    co_return answer(400, rpc_error(id ? std::string_view(id_json) : kNullId, kInvalidRequest,
                                    "method must be a string."));
  }
  std::string_view rpc_method = method_value ? std::string_view(method_value->get_string()) : "";
  std::string_view reply_id = id ? std::string_view(id_json) : kNullId;

  if (rpc_method == "initialize") {
    if (!id) co_return answer(202, {});  // a notification named initialize asks nothing
    std::string agreed(kProtocolVersions.front());
    if (const json::value* params = rpc.if_contains("params"); params && params->is_object()) {
      const json::value* asked = params->get_object().if_contains("protocolVersion");
      if (asked && asked->is_string() && supported_version(asked->get_string())) {
        agreed = std::string(asked->get_string());
      }
    }
    auto session = sessions_->open(principal->account, agreed, now);
    if (!session) {
      http::Response response = answer(
          503, rpc_error(reply_id, kServerError,
                         "Too many MCP sessions (mcp.max_sessions); retry later.",
                         ErrorCode::unavailable));
      response.headers.emplace_back(
          "Retry-After", std::to_string(error_info(ErrorCode::unavailable).retry_after_seconds));
      co_return response;
    }
    json::object result{
        {"protocolVersion", agreed},
        {"capabilities", {{"tools", {{"listChanged", false}}}}},
        {"serverInfo", {{"name", "baton"}, {"title", "Baton"}, {"version", kBatonVersion}}},
        {"instructions", kInstructions}};
    http::Response response = answer(200, rpc_result(reply_id, json::serialize(result)));
    response.headers.emplace_back("Mcp-Session-Id", *session);
    co_return response;
  }

  // Everything after initialize belongs to a session of this account.
  if (request.mcp_session_id.empty()) {
    co_return answer(400, rpc_error(reply_id, kServerError,
                                    "Mcp-Session-Id header is required after initialize."));
  }
  auto session = sessions_->use(request.mcp_session_id, principal->account, now);
  if (!session) {
    co_return answer(404, rpc_error(reply_id, kSessionNotFound,
                                    "Session not found or expired: initialize again."));
  }
  if (!request.mcp_protocol_version.empty() && !supported_version(request.mcp_protocol_version)) {
    co_return answer(400, rpc_error(reply_id, kServerError,
                                    "Unsupported MCP-Protocol-Version " +
                                        printable(request.mcp_protocol_version) + "."));
  }
  if (rpc_method == "notifications/cancelled") {
    const json::value* params = rpc.if_contains("params");
    const json::value* target = params && params->is_object()
                                    ? params->get_object().if_contains("requestId")
                                    : nullptr;
    if (target) {
      std::shared_ptr<InFlight> call;
      {
        std::lock_guard lock(in_flight_mutex_);
        auto it = in_flight_.find(request.mcp_session_id + '\n' + json::serialize(*target));
        if (it != in_flight_.end()) call = it->second;
      }
      if (call) asio::post(call->executor, [cancel = call->cancel] { cancel->fire(); });
    }
  }
  if (!id || is_client_response) co_return answer(202, {});  // notifications, client answers

  if (rpc_method == "ping") co_return answer(200, rpc_result(reply_id, "{}"));
  if (rpc_method == "tools/list") co_return answer(200, rpc_result(reply_id, tools_list_));
  if (rpc_method != "tools/call") {
    co_return answer(200, rpc_error(reply_id, kMethodNotFound,
                                    "Method not found: " + printable(rpc_method) + "."));
  }

  const json::value* params = rpc.if_contains("params");
  const json::value* name = params && params->is_object() ? params->get_object().if_contains("name")
                                                          : nullptr;
  if (!name || !name->is_string()) {
    co_return answer(200, rpc_error(reply_id, kInvalidParams, "params.name must be a tool name."));
  }
  const Operation* operation = nullptr;
  for (const Operation& candidate : services_.operations) {
    if (candidate.mcp_tool && candidate.id == name->get_string()) operation = &candidate;
  }
  if (!operation) {
    co_return answer(200, rpc_error(reply_id, kInvalidParams,
                                    "Unknown tool: " + printable(name->get_string()) +
                                        " (tools/list names them)."));
  }
  const json::value* arguments = params->get_object().if_contains("arguments");
  if (arguments && !arguments->is_null() && !arguments->is_object()) {
    co_return answer(200, rpc_error(reply_id, kInvalidParams, "params.arguments must be an object."));
  }
  Call call(*operation, connection, request_id, request.authorization);
  bind_principal(services_, call, *principal);
  if (arguments && arguments->is_object()) call.input = Input(arguments->get_object());
  // The Idempotency-Key header of this POST applies to its one tool call, as on /v1.
  if (request.has_idempotency_key) call.idempotency_header = request.idempotency_key;
  call.method = operation->method;
  call.path = fill_path(*operation, call.input);
  // Registered while it runs, so notifications/cancelled can stop it (a long poll).
  call.cancel = std::make_shared<CallCancel>();
  std::string in_flight_key = request.mcp_session_id + '\n' + id_json;
  {
    // Not co_await inside a braced initializer: g++ 12 then destroys its parts too early.
    asio::any_io_executor here = co_await asio::this_coro::executor;
    auto entry = std::make_shared<InFlight>(InFlight{std::move(here), call.cancel});
    std::lock_guard lock(in_flight_mutex_);
    in_flight_[in_flight_key] = std::move(entry);
  }
  struct Unregister {
    McpEndpoint& endpoint;
    const std::string& key;
    const CallCancel* mine;
    ~Unregister() {
      // Only this call's entry: another call with the same id may have taken the key.
      std::lock_guard lock(endpoint.in_flight_mutex_);
      auto it = endpoint.in_flight_.find(key);
      if (it != endpoint.in_flight_.end() && it->second->cancel.get() == mine) {
        endpoint.in_flight_.erase(it);
      }
    }
  } unregister{*this, in_flight_key, call.cancel.get()};
  Result result = co_await run_operation(services_, call);
  if (result.client_gone) co_return http::Response{};
  http::Response response = answer(200, rpc_result(reply_id, tool_result(result)));
  response.affinity = result.affinity;
  co_return response;
}

}  // namespace baton::api
