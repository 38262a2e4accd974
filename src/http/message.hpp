#pragma once
// HTTP requests and responses as plain data: what the router and the api handlers see.
// Beast stays inside http/listener.cpp; nothing above this layer includes it.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace baton::http {

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string content_type;
  std::string authorization;
  std::string idempotency_key;
  bool has_idempotency_key = false;
  std::string request_id;  // echoed from X-Request-Id when acceptable, else generated
  // MCP's Streamable HTTP transport (POST /mcp); empty when not sent.
  std::string origin;
  std::string mcp_session_id;
  std::string mcp_protocol_version;
  // Live streams (GET /v1/tasks/{id}/logs/stream): Server-Sent Events' resume point, and
  // what a WebSocket upgrade sends.
  std::string last_event_id;
  std::string upgrade;
  std::string websocket_key;
  std::string websocket_version;
  // X-Baton-Account: with the admin key, the account an operation acts for (the dashboard).
  std::string account;
  std::string body;
  std::string remote;      // peer address, for logs
};

// A body sent as it comes (a live stream), after the head, with no Content-Length: the
// connection closes when it ends. next() resumes on the connection's thread with the next
// piece, or nothing once the stream is over; stop() (the client left, the server drains)
// makes it end soon. Any thread may hold it; only the connection's calls it.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual boost::asio::awaitable<std::optional<std::string>> next() = 0;
  virtual void stop() = 0;
  // The server is shutting down: the stream says so in its own way, then ends.
  virtual void drain() { stop(); }
};

struct Response {
  int status = 200;
  std::string body;  // JSON, unless content_type says otherwise
  std::string content_type = "application/json";
  // Set: the body is this stream, sent after `body`; or, with `websocket`, the answer is
  // the WebSocket handshake of the request (its Upgrade and Sec-WebSocket-* headers), and
  // each piece a text message (an empty piece: a ping).
  std::shared_ptr<BodyStream> stream;
  bool websocket = false;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response
  // The listener (by index) best placed to serve this connection's next request, or -1.
  // Listener::State::move_after answers in a row naming the same other listener move the
  // connection there.
  int affinity = -1;
};

// Connection counters across all listeners, for /health.
struct ConnectionStats {
  int open = 0;
  std::uint64_t moved = 0;  // handed from one listener (shard thread) to another
};

// What a handler may ask of the connection it is serving.
class Connection {
 public:
  virtual ~Connection() = default;
  // Calls `on_gone` (on this connection's shard) if the client closes the connection
  // while the handler is still working: long polls use it to give up their place.
  virtual void watch_disconnect(std::function<void()> on_gone) = 0;
  virtual bool disconnected() const = 0;
  // The client's IP address as text (an IPv4 client over IPv6 as IPv4); "" when unknown.
  virtual std::string peer_address() const { return {}; }
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual boost::asio::awaitable<Response> handle(Request& request, Connection& connection) = 0;
  // Answers for requests the HTTP layer rejects before routing (bad framing, limits).
  virtual Response reject(int status, const std::string& code, const std::string& message,
                          const std::string& request_id) = 0;
  // Called once the head of a request whose body is still on its way has arrived (no body
  // yet): an answer refuses it without reading the body (the connection then closes).
  virtual std::optional<Response> screen(const Request& head) = 0;
};

}  // namespace baton::http
