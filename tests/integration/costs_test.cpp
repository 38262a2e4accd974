// Costs and budgets (seed 004's CostBreakdown, seed 003's budget; docs/api.md "Costs and
// budgets"), against the real server: reports summed on the task, GET /v1/costs, a task's
// budget stop, an account's monthly budget, and the sums across kill -9.
#define BOOST_TEST_MODULE costs
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <thread>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

const std::string kAdminKey = "costs-admin-key-0123456789";

ServerOptions costs_options() {
  ServerOptions options;
  options.with("admin_key", "\"" + kAdminKey + "\"");
  options.extra_yaml = "plans:\n  one_dollar: { cost_budget_usd: 1 }\n";
  return options;
}

TestServer& costs_server() { return shared_server("costs", costs_options()); }

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = costs_server()) : FreshAccount("costs_", on) {}

  // Creates and claims one task; returns {id, lease token}.
  std::pair<std::string, std::string> claimed(const json::object& extra = {}) {
    std::string id = c.create_task_id(key, task_body(type, extra));
    Response r = c.claim_id(key, id, js({{"worker_id", "w"}}));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    return {id, r.task_str("leaseToken")};
  }
};

json::object cost_of(const Response& r) { return r.task().at("cost").as_object(); }

double usd(const json::value& v) { return v.to_number<double>(); }

}  // namespace

BOOST_AUTO_TEST_CASE(reports_add_up_on_the_task_in_both_spellings) {
  Fresh f;
  auto [id, token] = f.claimed();
  Response beat = f.c.heartbeat(
      f.key, id,
      js({{"lease_token", token},
          {"cost", {{"input_tokens", 1000}, {"output_tokens", 200}, {"total_tokens", 1200},
                    {"estimated_cost_usd", 0.0102}, {"cpu_time_ms", 450}, {"subrequests", 2}}}}));
  BATON_CHECK_STATUS(beat, 200);
  BOOST_TEST(cost_of(beat).at("inputTokens").as_int64() == 1000);
  Response done = f.c.complete(
      f.key, id,
      js({{"lease_token", token},
          {"result", {{"ok", true}}},
          {"cost", {{"inputTokens", 1340}, {"outputTokens", 690}, {"totalTokens", 2030},
                    {"estimatedCostUsd", 0.0102}, {"cpuTimeMs", 4070}, {"subrequests", 1}}}}));
  BATON_CHECK_STATUS(done, 200);
  json::object sum = cost_of(done);
  BOOST_TEST(sum.at("inputTokens").as_int64() == 2340);
  BOOST_TEST(sum.at("outputTokens").as_int64() == 890);
  BOOST_TEST(sum.at("totalTokens").as_int64() == 3230);
  BOOST_TEST(usd(sum.at("estimatedCostUsd")) == 0.0204);  // exact: kept in nano-dollars
  BOOST_TEST(sum.at("cpuTimeMs").as_int64() == 4520);
  BOOST_TEST(sum.at("subrequests").as_int64() == 3);
  // The answer's JSON says 0.0204, not 0.020399999…
  BOOST_TEST(done.body.find("\"estimatedCostUsd\":0.0204") != std::string::npos);

  // A safe retry of the completion adds nothing.
  Response again = f.c.complete(
      f.key, id, js({{"lease_token", token}, {"cost", {{"estimated_cost_usd", 5}}}}));
  BATON_CHECK_STATUS(again, 200);
  BOOST_TEST(usd(cost_of(f.c.get_task(f.key, id)).at("estimatedCostUsd")) == 0.0204);
}

BOOST_AUTO_TEST_CASE(a_task_without_cost_has_no_cost_field) {
  Fresh f;
  auto [id, token] = f.claimed();
  Response done = f.c.complete(f.key, id, js({{"lease_token", token}}));
  BATON_CHECK_STATUS(done, 200);
  BOOST_TEST(!done.task().contains("cost"));
}

