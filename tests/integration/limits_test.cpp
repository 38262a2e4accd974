// Plans, the worker limit, hourly rate limits and their headers, registration per address,
// and SIGHUP reloads (spec section 9, docs/limits.md), against the real server.
#define BOOST_TEST_MODULE limits
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/command.hpp"
#include "integration/harness.hpp"
#include "integration/mcp_session.hpp"

#include <signal.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

const std::string kAdminKey = "limits-admin-key-0123456789";

// Small plans, so that tests meet their limits in a few requests.
const std::string kPlans =
    "plans:\n"
    "  two: { workers: 2 }\n"
    "  five: { workers: 5 }\n"
    "  three_claims: { claims_per_hour: 3, reads_per_hour: 1000 }\n"
    "  two_creates: { creates_per_hour: 2 }\n"
    "  five_tasks: { tasks_per_month: 5 }\n"
    "  twenty_tasks: { tasks_per_month: 20 }\n"
    "  short_history: { retention_seconds: 2 }\n";

ServerOptions limits_options() {
  ServerOptions options;
  options.with("admin_key", "\"" + kAdminKey + "\"");
  options.extra_yaml = kPlans;
  return options;
}

TestServer& limits_server() { return shared_server("limits", limits_options()); }

struct Fresh : FreshAccount {
  std::string account;
  explicit Fresh(TestServer& on = limits_server()) : FreshAccount("limits_", on) {
    Response status = c.get("/v1/billing/status", key);
    BOOST_REQUIRE_MESSAGE(status.status == 200, status.describe());
    account = std::string(status.obj().at("accountId").as_string());
  }

  Response set_plan(const std::string& plan) {
    return c.request("PUT", "/v1/admin/accounts/" + account + "/plan", js({{"plan", plan}}),
                     {{"Authorization", "Bearer " + kAdminKey}});
  }
  void require_plan(const std::string& plan) {
    Response r = set_plan(plan);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
  }
  void create(int count, const std::string& of_type = {}, const json::object& extra = {}) {
    for (int i = 0; i < count; ++i) {
      c.create_task_id(key, task_body(of_type.empty() ? type : of_type, extra));
    }
  }
  Response claim(const std::string& worker = "w", const std::string& of_type = {}) {
    return c.claim(key, js({{"type", of_type.empty() ? type : of_type}, {"worker_id", worker}}));
  }
};

// "w<i>" (built so that g++ 12 sees no overlapping copy in "w" + std::to_string(i)).
std::string worker(int i) {
  std::string name = "w";
  name += std::to_string(i);
  return name;
}

std::int64_t header_int(const Response& r, std::string_view name) {
  std::string text = r.header(name);
  BOOST_REQUIRE_MESSAGE(!text.empty(), "no " << name << " in " << r.describe());
  return std::stoll(text);
}

