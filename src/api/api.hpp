#pragma once
// Baton's HTTP front: finds the operation a request names (router.hpp), checks its key,
// reads its input (body, query and path), and runs it (run_operation); POST /mcp goes to
// the MCP endpoint (mcp.hpp), which runs the same operations as tools. The operations
// themselves live in the table (operations.cpp), one function each.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/operation.hpp"
#include "core/time.hpp"
#include "http/message.hpp"

namespace baton {
class TaskEngine;
class AccountStore;
struct Config;
}  // namespace baton

namespace baton::api {

struct Services;
struct RouteMatch;
class Router;
class McpEndpoint;

class Api final : public http::Handler {
 public:
  Api(TaskEngine& engine, AccountStore& accounts, const Config& config, LogSink warn = {});
  ~Api() override;

  boost::asio::awaitable<http::Response> handle(http::Request& request,
                                                http::Connection& connection) override;
  http::Response reject(int status, const std::string& code, const std::string& message,
                        const std::string& request_id) override;
  std::optional<http::Response> screen(const http::Request& head) override;
  // Where /health reads the connection counters (the listeners are made after the Api).
  void set_connection_stats(std::function<http::ConnectionStats()> source);
  // server.max_connections as in force, when serve lowered it to fit the open-file limit.
  void set_max_connections(int in_force);
  // SIGHUP: the plans and rate limits of `config` apply from each shard's next request.
  // Whether anything changed.
  bool reload_limits(const Config& config);
  // How long the account's plan keeps its terminal tasks (the engine's RetentionPolicy).
  Millis retention_ms(const std::string& account);
  const std::vector<Operation>& operations() const;
  // The handler of the metrics port (metrics.listen): GET /metrics without a key.
  std::unique_ptr<http::Handler> metrics_port();

 private:
  // The answer when the request's target refuses it before any key or body is looked at
  // (a key in the query, an unknown path, a method the path does not take); else nullopt
  // and `route` names the operation.
  std::optional<http::Response> refuse_target(const http::Request& request, std::string_view path,
                                              std::string_view query, RouteMatch& route) const;

  // handle() without the counting: the answer, the route it counts under (a
  // RequestMetrics route), and whether anything was answered (not when the client left).
  boost::asio::awaitable<http::Response> answer(http::Request& request, http::Connection& connection,
                                                int& metrics_route, bool& answered);

  std::unique_ptr<Services> services_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<McpEndpoint> mcp_;
};

}  // namespace baton::api