BOOST_AUTO_TEST_CASE(bad_costs_are_refused_and_change_nothing) {
  Fresh f;
  auto [id, token] = f.claimed();
  for (const json::value& cost :
       {json::value(json::object{{"input_tokens", -1}}),
        json::value(json::object{{"estimated_cost_usd", "0.1"}}),
        json::value(json::object{{"estimated_cost_usd", -0.5}}),
        json::value(json::object{{"estimated_cost_usd", 1e12}}),
        json::value(json::object{{"cpu_time_ms", 1.5}}),
        json::value(json::object{{"inputTokens", 1}, {"input_tokens", 2}}),
        json::value(json::array{1, 2}), json::value("cheap")}) {
    Response r = f.c.heartbeat(f.key, id, js({{"lease_token", token}, {"cost", cost}}));
    BATON_CHECK_ERROR(r, "invalid_request");
    BOOST_TEST(r.obj().at("message").as_string().find("cost") != json::string::npos,
               r.describe());
  }
  BOOST_TEST(!f.c.get_task(f.key, id).task().contains("cost"));
}

BOOST_AUTO_TEST_CASE(a_task_past_its_budget_is_told_to_stop) {
  Fresh f;
  auto [id, token] = f.claimed({{"budget_usd", 0.05}});
  Response under = f.c.heartbeat(
      f.key, id, js({{"lease_token", token}, {"cost", {{"estimated_cost_usd", 0.05}}}}));
  BATON_CHECK_STATUS(under, 200);
  BOOST_TEST(under.recommended_action() == "complete_task");  // at the budget, not past it
  BOOST_TEST(!under.contract().contains("budget_context"));
  BOOST_TEST(usd(under.task().at("budgetUsd")) == 0.05);

  Response over = f.c.heartbeat(
      f.key, id, js({{"lease_token", token}, {"cost", {{"estimated_cost_usd", 0.01}}}}));
  BATON_CHECK_STATUS(over, 200);  // accepted: the report is kept
  BOOST_TEST(over.recommended_action() == "stop_work");
  BOOST_TEST(contract_problem(over.obj().at("agent_contract")) == "");
  const json::object& budget = over.contract().at("budget_context").as_object();
  BOOST_TEST(budget.at("reason").as_string() == "budget_exceeded");
  BOOST_TEST(budget.at("scope").as_string() == "task");
  BOOST_TEST(usd(budget.at("budget_usd")) == 0.05);
  BOOST_TEST(usd(budget.at("spent_usd")) == 0.06);
  BOOST_TEST(offers_action(over.obj().at("agent_contract"), "complete_task"));

  Response done = f.c.complete(f.key, id, js({{"lease_token", token}}));
  BATON_CHECK_STATUS(done, 200);
  BOOST_TEST(offers_action(done.obj().at("agent_contract"), "stop_work"));
  BOOST_TEST(done.contract().contains("budget_context"));
}

