// Plans and what an account uses of its plan (spec section 9): the public list of plans,
// an account's status, and the admin's assignment of a plan to an account.
#include <chrono>
#include <functional>

#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"

namespace baton::api {

namespace asio = boost::asio;

namespace {

void append_limit(std::string& out, std::string_view name, std::int64_t value) {
  out.push_back('"');
  out.append(name);
  out.append("\":");
  out.append(value > 0 ? std::to_string(value) : "null");  // null: no limit
}

// The month a quota counts in: UTC calendar months, [start, end).
struct Period {
  Millis start = 0, end = 0;
};

Period month_of(Millis now) {
  using namespace std::chrono;
  auto day = floor<days>(sys_time<milliseconds>(milliseconds(now)));
  year_month_day date{day};
  year_month first = date.year() / date.month();
  auto start = sys_days(first / 1);
  auto end = sys_days((first + months(1)) / 1);
  return {duration_cast<milliseconds>(start.time_since_epoch()).count(),
          duration_cast<milliseconds>(end.time_since_epoch()).count()};
}

}  // namespace

void append_plan(std::string& out, const Plan& plan) {
  out.append("{\"name\":");
  append_json_string(out, plan.name);
  for (const PlanKey& key : plan_keys()) {
    out.push_back(',');
    Plan copy = plan;
    append_limit(out, key.key, plan_value(copy, key));
  }
  out.push_back('}');
}

asio::awaitable<Result> get_billing_plans(Services& services, Call&) {
  const LimitsInForce& limits = services.plans.current();
  std::string out = "{\"plans\":[";
  bool first = true;
  for (const auto& [name, plan] : limits.plans.plans) {
    if (!first) out.push_back(',');
    first = false;
    append_plan(out, plan);
  }
  out.append("],\"default_plan\":");
  append_json_string(out, limits.plans.default_plan);
  out.append(",\"payment\":\"none: the server's operator assigns plans\"}");
  co_return json_result(200, std::move(out));
}

asio::awaitable<Result> get_billing_status(Services& services, Call& call) {
  Millis now = wall_now_ms();
  const Plan& plan = call.plan;
  Period month = month_of(now);
  std::string out = "{\"accountId\":";
  append_json_string(out, call.account);
  out.append(",\"plan\":");
  append_plan(out, plan);
  out.append(",\"period\":{\"start\":\"").append(format_rfc3339(month.start));
  out.append("\",\"end\":\"").append(format_rfc3339(month.end)).append("\"}");
  out.append(",\"usage\":{\"workers_in_use\":");
  out.append(std::to_string(services.engine.leases_in_use(call.account)));
  out.append(",\"tasks_created_this_month\":");
  out.append(std::to_string(services.engine.created_this_month(call.account)));
  out.append(",\"cost_this_month\":{\"spent_usd\":");
  append_usd(out, services.engine.spent_this_month(call.account));
  out.append(",\"budget_usd\":");
  if (call.cost_budget_usd_nanos > 0) {
    append_usd(out, call.cost_budget_usd_nanos);
  } else {
    out.append("null");
  }
  out.push_back('}');
  out.append(",\"requests_this_hour\":{");
  for (int i = 0; i < kRateClassCount; ++i) {
    auto rate_class = static_cast<RateClass>(i);
    if (i) out.push_back(',');
    append_json_string(out, to_string(rate_class));
    out.push_back(':');
    // Counted only while the plan limits the class.
    out.append(plan.hourly(rate_class) > 0
                   ? std::to_string(services.rates.used(call.account, rate_class, now))
                   : "null");
  }
  out.append("}},\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

asio::awaitable<Result> set_account_budget(Services& services, Call& call) {
  std::string account_id = call.input.string("account_id", "accountId").value_or("");
  std::optional<double> dollars = call.input.number("cost_budget_usd", "costBudgetUsd");
  std::int64_t nanos = dollars ? usd_to_nanos(*dollars) : -1;
  bool found = false;
  std::function<StorageStatus()> write = [&services, &account_id, nanos, &found] {
    return services.accounts.set_cost_budget(account_id, nanos, found);
  };
  StorageStatus written = co_await services.storage.run(std::move(write));
  if (written.ok() && !found) {
    co_return error_result(call, ErrorCode::not_found, "No account with this id.");
  }
  if (!written.ok()) {
    co_return error_result(call, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  invalidate_key_caches();  // the budget rides with the cached keys, like the plan
  std::string out = "{\"account\":{\"id\":";
  append_json_string(out, account_id);
  out.append(",\"cost_budget_usd\":");
  if (nanos >= 0) {
    append_usd(out, nanos);
  } else {
    out.append("null");
  }
  out.append("},\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

asio::awaitable<Result> set_account_plan(Services& services, Call& call) {
  std::string account_id = call.input.string("account_id", "accountId").value_or("");
  std::string plan_name = call.input.string("plan").value_or("");
  const LimitsInForce& limits = services.plans.current();
  const Plan* plan = limits.plans.find(plan_name);
  if (!plan) {
    co_return error_result(call, ErrorCode::invalid_request,
                           "plan: no plan is called " + printable(plan_name) + "; the plans are " +
                               limits.plans.names() + ".");
  }
  Plan assigned = *plan;  // copied: the set in force may be replaced while this waits
  bool found = false;
  // A named std::function, not a lambda converted in the call (see tasks.cpp).
  std::function<StorageStatus()> write = [&services, &account_id, &plan_name, &found] {
    return services.accounts.set_plan(account_id, plan_name, found);
  };
  StorageStatus written = co_await services.storage.run(std::move(write));
  if (written.ok() && !found) {
    co_return error_result(call, ErrorCode::not_found, "No account with this id.");
  }
  if (!written.ok()) {
    co_return error_result(call, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  // Every shard reads the account's plan again at its next request.
  invalidate_key_caches();
  std::optional<Account> account = services.accounts.find_account(account_id);
  std::string out = "{\"account\":{\"id\":";
  append_json_string(out, account_id);
  out.append(",\"label\":");
  append_json_string(out, account ? account->label : std::string());
  out.append(",\"plan\":");
  append_json_string(out, plan_name);
  out.append(",\"createdAt\":\"");
  out.append(format_rfc3339(account ? account->created_at : 0));
  out.append("\"},\"plan\":");
  append_plan(out, assigned);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

}  // namespace baton::api
