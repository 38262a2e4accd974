#pragma once
// POST /mcp: a Model Context Protocol server on the production port (Streamable HTTP
// transport, JSON-RPC 2.0, one JSON answer per POST). Its tools are the operation table's
// rows marked mcp_tool, run through the same run_operation as HTTP: a tool's result
// carries exactly the HTTP answer's body, agent_contract included, and a failed operation
// is a result with isError true, not a JSON-RPC error. Authenticated with the same Bearer
// key; sessions (mcp_sessions.hpp) belong to the account that opened them.
#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>

#include "http/message.hpp"

namespace baton::api {

struct Services;
class McpSessions;

class McpEndpoint {
 public:
  static constexpr std::string_view kPath = "/mcp";
  // Newest first: an initialize asking for another version is answered with the first.
  static constexpr std::array<std::string_view, 3> kProtocolVersions = {
      "2025-11-25", "2025-06-18", "2025-03-26"};
  // A request after initialize without MCP-Protocol-Version is taken as 2025-03-26, which
  // this server answers as it answers the others: the versions differ in nothing it offers.
  // JSON-RPC ids longer than this are refused: an id is echoed in every answer.
  static constexpr std::size_t kMaxIdChars = 200;

  explicit McpEndpoint(Services& services);
  ~McpEndpoint();

  boost::asio::awaitable<http::Response> handle(http::Request& request,
                                                http::Connection& connection);
  // The answer to /mcp from a request's head alone, when it refuses it (off, or a
  // method /mcp does not take); else nullopt.
  std::optional<http::Response> screen(const http::Request& head) const;

 private:
  Services& services_;
  // Shared with the sweep that drops expired sessions while no request comes to look.
  std::shared_ptr<McpSessions> sessions_;
  std::atomic<bool> sweeping_{false};
  // Tool calls under way, by session and JSON-RPC id, for notifications/cancelled (which
  // may arrive on another connection, so on another shard thread).
  struct InFlight;
  std::mutex in_flight_mutex_;
  std::unordered_map<std::string, std::shared_ptr<InFlight>> in_flight_;
  std::string tools_list_;  // the tools/list result, made once
};

}  // namespace baton::api