BOOST_AUTO_TEST_CASE(costs_lists_costed_tasks_with_aggregate_and_by_type) {
  Fresh f;
  std::string other = f.type + "_b";
  std::vector<std::string> costed;
  for (int i = 0; i < 5; ++i) {
    const std::string& of_type = i % 2 ? other : f.type;
    std::string id = f.c.create_task_id(f.key, task_body(of_type));
    Response claim = f.c.claim_id(f.key, id, js({{"worker_id", "w"}}));
    BATON_REQUIRE_STATUS(claim, 200);
    json::object body{{"lease_token", claim.task_str("leaseToken")}};
    if (i != 2) {  // task 2 reports nothing and is not listed
      body["cost"] = json::object{{"input_tokens", 100 * (i + 1)}, {"estimated_cost_usd", 0.25},
                                  {"subrequests", 1}};
      costed.push_back(id);
    }
    BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js(body)), 200);
  }
  Response all = f.c.get("/v1/costs", f.key);
  BATON_REQUIRE_STATUS(all, 200);
  const json::array& tasks = all.obj().at("tasks").as_array();
  BOOST_REQUIRE(tasks.size() == 4u);
  BOOST_TEST(tasks[0].as_object().at("taskId").as_string() == costed.back());  // newest first
  const json::object& aggregate = all.obj().at("aggregate").as_object();
  BOOST_TEST(aggregate.at("inputTokens").as_int64() == 100 + 200 + 400 + 500);
  BOOST_TEST(usd(aggregate.at("estimatedCostUsd")) == 1.0);
  BOOST_TEST(aggregate.at("subrequests").as_int64() == 4);
  const json::object& by_type = all.obj().at("by_type").as_object();
  BOOST_TEST(by_type.at(f.type).as_object().at("inputTokens").as_int64() == 100 + 500);
  BOOST_TEST(by_type.at(other).as_object().at("inputTokens").as_int64() == 200 + 400);
  BOOST_TEST(contract_problem(all.obj().at("agent_contract")) == "");

  Response typed = f.c.get("/v1/costs?type=" + other, f.key);
  BATON_REQUIRE_STATUS(typed, 200);
  BOOST_TEST(typed.obj().at("tasks").as_array().size() == 2u);

  // Paged: two per page, then the rest from the cursor.
  Response first = f.c.get("/v1/costs?limit=2", f.key);
  BATON_REQUIRE_STATUS(first, 200);
  BOOST_TEST(first.obj().at("tasks").as_array().size() == 2u);
  std::string cursor(first.obj().at("next_cursor").as_string());
  Response rest = f.c.get("/v1/costs?limit=2&cursor=" + cursor, f.key);
  BATON_REQUIRE_STATUS(rest, 200);
  BOOST_TEST(rest.obj().at("tasks").as_array().size() == 2u);

  // since, in epoch milliseconds (seed 004) and RFC 3339: a time after every task is empty.
  auto later = std::chrono::duration_cast<std::chrono::milliseconds>(
                   (WallClock::now() + std::chrono::hours(1)).time_since_epoch())
                   .count();
  Response none = f.c.get("/v1/costs?since=" + std::to_string(later), f.key);
  BATON_REQUIRE_STATUS(none, 200);
  BOOST_TEST(none.obj().at("tasks").as_array().empty());
  Response rfc = f.c.get("/v1/costs?since=2000-01-01T00:00:00Z", f.key);
  BATON_REQUIRE_STATUS(rfc, 200);
  BOOST_TEST(rfc.obj().at("tasks").as_array().size() == 4u);
  BATON_CHECK_ERROR(f.c.get("/v1/costs?since=yesterday", f.key), "invalid_request");

  // Another account sees none of them.
  Fresh stranger;
  BOOST_TEST(stranger.c.get("/v1/costs", stranger.key).obj().at("tasks").as_array().empty());
}

BOOST_AUTO_TEST_CASE(usage_shows_the_cost_reported) {
  Fresh f;
  auto [id, token] = f.claimed();
  BATON_REQUIRE_STATUS(
      f.c.complete(f.key, id,
                   js({{"lease_token", token}, {"cost", {{"estimated_cost_usd", 0.5},
                                                          {"total_tokens", 77}}}})),
      200);
  Response usage = f.c.get("/v1/usage", f.key);
  BATON_REQUIRE_STATUS(usage, 200);
  const json::object& cost = usage.obj().at("totals").as_object().at("cost").as_object();
  BOOST_TEST(usd(cost.at("estimatedCostUsd")) == 0.5);
  BOOST_TEST(cost.at("totalTokens").as_int64() == 77);
}

