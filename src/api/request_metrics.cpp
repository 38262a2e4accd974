#include "api/request_metrics.hpp"

#include "core/prometheus_text.hpp"

namespace baton::api {

RequestMetrics::RequestMetrics(const std::vector<Operation>& operations) {
  first_ = operations.empty() ? nullptr : &operations.front();
  for (const Operation& operation : operations) names_.emplace_back(operation.id);
  names_.emplace_back("mcp");
  names_.emplace_back("unmatched");
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(names_.size() * kStatusSlots);
  for (std::size_t i = 0; i < names_.size() * kStatusSlots; ++i) counts_[i].store(0);
  for (std::size_t i = 0; i < names_.size(); ++i) {
    durations_.push_back(std::make_unique<Histogram>(kDurationBoundsUs));
  }
}

int RequestMetrics::route_of(const Operation& operation) const {
  std::ptrdiff_t index = first_ ? &operation - first_ : -1;
  if (index < 0 || index >= static_cast<std::ptrdiff_t>(names_.size()) - 2) return unmatched_route();
  return static_cast<int>(index);
}

int RequestMetrics::status_slot(int status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return static_cast<int>(i);
  }
  int klass = status / 100;
  if (klass < 1 || klass > 5) klass = 5;
  return static_cast<int>(kStatuses.size()) + klass - 1;
}

std::string RequestMetrics::status_label(int slot) {
  if (slot < static_cast<int>(kStatuses.size())) return std::to_string(kStatuses[static_cast<std::size_t>(slot)]);
  return std::to_string(slot - static_cast<int>(kStatuses.size()) + 1) + "xx";
}

void RequestMetrics::record(int route, int status, std::int64_t micros) {
  if (route < 0 || route >= static_cast<int>(names_.size())) route = unmatched_route();
  counts_[static_cast<std::size_t>(route) * kStatusSlots + static_cast<std::size_t>(status_slot(status))]
      .fetch_add(1, std::memory_order_relaxed);
  durations_[static_cast<std::size_t>(route)]->add(micros);
}

void RequestMetrics::render(std::string& out) const {
  prometheus::family(out, "baton_http_requests_total", "counter",
                     "HTTP requests answered, by route (operation id) and status.");
  for (std::size_t route = 0; route < names_.size(); ++route) {
    for (int slot = 0; slot < kStatusSlots; ++slot) {
      std::uint64_t count =
          counts_[route * kStatusSlots + static_cast<std::size_t>(slot)].load(std::memory_order_relaxed);
      if (count == 0) continue;
      std::string status = status_label(slot);
      prometheus::sample(out, "baton_http_requests_total",
                         {{"route", names_[route]}, {"status", status}}, count);
    }
  }
  prometheus::family(out, "baton_http_request_duration_seconds", "histogram",
                     "From a request's head read to its answer ready to send, by route.");
  for (std::size_t route = 0; route < names_.size(); ++route) {
    HistogramSnapshot snapshot = durations_[route]->snapshot();
    if (snapshot.count == 0) continue;
    prometheus::histogram(out, "baton_http_request_duration_seconds", {{"route", names_[route]}},
                          snapshot, 1e6);
  }
}

}  // namespace baton::api