const json::object& plan_named(const Response& plans, std::string_view name) {
  for (const json::value& plan : plans.obj().at("plans").as_array()) {
    if (plan.as_object().at("name").as_string() == name) return plan.as_object();
  }
  throw std::runtime_error("no plan " + std::string(name) + " in " + plans.describe());
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(plans)

BOOST_AUTO_TEST_CASE(the_shipped_plans_are_listed_publicly_and_no_one_is_throttled_by_default) {
  Client c = shared_server().client();
  Response plans = c.get("/v1/billing/plans", "");
  BATON_CHECK_STATUS(plans, 200);
  BOOST_TEST(plans.obj().at("default_plan").as_string() == "unlimited");
  const json::object& free = plan_named(plans, "free");
  BOOST_TEST(free.at("workers").as_int64() == 2);
  BOOST_TEST(free.at("tasks_per_month").as_int64() == 200);
  BOOST_TEST(free.at("claims_per_hour").as_int64() == 120);
  BOOST_TEST(free.at("retention_days").as_int64() == 7);
  BOOST_TEST(plan_named(plans, "agency").at("tasks_per_month").as_int64() == 150000);
  BOOST_TEST(plan_named(plans, "unlimited").at("workers").is_null());

  FreshAccount f("limits_", shared_server());
  f.c.create_task_id(f.key, task_body(f.type));
  Response claim = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_CHECK_STATUS(claim, 200);
  BOOST_TEST(!claim.has_header("X-RateLimit-Limit"));  // no limit, no headers
  Response status = f.c.get("/v1/billing/status", f.key);
  BATON_CHECK_STATUS(status, 200);
  BOOST_TEST(status.obj().at("plan").as_object().at("name").as_string() == "unlimited");
  BOOST_TEST(status.obj().at("usage").as_object().at("workers_in_use").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(only_the_admin_assigns_plans_and_only_plans_that_exist) {
  Fresh f;
  Response as_account = f.c.request("PUT", "/v1/admin/accounts/" + f.account + "/plan",
                                    js({{"plan", "two"}}), {{"Authorization", "Bearer " + f.key}});
  BOOST_TEST(error_problem(as_account, "forbidden") == "");
  Response unknown_plan = f.set_plan("platinum");
  BOOST_TEST(error_problem(unknown_plan, "invalid_request") == "");
  BOOST_TEST(unknown_plan.obj().at("message").as_string().find("two") != std::string::npos);
  Response unknown_account =
      f.c.request("PUT", "/v1/admin/accounts/acct_nosuch/plan", js({{"plan", "two"}}),
                  {{"Authorization", "Bearer " + kAdminKey}});
  BOOST_TEST(error_problem(unknown_account, "not_found") == "");

  Response assigned = f.set_plan("two");
  BATON_CHECK_STATUS(assigned, 200);
  BOOST_TEST(assigned.obj().at("account").as_object().at("id").as_string() == f.account);
  BOOST_TEST(assigned.obj().at("account").as_object().at("plan").as_string() == "two");
  BOOST_TEST(assigned.obj().at("plan").as_object().at("workers").as_int64() == 2);
  // From the account's next request on.
  Response status = f.c.get("/v1/billing/status", f.key);
  BOOST_TEST(status.obj().at("plan").as_object().at("name").as_string() == "two");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(workers)

BOOST_AUTO_TEST_CASE(a_claim_past_the_limit_gets_seed_000s_contract_with_billing_context) {
  Fresh f;
  f.require_plan("two");
  f.create(4);
  std::string first = f.claim("w1").task_id();
  BATON_CHECK_STATUS(f.claim("w2"), 200);
  Response refused = f.claim("w3");
  BOOST_TEST(error_problem(refused, "max_workers_reached") == "");
  BOOST_TEST(refused.recommended_action() == "retry_after_wait");
  BOOST_TEST(refused.has_header("Retry-After"));
  const json::object& billing = refused.contract().at("billing_context").as_object();
  BOOST_TEST(billing.at("plan").as_string() == "two");
  BOOST_TEST(billing.at("workers_in_use").as_int64() == 2);
  BOOST_TEST(billing.at("workers_limit").as_int64() == 2);
  // A claim by id is held to the same limit.
  std::string third = f.c.list_tasks(f.key, "status=pending&limit=1")
                          .obj().at("tasks").as_array().at(0).as_object().at("id").as_string()
                          .c_str();
  BOOST_TEST(error_problem(f.c.claim_id(f.key, third, js({{"worker_id", "w3"}})),
                           "max_workers_reached") == "");
  // A lease that ends frees its slot.
  BATON_CHECK_STATUS(f.c.complete(f.key, first, js({{"result", {{"ok", true}}}})), 200);
  BATON_CHECK_STATUS(f.claim("w3"), 200);
}

BOOST_AUTO_TEST_CASE(an_expired_lease_frees_its_slot) {
  Fresh f;
  f.require_plan("two");
  f.create(3, {}, {{"leaseDurationSeconds", 1}});
  BATON_CHECK_STATUS(f.claim("w1"), 200);
  BATON_CHECK_STATUS(f.claim("w2"), 200);
  BOOST_TEST(error_problem(f.claim("w3"), "max_workers_reached") == "");
  bool freed = poll_until([&] { return f.claim("w3").status == 200; }, 10s, 100ms);
  BOOST_TEST(freed);
}

// 64 claimers at once over types that live on both shards, batch claims among them: the
// account never holds one lease more than its plan's workers.
BOOST_AUTO_TEST_CASE(parallel_claimers_across_shards_never_pass_the_limit) {
  Fresh f;
  f.require_plan("five");
  std::vector<std::string> types;
  for (int i = 0; i < 8; ++i) types.push_back(f.type + "_" + std::to_string(i));
  for (const std::string& t : types) f.create(6, t);
  std::atomic<int> claimed{0}, refused{0}, other{0};
  std::vector<std::future<void>> claimers;
  for (int i = 0; i < 64; ++i) {
    claimers.push_back(std::async(std::launch::async, [&, i] {
      Client c = limits_server().client();
      json::object body{{"type", types[static_cast<std::size_t>(i) % types.size()]},
                        {"worker_id", worker(i)}};
      if (i % 4 == 0) body["max_tasks"] = 3;
      if (i % 4 == 1) body.erase("type");  // any type: looks across shards
      Response r = c.claim(f.key, js(body));
      if (r.status == 200 && r.obj().contains("tasks")) {
        claimed += static_cast<int>(r.obj().at("tasks").as_array().size());
      } else if (r.status == 200) {
        claimed += r.task_is_null() ? 0 : 1;
      } else if (r.error() == "max_workers_reached") {
        ++refused;
      } else {
        ++other;
      }
    }));
  }
  for (auto& claimer : claimers) claimer.get();
  BOOST_TEST(claimed.load() == 5);
  BOOST_TEST(other.load() == 0);
  BOOST_TEST(refused.load() >= 64 - 5);
  Response status = f.c.get("/v1/billing/status", f.key);
  BOOST_TEST(status.obj().at("usage").as_object().at("workers_in_use").as_int64() == 5);
  Response claimed_list = f.c.list_tasks(f.key, "status=claimed&limit=100");
  BOOST_TEST(claimed_list.obj().at("tasks").as_array().size() == 5u);
}

BOOST_AUTO_TEST_CASE(the_count_of_live_leases_is_rebuilt_after_a_restart) {
  TestServer server(limits_options());
  Fresh f(server);
  f.require_plan("two");
  f.create(3);
  BATON_CHECK_STATUS(f.claim("w1"), 200);
  BATON_CHECK_STATUS(f.claim("w2"), 200);
  server.kill9();
  server.restart();
  Client c = server.client();
  Response refused = c.claim(f.key, js({{"type", f.type}, {"worker_id", "w3"}}));
  BOOST_TEST(error_problem(refused, "max_workers_reached") == "");
  Response status = c.get("/v1/billing/status", f.key);
  BOOST_TEST(status.obj().at("usage").as_object().at("workers_in_use").as_int64() == 2);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(rates)

BOOST_AUTO_TEST_CASE(headers_count_down_then_a_429_says_when_the_hour_resets) {
  Fresh f;
  f.require_plan("three_claims");
  f.create(1);
  std::int64_t hour_ends = (std::chrono::duration_cast<std::chrono::seconds>(
                                WallClock::now().time_since_epoch())
                                .count() / 3600 + 1) * 3600;
  for (int i = 0; i < 3; ++i) {
    Response r = f.claim(worker(i));  // empty claims count too
    BATON_CHECK_STATUS(r, 200);
    BOOST_TEST(header_int(r, "X-RateLimit-Limit") == 3);
    BOOST_TEST(header_int(r, "X-RateLimit-Remaining") == 2 - i);
    BOOST_TEST(header_int(r, "X-RateLimit-Reset") >= hour_ends);
    BOOST_TEST(header_int(r, "X-RateLimit-Reset") <= hour_ends + 3600);
  }
  Response limited = f.claim("w9");
  BOOST_TEST(error_problem(limited, "rate_limited") == "");
  BOOST_TEST(header_int(limited, "X-RateLimit-Remaining") == 0);
  std::int64_t retry = header_int(limited, "Retry-After");
  BOOST_TEST(retry >= 1);
  BOOST_TEST(retry <= 3600);
  // Other classes keep their own counts.
  Response read = f.c.get("/v1/billing/status", f.key);
  BATON_CHECK_STATUS(read, 200);
  BOOST_TEST(header_int(read, "X-RateLimit-Limit") == 1000);
  const json::object& counted =
      read.obj().at("usage").as_object().at("requests_this_hour").as_object();
  BOOST_TEST(counted.at("claim").as_int64() == 3);
  BOOST_TEST(counted.at("create").is_null());  // not limited, not counted
}

BOOST_AUTO_TEST_CASE(a_long_poll_counts_once) {
  Fresh f;
  f.require_plan("three_claims");
  Response waited = f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", 1}}));
  BATON_CHECK_STATUS(waited, 200);
  BOOST_TEST(header_int(waited, "X-RateLimit-Remaining") == 2);
}

BOOST_AUTO_TEST_CASE(claim_next_counts_a_claim_and_bad_requests_count_too) {
  Fresh f;
  f.require_plan("three_claims");
  f.create(2);
  std::string first = f.claim("w1").task_id();
  Response chained = f.c.complete(
      f.key, first, js({{"result", {{"ok", true}}}, {"claim_next", {{"type", f.type}, {"worker_id", "w1"}}}}));
  BATON_CHECK_STATUS(chained, 200);
  BOOST_TEST(!chained.obj().at("next").as_object().at("task").is_null());
  Response bad = f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", "soon"}}));
  BOOST_TEST(error_problem(bad, "invalid_request") == "");
  BOOST_TEST(header_int(bad, "X-RateLimit-Remaining") == 0);  // 1 claim, 1 claim_next, 1 bad
  Response limited = f.c.claim(f.key, js({{"type", f.type}}));
  BOOST_TEST(error_problem(limited, "rate_limited") == "");
}

BOOST_AUTO_TEST_CASE(a_batch_create_counts_each_task) {
  Fresh f;
  f.require_plan("two_creates");
  json::array three;
  for (int i = 0; i < 3; ++i) three.push_back(json::object{{"type", f.type}, {"payload", {{"n", i}}}});
  Response too_many = f.c.post("/v1/tasks/batch", f.key, js({{"tasks", three}}));
  BOOST_TEST(error_problem(too_many, "rate_limited") == "");
  BOOST_TEST(too_many.obj().at("message").as_string().find("split it") != std::string::npos);
  three.pop_back();
  Response two = f.c.post("/v1/tasks/batch", f.key, js({{"tasks", three}}));
  BATON_CHECK_STATUS(two, 201);
  BOOST_TEST(header_int(two, "X-RateLimit-Remaining") == 0);
}

BOOST_AUTO_TEST_CASE(mcp_tool_calls_count_toward_the_same_limits) {
  Fresh f;
  f.require_plan("three_claims");
  McpSession mcp(limits_server(), f.key);
  for (int i = 0; i < 3; ++i) {
    json::object result = mcp.call("claim_task", {{"type", f.type}});
    BOOST_TEST(!(result.contains("isError") && result.at("isError").as_bool()));
  }
  json::object limited = mcp.call("claim_task", {{"type", f.type}});
  BOOST_TEST(limited.at("isError").as_bool());
  BOOST_TEST(js(limited).find("rate_limited") != std::string::npos);
  json::object status = mcp.call("get_billing_status", {});
  BOOST_TEST(js(status).find("\"claim\":3") != std::string::npos);
}

// The worker limit and the quota answer the same over MCP: a tool error carrying the
// HTTP answer, billing_context and upgrade_plan included.
BOOST_AUTO_TEST_CASE(the_worker_limit_and_the_quota_hold_over_mcp) {
  Fresh f;
  f.require_plan("two");
  f.create(3);
  McpSession mcp(limits_server(), f.key);
  for (int i = 0; i < 2; ++i) {
    json::object claimed = mcp.call("claim_task", {{"type", f.type}, {"worker_id", worker(i)}});
    BOOST_TEST(!(claimed.contains("isError") && claimed.at("isError").as_bool()));
  }
  json::object refused = mcp.call("claim_task", {{"type", f.type}, {"worker_id", "w9"}});
  BOOST_TEST(refused.at("isError").as_bool());
  const json::object& answer = refused.at("structuredContent").as_object();
  BOOST_TEST(answer.at("error").as_string() == "max_workers_reached");
  BOOST_TEST(answer.at("agent_contract").as_object().at("billing_context").as_object()
                 .at("workers_limit").as_int64() == 2);

  f.require_plan("five_tasks");
  for (int i = 0; i < 2; ++i) {
    json::object made = mcp.call("create_task", {{"type", f.type}, {"payload", {{"n", i}}}});
    BOOST_TEST(!(made.contains("isError") && made.at("isError").as_bool()));
  }
  json::object over = mcp.call("create_task", {{"type", f.type}, {"payload", {{"n", 9}}}});
  BOOST_TEST(over.at("isError").as_bool());
  BOOST_TEST(over.at("structuredContent").as_object().at("error").as_string() == "quota_exceeded");
}

BOOST_AUTO_TEST_CASE(registrations_are_bounded_per_client_address) {
  TestServer server(ServerOptions{}.with("rate_limits.registrations_per_hour_per_address", "2"));
  Client c = server.client();
  BATON_CHECK_STATUS(c.post("/v1/keys/register", ""), 201);
  BATON_CHECK_STATUS(c.post("/v1/keys/register", ""), 201);
  Response third = c.post("/v1/keys/register", "");
  BOOST_TEST(error_problem(third, "rate_limited") == "");
  BOOST_TEST(third.has_header("Retry-After"));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(reload)

BOOST_AUTO_TEST_CASE(sighup_applies_a_good_file_and_keeps_the_plans_on_a_bad_one) {
  TestServer server(limits_options());
  Fresh f(server);
  f.require_plan("two");
  f.create(4);
  BATON_CHECK_STATUS(f.claim("w1"), 200);
  BATON_CHECK_STATUS(f.claim("w2"), 200);
  BOOST_TEST(error_problem(f.claim("w3"), "max_workers_reached") == "");

  std::string original = read_file(server.config_path());
  auto rewrite = [&](const std::string& text) {
    std::ofstream(server.config_path(), std::ios::trunc) << text;
    ::kill(server.pid(), SIGHUP);
  };
  // The same connection stays open across the reload.
  int connects = f.c.connects();
  std::string wider = original;
  wider.replace(wider.find("two: { workers: 2 }"), 19, "two: { workers: 3 }");
  rewrite(wider);
  bool applied = poll_until([&] { return f.claim("w3").status == 200; }, 5s, 50ms);
  BOOST_TEST(applied);
  BOOST_TEST(f.c.connects() == connects);

  rewrite(wider + "plans_typo: [\n");  // a YAML error: nothing changes
  bool logged = poll_until(
      [&] { return server.log_tail(20).find("the plans in force stay") != std::string::npos; }, 5s);
  BOOST_TEST(logged);
  Response status = f.c.get("/v1/billing/status", f.key);
  BOOST_TEST(status.obj().at("plan").as_object().at("workers").as_int64() == 3);
  BOOST_TEST(server.alive());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(operator_commands)

BOOST_AUTO_TEST_CASE(baton_keys_and_accounts_manage_any_account_through_the_server) {
  TestServer& server = limits_server();
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  std::map<std::string, std::string> env{{"BATON_ADMIN_KEY", kAdminKey}};

  // A new account on a plan, whatever the registration mode; the secret alone on line 1.
  CommandRun created = run_baton({"keys", "create", "--label", "ops", "--plan", "two", "--url", url}, env);
  BOOST_REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  std::string secret = created.out.substr(0, created.out.find('\n'));
  BOOST_TEST(secret.starts_with("orch_live_"));
  Client c = server.client();
  Response status = c.get("/v1/billing/status", secret);
  BATON_CHECK_STATUS(status, 200);
  std::string account = std::string(status.obj().at("accountId").as_string());
  BOOST_TEST(status.obj().at("plan").as_object().at("name").as_string() == "two");

  CommandRun second = run_baton({"keys", "create", "--account", account, "--url", url}, env);
  BOOST_REQUIRE_MESSAGE(second.exit_code == 0, second.err);
  std::string second_secret = second.out.substr(0, second.out.find('\n'));
  BATON_CHECK_STATUS(c.get("/v1/keys", second_secret), 200);

  CommandRun listed = run_baton({"keys", "list", "--account", account, "--url", url}, env);
  BOOST_REQUIRE_MESSAGE(listed.exit_code == 0, listed.err);
  BOOST_TEST(std::count(listed.out.begin(), listed.out.end(), '\n') == 2);
  BOOST_TEST(listed.out.find("orch_live_") == std::string::npos);  // never the secrets
  std::string second_id = second.out.substr(second.out.find(" key ") + 5);
  second_id = second_id.substr(0, second_id.find_first_of(" \n"));
  BOOST_TEST(listed.out.find(second_id) != std::string::npos);

  CommandRun revoked =
      run_baton({"keys", "revoke", "--account", account, "--key", second_id, "--url", url}, env);
  BOOST_REQUIRE_MESSAGE(revoked.exit_code == 0, revoked.err);
  BOOST_TEST(error_problem(c.get("/v1/keys", second_secret), "invalid_api_key") == "");
  BATON_CHECK_STATUS(c.get("/v1/keys", secret), 200);

  CommandRun planned = run_baton({"accounts", "set-plan", account, "five", "--url", url}, env);
  BOOST_REQUIRE_MESSAGE(planned.exit_code == 0, planned.err);
  status = c.get("/v1/billing/status", secret);
  BOOST_TEST(status.obj().at("plan").as_object().at("name").as_string() == "five");

  CommandRun unknown = run_baton({"accounts", "set-plan", account, "gold", "--url", url}, env);
  BOOST_TEST(unknown.exit_code == 1);
  BOOST_TEST(unknown.err.find("invalid_request") != std::string::npos);
  CommandRun wrong_key = run_baton({"keys", "list", "--account", account, "--url", url},
                                   {{"BATON_ADMIN_KEY", "not-the-key"}});
  BOOST_TEST(wrong_key.exit_code == 1);
  BOOST_TEST(wrong_key.err.find("forbidden") != std::string::npos);
  CommandRun no_key = run_baton({"keys", "list", "--account", account, "--url", url});
  BOOST_TEST(no_key.exit_code == 2);
}

// Revocation takes effect on the next request on every shard: connections served by each
// shard's thread (the harness runs two) all see it.
BOOST_AUTO_TEST_CASE(a_revoked_key_fails_on_every_connection_at_once) {
  Fresh f;
  Response second = f.c.post("/v1/keys", f.key, js({{"label", "spare"}}));
  BATON_CHECK_STATUS(second, 201);
  std::string spare = std::string(second.obj().at("apiKey").as_string());
  std::string spare_id = std::string(second.obj().at("keyId").as_string());
  std::vector<Client> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(limits_server().client());
    BATON_CHECK_STATUS(clients.back().get("/v1/keys", spare), 200);  // cached on its shard
  }
  BATON_CHECK_STATUS(f.c.del("/v1/keys/" + spare_id, f.key), 200);
  for (Client& client : clients) {
    BOOST_TEST(error_problem(client.get("/v1/keys", spare), "invalid_api_key") == "");
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(quota)

BOOST_AUTO_TEST_CASE(creates_past_the_month_get_402_and_replays_do_not_count) {
  Fresh f;
  f.require_plan("five_tasks");
  Response first = f.c.create_task(f.key, task_body(f.type), {{"Idempotency-Key", "once"}});
  BATON_CHECK_STATUS(first, 201);
  f.create(2);
  // A batch is all or nothing: three do not fit in the two left.
  json::array three;
  for (int i = 0; i < 3; ++i) three.push_back(json::object{{"type", f.type}, {"payload", {{"n", i}}}});
  Response batch = f.c.post("/v1/tasks/batch", f.key, js({{"tasks", three}}));
  BOOST_TEST(error_problem(batch, "quota_exceeded") == "");
  three.pop_back();
  BATON_CHECK_STATUS(f.c.post("/v1/tasks/batch", f.key, js({{"tasks", three}}), {{"Idempotency-Key", "b"}}), 201);
  Response over = f.c.create_task(f.key, task_body(f.type));
  BOOST_TEST(error_problem(over, "quota_exceeded") == "");
  BOOST_TEST(over.recommended_action() == "upgrade_plan");
  BOOST_TEST(over.obj().at("message").as_string().find("5 tasks per calendar month") != std::string::npos);
  // Replays answer what was made, without counting.
  Response replay = f.c.create_task(f.key, task_body(f.type), {{"Idempotency-Key", "once"}});
  BATON_CHECK_STATUS(replay, 201);
  BOOST_TEST(replay.task_id() == first.task_id());
  BATON_CHECK_STATUS(f.c.post("/v1/tasks/batch", f.key, js({{"tasks", three}}), {{"Idempotency-Key", "b"}}), 201);
  Response listed = f.c.list_tasks(f.key, "limit=100");
  BOOST_TEST(listed.obj().at("tasks").as_array().size() == 5u);
  Response usage = f.c.get("/v1/usage", f.key);
  BATON_CHECK_STATUS(usage, 200);
  BOOST_TEST(usage.obj().at("quota").as_object().at("created_this_month").as_int64() == 5);
  BOOST_TEST(usage.obj().at("quota").as_object().at("tasks_per_month").as_int64() == 5);
}

BOOST_AUTO_TEST_CASE(a_linked_batch_is_all_or_nothing_for_the_quota_too) {
  Fresh f;
  f.require_plan("five_tasks");
  std::string parent = f.c.create_task_id(f.key, task_body(f.type));
  auto children = [&](int count) {
    json::array items;
    for (int i = 0; i < count; ++i) {
      items.push_back(json::object{{"type", f.type}, {"payload", {{"n", i}}}, {"parent_task_id", parent}});
    }
    return js({{"tasks", items}});
  };
  BOOST_TEST(error_problem(f.c.post("/v1/tasks/batch", f.key, children(5)), "quota_exceeded") == "");
  BOOST_TEST(f.c.list_tasks(f.key, "limit=100").obj().at("tasks").as_array().size() == 1u);
  BATON_CHECK_STATUS(f.c.post("/v1/tasks/batch", f.key, children(4)), 201);
  BOOST_TEST(error_problem(f.c.create_task(f.key, task_body(f.type)), "quota_exceeded") == "");
}

BOOST_AUTO_TEST_CASE(parallel_creates_across_shards_never_pass_the_quota) {
  Fresh f;
  f.require_plan("twenty_tasks");
  std::atomic<int> created{0}, refused{0}, other{0};
  std::vector<std::future<void>> producers;
  for (int i = 0; i < 64; ++i) {
    producers.push_back(std::async(std::launch::async, [&, i] {
      Client c = limits_server().client();
      Response r = c.create_task(f.key, task_body(f.type + "_" + std::to_string(i % 8)));
      if (r.status == 201) {
        ++created;
      } else if (r.error() == "quota_exceeded") {
        ++refused;
      } else {
        ++other;
      }
    }));
  }
  for (auto& producer : producers) producer.get();
  BOOST_TEST(created.load() == 20);
  BOOST_TEST(refused.load() == 44);
  BOOST_TEST(other.load() == 0);
  BOOST_TEST(f.c.list_tasks(f.key, "limit=100").obj().at("tasks").as_array().size() == 20u);
}

BOOST_AUTO_TEST_CASE(the_months_count_survives_a_kill_9) {
  TestServer server(limits_options());
  Fresh f(server);
  f.require_plan("five_tasks");
  f.create(5);
  server.kill9();
  server.restart();
  Client c = server.client();
  BOOST_TEST(error_problem(c.create_task(f.key, task_body(f.type)), "quota_exceeded") == "");
  Response status = c.get("/v1/billing/status", f.key);
  BOOST_TEST(status.obj().at("usage").as_object().at("tasks_created_this_month").as_int64() == 5);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(usage)

namespace {

// A known workload over two types: 5 created (3 of a, 2 of b); 4 claimed; 2 completed; one
// failed with attempts left and claimed no more; one failed for good (dead letter); one
// cancelled while pending.
void run_known_workload(Fresh& f) {
  std::string a = f.type + "_a", b = f.type + "_b";
  f.create(2, a);
  f.create(1, a, {{"maxAttempts", 1}});
  f.create(2, b);
  std::vector<std::string> claimed_a, claimed_b;
  for (int i = 0; i < 3; ++i) claimed_a.push_back(f.claim("w", a).task_id());
  claimed_b.push_back(f.claim("w", b).task_id());
  for (const std::string& id : {claimed_a[0], claimed_b[0]}) {
    BATON_CHECK_STATUS(f.c.complete(f.key, id, js({{"result", {{"ok", true}}}})), 200);
  }
  for (const std::string& id : {claimed_a[1], claimed_a[2]}) {
    BATON_CHECK_STATUS(f.c.fail(f.key, id, js({{"error", "boom"}})), 200);
  }
  Response pending_b = f.c.list_tasks(f.key, "type=" + b + "&status=pending");
  std::string left = std::string(pending_b.obj().at("tasks").as_array().at(0).as_object().at("id").as_string());
  BATON_CHECK_STATUS(f.c.cancel(f.key, left), 200);
}

void check_known_workload(Client& c, const std::string& key, const std::string& type) {
  Response usage = c.get("/v1/usage", key);
  BATON_CHECK_STATUS(usage, 200);
  const json::object& totals = usage.obj().at("totals").as_object();
  BOOST_TEST(totals.at("created").as_int64() == 5);
  BOOST_TEST(totals.at("claimed").as_int64() == 4);
  BOOST_TEST(totals.at("completed").as_int64() == 2);
  BOOST_TEST(totals.at("failed").as_int64() == 2);
  BOOST_TEST(totals.at("dead_lettered").as_int64() == 1);
  BOOST_TEST(totals.at("cancelled").as_int64() == 1);
  BOOST_TEST(totals.at("mean_wait_ms").as_int64() >= 0);

  Response breakdown = c.get("/v1/usage/breakdown", key);
  BATON_CHECK_STATUS(breakdown, 200);
  const json::array& types = breakdown.obj().at("types").as_array();
  BOOST_REQUIRE_EQUAL(types.size(), 2u);
  const json::object& a = types.at(0).as_object();
  BOOST_TEST(a.at("type").as_string() == type + "_a");
  BOOST_TEST(a.at("created").as_int64() == 3);
  BOOST_TEST(a.at("claimed").as_int64() == 3);
  BOOST_TEST(a.at("completed").as_int64() == 1);
  BOOST_TEST(a.at("failed").as_int64() == 2);
  BOOST_TEST(a.at("dead_lettered").as_int64() == 1);
  const json::object& b = types.at(1).as_object();
  BOOST_TEST(b.at("created").as_int64() == 2);
  BOOST_TEST(b.at("cancelled").as_int64() == 1);

  Response hours = c.get("/v1/usage/timeseries?bucket=hour", key);
  BATON_CHECK_STATUS(hours, 200);
  const json::array& points = hours.obj().at("points").as_array();
  BOOST_TEST(points.size() == 24u);
  std::int64_t created = 0;
  for (const json::value& point : points) created += point.as_object().at("created").as_int64();
  BOOST_TEST(created == 5);
  Response days = c.get("/v1/usage/timeseries?bucket=day", key);
  BATON_CHECK_STATUS(days, 200);
  BOOST_TEST(days.obj().at("points").as_array().size() >= 31u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(usage_matches_a_known_workload_before_and_after_a_kill_9) {
  TestServer server(limits_options());
  Fresh f(server);
  run_known_workload(f);
  check_known_workload(f.c, f.key, f.type);
  server.kill9();
  server.restart();
  Client c = server.client();
  check_known_workload(c, f.key, f.type);
}

BOOST_AUTO_TEST_CASE(usage_periods_are_checked_and_reachable_over_mcp) {
  Fresh f;
  f.create(1);
  BOOST_TEST(error_problem(f.c.get("/v1/usage?since=yesterday", f.key), "invalid_request") == "");
  BOOST_TEST(error_problem(f.c.get("/v1/usage/timeseries?bucket=week", f.key), "invalid_request") == "");
  BOOST_TEST(error_problem(f.c.get("/v1/usage/timeseries?bucket=hour&since=0", f.key),
                           "invalid_request") == "");  // too many points
  // Epoch milliseconds, as seed 004 sends them, and RFC 3339.
  std::int64_t hour_ago = std::chrono::duration_cast<std::chrono::milliseconds>(
                              WallClock::now().time_since_epoch()).count() - 3'600'000;
  Response since = f.c.get("/v1/usage?since=" + std::to_string(hour_ago), f.key);
  BATON_CHECK_STATUS(since, 200);
  BOOST_TEST(since.obj().at("totals").as_object().at("created").as_int64() == 1);
  Response future = f.c.get("/v1/usage?since=2999-01-01T00:00:00Z&until=2999-01-02T00:00:00Z", f.key);
  BATON_CHECK_STATUS(future, 200);
  BOOST_TEST(future.obj().at("totals").as_object().at("created").as_int64() == 0);
  McpSession mcp(limits_server(), f.key);
  json::object result = mcp.call("get_usage_breakdown", {});
  BOOST_TEST(js(result).find(f.type) != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(retention)

BOOST_AUTO_TEST_CASE(terminal_tasks_past_the_plans_retention_are_purged_and_live_ones_stay) {
  ServerOptions options = limits_options();
  options.with("tasks.purge_interval_seconds", "1").with("tasks.purge_batch", "2");
  TestServer server(options);
  Fresh f(server);
  f.require_plan("short_history");
  Fresh other(server);  // the default plan: kept for ever
  std::string kept = other.c.create_task_id(other.key, task_body(other.type));
  BATON_CHECK_STATUS(other.c.cancel(other.key, kept), 200);

  f.create(6, {}, {{"maxAttempts", 1}});
  std::vector<std::string> done;
  for (int i = 0; i < 4; ++i) done.push_back(f.claim(worker(i)).task_id());
  BATON_CHECK_STATUS(f.c.complete(f.key, done[0], js({{"result", {{"n", 0}}}})), 200);
  BATON_CHECK_STATUS(f.c.complete(f.key, done[1], js({{"result", {{"n", 1}}}})), 200);
  BATON_CHECK_STATUS(f.c.fail(f.key, done[2], js({{"error", "x"}})), 200);  // dead letter
  std::string claimed = done[3];
  Response pending = f.c.list_tasks(f.key, "status=pending&limit=10");
  const json::array& waiting = pending.obj().at("tasks").as_array();
  BOOST_REQUIRE_EQUAL(waiting.size(), 2u);
  std::string cancelled = std::string(waiting.at(0).as_object().at("id").as_string());
  std::string still_pending = std::string(waiting.at(1).as_object().at("id").as_string());
  BATON_CHECK_STATUS(f.c.cancel(f.key, cancelled), 200);

  // Four terminal tasks, two per write: gone within a few purge rounds.
  bool purged = poll_until([&] {
    return f.c.list_tasks(f.key, "limit=100").obj().at("tasks").as_array().size() == 2u;
  }, 15s, 200ms);
  BOOST_TEST(purged);
  for (const std::string& id : {done[0], done[1], done[2], cancelled}) {
    BOOST_TEST(error_problem(f.c.get_task(f.key, id), "task_not_found") == "");
  }
  BOOST_TEST(f.c.list_tasks(f.key, "status=completed").obj().at("tasks").as_array().empty());
  BOOST_TEST(f.c.list_tasks(f.key, "status=dead_letter").obj().at("tasks").as_array().empty());
  // Live tasks stay, whatever their age; another plan's history stays.
  BATON_CHECK_STATUS(f.c.get_task(f.key, still_pending), 200);
  BATON_CHECK_STATUS(f.c.heartbeat(f.key, claimed), 200);
  BATON_CHECK_STATUS(other.c.get_task(other.key, kept), 200);
  Response health = f.c.get("/health", "");
  BOOST_TEST(health.obj().at("retention").as_object().at("purged").as_int64() == 4);
  // Usage is history: it keeps what the purged tasks did.
  Response usage = f.c.get("/v1/usage", f.key);
  BOOST_TEST(usage.obj().at("totals").as_object().at("completed").as_int64() == 2);
  // And the purge survives a restart: nothing comes back.
  server.kill9();
  server.restart();
  Client c = server.client();
  BOOST_TEST(c.list_tasks(f.key, "limit=100").obj().at("tasks").as_array().size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
