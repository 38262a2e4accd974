#pragma once
// Plans (spec section 9): what an account may use, from the config's `plans:` map. There
// is no payment flow; the operator assigns plans. A limit of 0 means no limit, so the
// built-in `unlimited` plan, the default, never throttles a self-hosted server.
#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace baton {

// The classes of requests counted against an account's hourly rate limits.
enum class RateClass : std::uint8_t { create, claim, read, mutate, heartbeat };
inline constexpr int kRateClassCount = 5;
std::string_view to_string(RateClass rate_class);

struct Plan {
  std::string name;
  std::int64_t workers = 0;          // live leases of the account at once
  std::int64_t tasks_per_month = 0;  // tasks created per calendar month (UTC)
  // Requests per hour, by RateClass.
  std::array<std::int64_t, kRateClassCount> per_hour{};
  std::int64_t retention_days = 0;  // terminal tasks are purged this long after they end
  // The same in seconds, for short-lived deployments and tests; wins when set.
  std::int64_t retention_seconds = 0;
  // Whole dollars of cost (as workers report it) the account may spend per calendar month
  // (UTC); past it, claims are refused until the month ends. An account's own budget
  // (set by the admin) wins over it.
  std::int64_t cost_budget_usd = 0;
  // How long terminal tasks are kept after they end, in milliseconds; 0: for ever.
  // Past 1000 years is for ever (and no product overflows).
  std::int64_t retention_ms() const {
    constexpr std::int64_t kMaxDays = 365'000;
    if (retention_seconds > 0) return std::min(retention_seconds, kMaxDays * 86'400) * 1000;
    return std::min(retention_days, kMaxDays) * 86'400'000;
  }

  std::int64_t hourly(RateClass rate_class) const {
    return per_hour[static_cast<std::size_t>(rate_class)];
  }
  bool operator==(const Plan&) const = default;
};

inline constexpr std::string_view kUnlimitedPlan = "unlimited";

// The plans in force and the one an account without a plan of its own follows.
struct PlanBook {
  std::map<std::string, Plan, std::less<>> plans;  // `unlimited` always among them
  std::string default_plan{kUnlimitedPlan};

  PlanBook();
  // The plan called `name`; "" is the default plan. nullopt when there is none so called
  // (an account assigned a plan a reload removed follows the default plan meanwhile).
  const Plan* find(std::string_view name) const;
  // The plan an account whose stored plan is `name` follows.
  const Plan& of_account(std::string_view name) const;
  // "agency, basic, free, …": the plans' names, for messages.
  std::string names() const;
  bool operator==(const PlanBook&) const = default;
};

// The names of the config keys of a plan's limits, as `plans.<name>.<key>`.
struct PlanKey {
  std::string_view key;
  std::int64_t Plan::*scalar = nullptr;  // or
  std::optional<RateClass> rate;
};
const std::array<PlanKey, 10>& plan_keys();
std::int64_t& plan_value(Plan& plan, const PlanKey& key);

}  // namespace baton
