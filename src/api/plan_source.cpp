#include "api/plan_source.hpp"

namespace baton::api {

namespace {

// This thread's copy, for whichever PlanSource it last read (a process has one; tests may
// make several in turn).
struct Cached {
  const PlanSource* source = nullptr;
  std::uint64_t version = 0;
  std::shared_ptr<const LimitsInForce> limits;
};
thread_local Cached tls_cached;
// Versions are unique across every PlanSource of the process, so a cache can never take
// a new source at an old one's address for the old one.
std::atomic<std::uint64_t> g_next_version{1};

}  // namespace

LimitsInForce limits_in_force(const Config& config) {
  return {config.plans, config.rate_limits.registrations_per_hour_per_address};
}

PlanSource::PlanSource(LimitsInForce limits)
    : limits_(std::make_shared<const LimitsInForce>(std::move(limits))),
      version_(g_next_version.fetch_add(1)) {}

const LimitsInForce& PlanSource::current() const {
  std::uint64_t version = version_.load(std::memory_order_acquire);
  if (tls_cached.source != this || tls_cached.version != version) {
    std::lock_guard lock(mutex_);
    tls_cached = {this, version_.load(std::memory_order_acquire), limits_};
  }
  return *tls_cached.limits;
}

void PlanSource::replace(LimitsInForce limits) {
  auto next = std::make_shared<const LimitsInForce>(std::move(limits));
  std::lock_guard lock(mutex_);
  limits_ = std::move(next);
  version_.store(g_next_version.fetch_add(1), std::memory_order_release);
}

}  // namespace baton::api
