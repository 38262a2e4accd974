#pragma once
// POST /mcp: a Model Context Protocol server on the production port (Streamable HTTP
// transport, JSON-RPC 2.0, one JSON answer per POST). Its tools are the operation table's
// rows marked mcp_tool, run through the same run_operation as HTTP: a tool's result
// carries exactly the HTTP answer's body, agent_contract included, and a failed operation
// is a result with isError true, not a JSON-RPC error. Authenticated with the same Bearer
// key; sessions (mcp_sessions.hpp) belong to the account that opened them.
#include <boost/asio/awaitable.hpp>

#include <array>
#include <memory>
#include <string>
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
  // What a request after initialize means when it sends no MCP-Protocol-Version.
  static constexpr std::string_view kAssumedVersion = "2025-03-26";
  // JSON-RPC ids longer than this are refused: an id is echoed in every answer.
  static constexpr std::size_t kMaxIdChars = 200;

  explicit McpEndpoint(Services& services);
  ~McpEndpoint();

  boost::asio::awaitable<http::Response> handle(http::Request& request,
                                                http::Connection& connection);

 private:
  Services& services_;
  std::unique_ptr<McpSessions> sessions_;
  std::string tools_list_;  // the tools/list result, made once
};

}  // namespace baton::api
