#pragma once
// The Prometheus text of /metrics, for the operation (admin key, main port) and for the
// metrics port of its own (metrics.listen, no key).
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace baton::api {

struct Services;

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

boost::asio::awaitable<std::string> render_metrics(Services& services);

// The metrics port (metrics.listen): GET /metrics without a key, nothing else (404 for
// another path, 405 for another method). Loopback only, by the config's check.
class MetricsPort final : public http::Handler {
 public:
  explicit MetricsPort(Services& services) : services_(services) {}
  boost::asio::awaitable<http::Response> handle(http::Request& request,
                                                http::Connection& connection) override;
  http::Response reject(int status, const std::string& code, const std::string& message,
                        const std::string& request_id) override;
  std::optional<http::Response> screen(const http::Request& head) override;

 private:
  std::optional<http::Response> refuse(const http::Request& request) const;
  Services& services_;
};

}  // namespace baton::api
