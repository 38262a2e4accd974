// Live log streams (docs/api.md "Live log streams"): GET /v1/tasks/{id}/logs/stream as
// Server-Sent Events or, on an Upgrade: websocket request, as a WebSocket; and the
// short-lived tokens that let a browser open one without its key in the URL.
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/string.hpp>

#include <charconv>

#include "api/handlers.hpp"
#include "api/log_stream.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"

namespace baton::api {

namespace asio = boost::asio;

namespace {

// Stream tokens that may be live at once, all accounts: issuing more waits for some to
// expire.
constexpr std::size_t kMaxStreamTokens = 100000;

std::optional<std::int64_t> seq_of(std::string_view text) {
  std::int64_t seq = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seq);
  if (ec != std::errc() || end != text.data() + text.size() || seq < 0 ||
      seq > (std::int64_t{1} << 62)) {
    return std::nullopt;
  }
  return seq;
}

}  // namespace

asio::awaitable<Result> stream_logs(Services& services, Call& call) {
  std::string task_id = task_id_of(call);
  if (!call.http) {
    co_return error_result(call, ErrorCode::invalid_request,
                           "A live stream is opened over HTTP (Server-Sent Events or WebSocket); "
                           "over MCP, read the log with get_logs.");
  }
  const http::Request& request = *call.http;
  bool websocket = boost::beast::iequals(request.upgrade, "websocket");
  if (!request.upgrade.empty() && !websocket) {
    co_return error_result(call, ErrorCode::invalid_request,
                           "Upgrade: only websocket is offered here.");
  }
  if (websocket && (request.websocket_version != "13" || request.websocket_key.empty())) {
    co_return error_result(call, ErrorCode::invalid_request,
                           "A WebSocket handshake needs Sec-WebSocket-Version: 13 and a "
                           "Sec-WebSocket-Key (RFC 6455).");
  }
  std::int64_t after = call.input.integer("after").value_or(0);
  if (!request.last_event_id.empty()) {
    // EventSource's reconnection carries the last id it saw: it wins over ?after.
    std::optional<std::int64_t> resumed = seq_of(request.last_event_id);
    if (!resumed) {
      co_return error_result(call, ErrorCode::invalid_request,
                             "Last-Event-ID must be the seq of a line (a non-negative integer).");
    }
    after = *resumed;
  }
  const Config::TaskLogs& bounds = services.config.task_logs;
  auto slot = services.stream_slots.take(call.account, bounds.max_streams,
                                         bounds.max_streams_per_account);
  if (!slot) {
    co_return error_result(call, ErrorCode::rate_limited,
                           "Too many live log streams are open (task_logs.max_streams, "
                           "task_logs.max_streams_per_account); close one, or read the log "
                           "with GET /v1/tasks/{id}/logs.",
                           {}, 5);
  }
  LogStreamOptions options{websocket ? StreamFraming::websocket : StreamFraming::sse,
                           bounds.stream_buffer_bytes, bounds.stream_heartbeat_seconds};
  auto stream = std::make_shared<LogStream>(co_await asio::this_coro::executor, services.engine,
                                            call.account, task_id, after, options, std::move(slot));
  LogSubscription subscription =
      co_await services.engine.subscribe_logs(call.account, task_id, stream);
  if (subscription.error != ErrorCode::none) {
    co_return error_result(call, subscription.error, "", task_id);
  }
  stream->begin(subscription);
  Result result;
  result.stream = std::move(stream);
  if (websocket) {
    result.status = 101;
    result.websocket = true;  // the listener answers the handshake
    co_return result;
  }
  result.content_type = "text/event-stream";
  result.headers.emplace_back("Cache-Control", "no-cache");
  result.headers.emplace_back("X-Accel-Buffering", "no");  // proxies: pass each event at once
  result.body = "retry: 2000\n\n";  // EventSource reconnects after 2 s, with Last-Event-ID
  co_return result;
}

asio::awaitable<Result> create_stream_token(Services& services, Call& call) {
  std::string task_id = task_id_of(call);
  Outcome found = co_await services.engine.get(call.account, task_id);
  if (!found.ok()) co_return error_result(call, found.error, "", task_id);
  Millis now = wall_now_ms();
  int ttl = services.config.task_logs.stream_token_seconds;
  std::optional<std::string> token = services.stream_tokens.issue(
      call.account, call.plan.name, task_id, ttl, kMaxStreamTokens, now);
  if (!token) {
    co_return error_result(call, ErrorCode::rate_limited,
                           "Too many stream tokens are live; retry in a minute.", {}, 60);
  }
  std::string out = "{\"token\":";
  append_json_string(out, *token);
  out.append(",\"expires_at\":\"").append(format_rfc3339(now + static_cast<Millis>(ttl) * 1000));
  out.append("\",\"url\":");
  append_json_string(out, "/v1/tasks/" + task_id + "/logs/stream?stream_token=" + *token);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_task(*found.task, now, ContractSite::other));
  out.push_back('}');
  co_return json_result(201, std::move(out));
}

}  // namespace baton::api
