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
  std::string body;
  std::string remote;      // peer address, for logs
};

struct Response {
  int status = 200;
  std::string body;  // JSON
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
