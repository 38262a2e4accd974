#pragma once
// The plans and rate limits in force, which SIGHUP may replace while requests are served.
// Each thread keeps its own reference to the current set and looks at one shared counter
// per request to learn whether it was replaced: a request never takes a lock for them.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "config/config.hpp"
#include "core/plan.hpp"

namespace baton::api {

struct LimitsInForce {
  PlanBook plans;
  std::int64_t registrations_per_hour_per_address = 0;
};

LimitsInForce limits_in_force(const Config& config);

class PlanSource {
 public:
  explicit PlanSource(LimitsInForce limits);
  // The set in force; the reference stays valid until this thread calls current() again
  // after a replace().
  const LimitsInForce& current() const;
  void replace(LimitsInForce limits);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const LimitsInForce> limits_;
  std::atomic<std::uint64_t> version_;
};

}  // namespace baton::api
