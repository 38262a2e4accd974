#pragma once
// Requests answered, by route (the operation's id; "mcp" for POST /mcp; "unmatched" for a
// path or method no operation takes) and status, and how long each route took to answer:
// what /metrics shows. Counted from any thread without a lock; fixed size, so a client
// cannot grow it.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/operation.hpp"
#include "core/histogram.hpp"

namespace baton::api {

class RequestMetrics {
 public:
  // The statuses counted apart; any other is counted as its class ("2xx", "4xx", …).
  static constexpr std::array<int, 18> kStatuses = {200, 201, 204, 400, 401, 402, 403, 404, 405,
                                                    408, 409, 413, 415, 429, 431, 500, 503, 101};

  explicit RequestMetrics(const std::vector<Operation>& operations);

  // The route of `operation` (a row of the table given at construction), or of the
  // special routes.
  int route_of(const Operation& operation) const;
  int mcp_route() const { return static_cast<int>(names_.size()) - 2; }
  int unmatched_route() const { return static_cast<int>(names_.size()) - 1; }

  void record(int route, int status, std::int64_t micros);

  // Prometheus text of baton_http_requests_total and baton_http_request_duration_seconds.
  void render(std::string& out) const;

 private:
  static constexpr int kStatusSlots = static_cast<int>(kStatuses.size()) + 5;  // + 1xx..5xx
  static int status_slot(int status);
  static std::string status_label(int slot);

  const Operation* first_ = nullptr;  // the table's first row, for route_of
  std::vector<std::string> names_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // route × status slot
  std::vector<std::unique_ptr<Histogram>> durations_;     // per route
};

}  // namespace baton::api