BOOST_AUTO_TEST_CASE(an_account_past_its_monthly_budget_cannot_claim) {
  Fresh f;
  Response status = f.c.get("/v1/billing/status", f.key);
  std::string account(status.obj().at("accountId").as_string());
  Response assigned =
      f.c.request("PUT", "/v1/admin/accounts/" + account + "/plan", js({{"plan", "one_dollar"}}),
                  {{"Authorization", "Bearer " + kAdminKey}});
  BATON_REQUIRE_STATUS(assigned, 200);

  auto [id, token] = f.claimed();
  // 0.99: still under the budget, so claims go on.
  BATON_REQUIRE_STATUS(
      f.c.complete(f.key, id,
                   js({{"lease_token", token}, {"cost", {{"estimated_cost_usd", 0.99}}}})),
      200);
  auto [second, second_token] = f.claimed();
  // This completion passes the budget: it is accepted, and its claim_next is refused.
  Response done = f.c.complete(
      f.key, second,
      js({{"lease_token", second_token},
          {"cost", {{"estimated_cost_usd", 0.02}}},
          {"claim_next", {{"type", f.type}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
  const json::object& next = done.obj().at("next").as_object();
  BOOST_TEST(next.at("task").is_null());
  BOOST_TEST(next.at("error").as_string() == "budget_exceeded");

  f.c.create_task_id(f.key, task_body(f.type));
  Response refused = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_CHECK_ERROR(refused, "budget_exceeded");
  const json::object& budget = refused.contract().at("budget_context").as_object();
  BOOST_TEST(budget.at("scope").as_string() == "month");
  BOOST_TEST(usd(budget.at("budget_usd")) == 1.0);
  BOOST_TEST(usd(budget.at("spent_usd")) == 1.01);
  BOOST_TEST(!budget.at("resets_at").as_string().empty());
  BOOST_TEST(std::stoi(refused.header("Retry-After")) > 0);
  // Creating and reading go on; only claims stop.
  BATON_CHECK_STATUS(f.c.list_tasks(f.key), 200);
}

BOOST_AUTO_TEST_CASE(sums_survive_kill_9) {
  TestServer server;
  Fresh f(server);
  auto [id, token] = f.claimed();
  for (int i = 0; i < 10; ++i) {
    BATON_REQUIRE_STATUS(
        f.c.heartbeat(f.key, id,
                      js({{"lease_token", token},
                          {"cost", {{"estimated_cost_usd", 0.001}, {"input_tokens", 3}}}})),
        200);
  }
  server.kill9();
  server.restart();
  Client c = server.client();
  Response read = c.get_task(f.key, id);
  BATON_REQUIRE_STATUS(read, 200);
  BOOST_TEST(usd(cost_of(read).at("estimatedCostUsd")) == 0.01);
  BOOST_TEST(cost_of(read).at("inputTokens").as_int64() == 30);
  Response usage = c.get("/v1/usage", f.key);
  BATON_REQUIRE_STATUS(usage, 200);
  BOOST_TEST(usage.obj().at("totals").as_object().at("cost").as_object().at("inputTokens").as_int64() ==
             30);
}

BOOST_AUTO_TEST_CASE(report_cost_adds_and_renews_the_lease) {
  Fresh f;
  auto [id, token] = f.claimed();
  std::string before = f.c.get_task(f.key, id).task_str("leaseExpiresAt");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Response r = f.c.post("/v1/tasks/" + id + "/cost", f.key,
                        js({{"lease_token", token}, {"cost", {{"cpu_time_ms", 40}}}}));
  BATON_CHECK_STATUS(r, 200);
  BOOST_TEST(cost_of(r).at("cpuTimeMs").as_int64() == 40);
  BOOST_TEST(r.task_str("leaseExpiresAt") > before);
  // The cost is required here, and the lease token fences it like any mutation.
  BATON_CHECK_ERROR(f.c.post("/v1/tasks/" + id + "/cost", f.key, js({{"lease_token", token}})),
                    "invalid_request");
  BATON_CHECK_ERROR(f.c.post("/v1/tasks/" + id + "/cost", f.key,
                             js({{"lease_token", "lse_stale"}, {"cost", {{"cpu_time_ms", 1}}}})),
                    "lease_expired");
  BOOST_TEST(cost_of(f.c.get_task(f.key, id)).at("cpuTimeMs").as_int64() == 40);
}

BOOST_AUTO_TEST_CASE(a_parent_rolls_up_its_childrens_cost) {
  Fresh f;
  auto [parent, parent_token] = f.claimed();
  BATON_REQUIRE_STATUS(
      f.c.heartbeat(f.key, parent,
                    js({{"lease_token", parent_token}, {"cost", {{"estimated_cost_usd", 0.5}}}})),
      200);
  for (int i = 0; i < 3; ++i) {
    auto [child, token] = f.claimed({{"parent_task_id", parent}});
    BATON_REQUIRE_STATUS(
        f.c.complete(f.key, child,
                     js({{"lease_token", token},
                         {"cost", {{"estimated_cost_usd", 0.25}, {"input_tokens", 10}}}})),
        200);
  }
  Response read = f.c.get_task(f.key, parent);
  BATON_REQUIRE_STATUS(read, 200);
  const json::object& children = read.obj().at("children").as_object();
  BOOST_TEST(usd(children.at("cost").as_object().at("estimatedCostUsd")) == 0.75);
  BOOST_TEST(children.at("cost").as_object().at("inputTokens").as_int64() == 30);
  BOOST_TEST(usd(children.at("total_cost").as_object().at("estimatedCostUsd")) == 1.25);
  BOOST_TEST(usd(cost_of(read).at("estimatedCostUsd")) == 0.5);  // its own, apart
}

BOOST_AUTO_TEST_CASE(an_accounts_own_budget_wins_over_its_plans) {
  Fresh f;
  Response status = f.c.get("/v1/billing/status", f.key);
  std::string account(status.obj().at("accountId").as_string());
  auto admin = [&](const std::string& method, const std::string& path, const json::value& body) {
    return f.c.request(method, "/v1/admin/accounts/" + account + path, js(body),
                       {{"Authorization", "Bearer " + kAdminKey}});
  };
  BATON_REQUIRE_STATUS(admin("PUT", "/plan", json::object{{"plan", "one_dollar"}}), 200);
  Response set = admin("PUT", "/budget", json::object{{"cost_budget_usd", 0.25}});
  BATON_REQUIRE_STATUS(set, 200);
  BOOST_TEST(usd(set.obj().at("account").at("cost_budget_usd")) == 0.25);

  auto [id, token] = f.claimed();
  BATON_REQUIRE_STATUS(
      f.c.complete(f.key, id, js({{"lease_token", token}, {"cost", {{"estimated_cost_usd", 0.3}}}})),
      200);
  f.c.create_task_id(f.key, task_body(f.type));
  Response refused = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_CHECK_ERROR(refused, "budget_exceeded");
  BOOST_TEST(usd(refused.contract().at("budget_context").at("budget_usd")) == 0.25);
  Response billing = f.c.get("/v1/billing/status", f.key);
  const json::object& cost = billing.obj().at("usage").at("cost_this_month").as_object();
  BOOST_TEST(usd(cost.at("spent_usd")) == 0.3);
  BOOST_TEST(usd(cost.at("budget_usd")) == 0.25);

  // 0: no budget for this account, whatever its plan says.
  BATON_REQUIRE_STATUS(admin("PUT", "/budget", json::object{{"cost_budget_usd", 0}}), 200);
  BATON_CHECK_STATUS(f.c.claim(f.key, js({{"type", f.type}})), 200);
  // Left out: the plan's again ($1, not reached).
  Response cleared = admin("PUT", "/budget", json::object{});
  BATON_REQUIRE_STATUS(cleared, 200);
  BOOST_TEST(cleared.obj().at("account").at("cost_budget_usd").is_null());
  f.c.create_task_id(f.key, task_body(f.type));
  BATON_CHECK_STATUS(f.c.claim(f.key, js({{"type", f.type}})), 200);

  BATON_CHECK_ERROR(f.c.request("PUT", "/v1/admin/accounts/acct_nobody/budget",
                                js(json::object{{"cost_budget_usd", 1}}),
                                {{"Authorization", "Bearer " + kAdminKey}}),
                    "not_found");
  BATON_CHECK_ERROR(f.c.request("PUT", "/v1/admin/accounts/" + account + "/budget",
                                js(json::object{{"cost_budget_usd", 1}}),
                                {{"Authorization", "Bearer " + f.key}}),
                    "forbidden");
}
