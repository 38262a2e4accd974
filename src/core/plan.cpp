#include "core/plan.hpp"

namespace baton {

std::string_view to_string(RateClass rate_class) {
  switch (rate_class) {
    case RateClass::create: return "create";
    case RateClass::claim: return "claim";
    case RateClass::read: return "read";
    case RateClass::mutate: return "mutate";
    case RateClass::heartbeat: return "heartbeat";
  }
  return "?";
}

PlanBook::PlanBook() {
  Plan unlimited;
  unlimited.name = std::string(kUnlimitedPlan);
  plans.emplace(unlimited.name, unlimited);
}

const Plan* PlanBook::find(std::string_view name) const {
  auto it = plans.find(name.empty() ? std::string_view(default_plan) : name);
  return it == plans.end() ? nullptr : &it->second;
}

const Plan& PlanBook::of_account(std::string_view name) const {
  if (const Plan* plan = find(name)) return *plan;
  if (const Plan* plan = find({})) return *plan;
  return plans.find(kUnlimitedPlan)->second;
}

std::string PlanBook::names() const {
  std::string out;
  for (const auto& [name, plan] : plans) out += (out.empty() ? "" : ", ") + name;
  return out;
}

const std::array<PlanKey, 10>& plan_keys() {
  static const std::array<PlanKey, 10> keys = {{
      {"workers", &Plan::workers, std::nullopt},
      {"tasks_per_month", &Plan::tasks_per_month, std::nullopt},
      {"claims_per_hour", nullptr, RateClass::claim},
      {"creates_per_hour", nullptr, RateClass::create},
      {"reads_per_hour", nullptr, RateClass::read},
      {"mutations_per_hour", nullptr, RateClass::mutate},
      {"heartbeats_per_hour", nullptr, RateClass::heartbeat},
      {"retention_days", &Plan::retention_days, std::nullopt},
      {"retention_seconds", &Plan::retention_seconds, std::nullopt},
      {"cost_budget_usd", &Plan::cost_budget_usd, std::nullopt},
  }};
  return keys;
}

std::int64_t& plan_value(Plan& plan, const PlanKey& key) {
  if (key.rate) return plan.per_hour[static_cast<std::size_t>(*key.rate)];
  return plan.*key.scalar;
}

}  // namespace baton
