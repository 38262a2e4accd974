// Schedules and webhook triggers (docs/operations.md "Schedules"), against the real
// server: validation, firing on time, trigger, run history, webhooks (secret, rotation,
// idempotency, rate), a type change, and firings exactly once across kill -9 with both
// missed-firing policies.
#define BOOST_TEST_MODULE schedules
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <set>
#include <thread>

#include "integration/harness.hpp"

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

ServerOptions schedule_options() {
  ServerOptions options;
  options.with("schedules.max_per_account", "5").with("schedules.webhook_per_minute", "10");
  return options;
}

TestServer& schedule_server() { return shared_server("schedules", schedule_options()); }

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = schedule_server()) : FreshAccount("sched_", on) {}

  Response create(json::object body) { return c.post("/v1/schedules", key, js(body)); }
  // A schedule of this account's type; returns its answer.
  json::object made(const std::string& cron, json::object extra = {}) {
    json::object body{{"cron", cron}, {"task", {{"type", type}, {"payload", {{"n", 1}}}}}};
    for (const auto& field : extra) body[field.key()] = field.value();
    Response r = create(body);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.describe());
    return r.obj();
  }
  json::array runs(const std::string& id, int limit = 100) {
    Response r = c.get("/v1/schedules/" + id + "/runs?limit=" + std::to_string(limit), key);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    return r.obj().at("runs").as_array();
  }
};

std::string id_of(const json::object& answer) {
  return std::string(answer.at("schedule").at("id").as_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(bad_schedules_are_refused_naming_what_is_wrong) {
  Fresh f;
  json::object task{{"type", f.type}, {"payload", json::object{}}};
  auto problem = [&](json::object body, std::string_view says) {
    Response r = f.create(body);
    BATON_CHECK_ERROR(r, "invalid_request");
    BOOST_TEST(r.body.find(says) != std::string::npos, r.body);
  };
  problem({{"cron", "* * *"}, {"task", task}}, "5 fields");
  problem({{"cron", "61 * * * *"}, {"task", task}}, "minute");
  problem({{"cron", "* * * * *"}, {"timezone", "Mars/Olympus"}, {"task", task}}, "IANA");
  problem({{"cron", "* * * * *"}}, "task");
  // The length bounds the schema lists (200 and 64 characters).
  problem({{"cron", "* * * * *" + std::string(192, ' ')}, {"task", task}}, "cron");
  problem({{"cron", "* * * * *"}, {"timezone", "America/" + std::string(57, 'x')}, {"task", task}}, "timezone");
  problem({{"cron", "* * * * *"}, {"task", {{"payload", json::object{}}}}}, "type");
  problem({{"cron", "* * * * *"}, {"missed", "always"}, {"task", task}}, "missed");
  problem({{"cron", "* * * * *"},
           {"task", {{"type", f.type}, {"payload", json::object{}}, {"depends_on", json::array{}}}}},
          "depends_on");
  BATON_CHECK_ERROR(f.c.get("/v1/schedules/sch_01M9769X7KXQ8WMZBAKYTB2000", f.key), "not_found");
  BATON_CHECK_ERROR(f.c.get("/v1/schedules", ""), "missing_api_key");
}

BOOST_AUTO_TEST_CASE(create_read_list_change_delete) {
  Fresh f, other;
  json::object made = f.made("0 9 * * MON-FRI", {{"name", "standup"}, {"timezone", "Europe/Berlin"},
                                                 {"missed", "run_once"}});
  std::string id = id_of(made);
  const json::object& s = made.at("schedule").as_object();
  BOOST_TEST(id.starts_with("sch_"));
  BOOST_TEST(s.at("name").as_string() == "standup");
  BOOST_TEST(s.at("timezone").as_string() == "Europe/Berlin");
  BOOST_TEST(s.at("missed").as_string() == "run_once");
  BOOST_TEST(s.at("enabled").as_bool());
  BOOST_TEST(s.at("webhook").as_bool() == false);
  BOOST_TEST(!made.contains("webhook"));  // no secret URL without webhook: true
  BOOST_TEST(s.at("task").at("type").as_string() == f.type);
  // 09:00 Berlin is 07:00 or 08:00 UTC.
  std::string next(s.at("next_run_at").as_string());
  BOOST_TEST((next.find("T07:00:00") != std::string::npos || next.find("T08:00:00") != std::string::npos), next);
  BATON_CHECK_CONTRACT(made.at("agent_contract"));

  Response read = f.c.get("/v1/schedules/" + id, f.key);
  BATON_REQUIRE_STATUS(read, 200);
  BOOST_TEST(read.obj().at("schedule").at("cron").as_string() == "0 9 * * MON-FRI");
  BATON_CHECK_ERROR(other.c.get("/v1/schedules/" + id, other.key), "not_found");
  Response listed = f.c.get("/v1/schedules", f.key);
  BATON_REQUIRE_STATUS(listed, 200);
  BOOST_TEST(listed.obj().at("schedules").as_array().size() == 1u);
  BOOST_TEST(other.c.get("/v1/schedules", other.key).obj().at("schedules").as_array().empty());

  Response patched = f.c.request("PATCH", "/v1/schedules/" + id,
                                 js({{"cron", "30 12 * * *"}, {"timezone", "UTC"}}),
                                 {{"Authorization", "Bearer " + f.key}});
  BATON_REQUIRE_STATUS(patched, 200);
  BOOST_TEST(patched.obj().at("schedule").at("name").as_string() == "standup");  // kept
  std::string moved(patched.obj().at("schedule").at("next_run_at").as_string());
  BOOST_TEST(moved.find("T12:30:00") != std::string::npos, moved);
  Response disabled = f.c.request("PATCH", "/v1/schedules/" + id, js({{"enabled", false}}),
                                  {{"Authorization", "Bearer " + f.key}});
  BATON_REQUIRE_STATUS(disabled, 200);
  BOOST_TEST(disabled.obj().at("schedule").at("next_run_at").is_null());
  BATON_CHECK_ERROR(other.c.del("/v1/schedules/" + id, other.key), "not_found");
  BATON_CHECK_STATUS(f.c.del("/v1/schedules/" + id, f.key), 200);
  BATON_CHECK_ERROR(f.c.get("/v1/schedules/" + id, f.key), "not_found");
}

BOOST_AUTO_TEST_CASE(a_schedule_fires_within_100_ms_of_each_due_time) {
  Fresh f;
  std::string id = id_of(f.made("* * * * * *"));
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  BATON_REQUIRE_STATUS(f.c.request("PATCH", "/v1/schedules/" + id, js({{"enabled", false}}),
                                   {{"Authorization", "Bearer " + f.key}}),
                       200);
  json::array runs = f.runs(id);
  BOOST_TEST(runs.size() >= 3u);
  std::set<std::string> dues;
  for (const json::value& run : runs) {
    BOOST_TEST(run.at("trigger").as_string() == "cron");
    BOOST_TEST(run.at("error").is_null());
    BOOST_TEST(run.at("task_status").as_string() == "pending");
    auto due = parse_time(run.at("due_at").as_string());
    auto fired = parse_time(run.at("fired_at").as_string());
    BOOST_TEST(seconds(fired - due) >= 0.0);
    BOOST_TEST(seconds(fired - due) < 0.1, "fired " << seconds(fired - due) << " s late");
    BOOST_TEST(dues.insert(std::string(run.at("due_at").as_string())).second);  // once each
    Response task = f.c.get_task(f.key, std::string(run.at("task_id").as_string()));
    BATON_REQUIRE_STATUS(task, 200);
    BOOST_TEST(task.task().at("payload").at("n").as_int64() == 1);
  }
  // Newest first, seq counting down.
  BOOST_TEST(runs[0].at("seq").as_int64() > runs[1].at("seq").as_int64());
}

BOOST_AUTO_TEST_CASE(trigger_fires_now_without_moving_the_next_firing) {
  Fresh f;
  json::object made = f.made("0 0 1 1 *");
  std::string id = id_of(made);
  std::string next(made.at("schedule").at("next_run_at").as_string());
  Response fired = f.c.post("/v1/schedules/" + id + "/trigger", f.key, js({{"payload", {{"n", 7}}}}));
  BATON_REQUIRE_STATUS(fired, 201);
  BOOST_TEST(fired.task().at("payload").at("n").as_int64() == 7);
  BOOST_TEST(fired.obj().at("run").at("trigger").as_string() == "manual");
  BATON_CHECK_CONTRACT(fired.obj().at("agent_contract"));
  Response read = f.c.get("/v1/schedules/" + id, f.key);
  BOOST_TEST(read.obj().at("schedule").at("next_run_at").as_string() == next);
  BOOST_TEST(read.obj().at("schedule").at("runs").as_int64() == 1);
  BOOST_TEST(read.obj().at("schedule").at("last_task_id").as_string() == fired.task_id());
  json::array runs = f.runs(id);
  BOOST_REQUIRE(runs.size() == 1u);
  BOOST_TEST(runs[0].at("task_id").as_string() == fired.task_id());
}

BOOST_AUTO_TEST_CASE(webhooks_fire_with_their_secret_alone) {
  Fresh f;
  json::object made = f.made("0 0 1 1 *", {{"webhook", true}});
  std::string id = id_of(made);
  BOOST_TEST(made.at("schedule").at("webhook").as_bool());
  std::string url(made.at("webhook").at("url").as_string());
  BOOST_TEST(url.starts_with("/v1/webhooks/" + id + "/"));
  // Shown once: a read does not show the secret.
  BOOST_TEST(f.c.get("/v1/schedules/" + id, f.key).body.find(url) == std::string::npos);

  Response fired = f.c.post(url, "", js({{"event", "push"}}));
  BATON_REQUIRE_STATUS(fired, 201);
  BOOST_TEST(fired.task().at("payload").at("event").as_string() == "push");
  BOOST_TEST(fired.task().at("type").as_string() == f.type);
  BOOST_TEST(fired.obj().at("run").at("trigger").as_string() == "webhook");
  // No body: the template's payload.
  Response plain = f.c.post(url, "");
  BATON_REQUIRE_STATUS(plain, 201);
  BOOST_TEST(plain.task().at("payload").at("n").as_int64() == 1);
  BATON_CHECK_ERROR(f.c.post(url, "", "[1,2]"), "invalid_request");
  BATON_CHECK_ERROR(f.c.post("/v1/webhooks/" + id + "/whk_wrong", ""), "not_found");

  // Idempotency-Key: the retry answers the same task, and makes no second one.
  Response once = f.c.post(url, "", js({{"n", 2}}), {{"Idempotency-Key", "delivery-1"}});
  BATON_REQUIRE_STATUS(once, 201);
  Response again = f.c.post(url, "", js({{"n", 2}}), {{"Idempotency-Key", "delivery-1"}});
  BATON_REQUIRE_STATUS(again, 201);
  BOOST_TEST(again.task_id() == once.task_id());
  BOOST_TEST(f.runs(id).size() == 3u);  // fired, plain, once (the retry added none)
  BATON_CHECK_ERROR(f.c.post(url, "", "{}", {{"Idempotency-Key", "delivery-1"}}), "idempotency_conflict");
  // A stored answer goes only to the webhook's own URL: a wrong secret with the key is 404.
  BATON_CHECK_ERROR(f.c.post("/v1/webhooks/" + id + "/whk_wrong", "", js({{"n", 2}}),
                             {{"Idempotency-Key", "delivery-1"}}),
                    "not_found");

  // Rotation: the old URL stops working; the new one is shown once.
  Response rotated = f.c.post("/v1/schedules/" + id + "/webhook/rotate", f.key);
  BATON_REQUIRE_STATUS(rotated, 200);
  std::string new_url(rotated.obj().at("webhook").at("url").as_string());
  BOOST_TEST(new_url != url);
  BATON_CHECK_ERROR(f.c.post(url, ""), "not_found");
  // A schedule without a webhook has no URL that works.
  Response removed = f.c.request("PATCH", "/v1/schedules/" + id, js({{"webhook", false}}),
                                 {{"Authorization", "Bearer " + f.key}});
  BATON_REQUIRE_STATUS(removed, 200);
  BOOST_TEST(removed.obj().at("schedule").at("webhook").as_bool() == false);
  BATON_CHECK_ERROR(f.c.post(new_url, ""), "not_found");
  // Calls with the right secret count per schedule (a wrong one counts nothing); past
  // schedules.webhook_per_minute (10 here) in a minute they are refused.
  Response again_rotated = f.c.post("/v1/schedules/" + id + "/webhook/rotate", f.key);
  BATON_REQUIRE_STATUS(again_rotated, 200);
  std::string rotated_url(again_rotated.obj().at("webhook").at("url").as_string());
  for (int i = 0; i < 20; ++i) BATON_CHECK_ERROR(f.c.post(url, ""), "not_found");  // old secrets
  int passed = 0;
  Response refused = f.c.post(rotated_url, "");
  while (refused.status == 201 && passed < 11) {
    ++passed;
    refused = f.c.post(rotated_url, "");
  }
  BATON_CHECK_ERROR(refused, "rate_limited");
  BOOST_TEST(passed >= 7);  // 3 counted before (same minute), the wrong secrets none
  BOOST_TEST(passed <= 10);
  BOOST_TEST(!refused.header("Retry-After").empty());
}

BOOST_AUTO_TEST_CASE(changing_the_template_type_moves_its_firings) {
  Fresh f;
  std::string id = id_of(f.made("* * * * * *"));
  std::string new_type = f.type + "_moved";
  Response patched = f.c.request("PATCH", "/v1/schedules/" + id,
                                 js({{"task", {{"type", new_type}, {"payload", {{"moved", true}}}}}}),
                                 {{"Authorization", "Bearer " + f.key}});
  BATON_REQUIRE_STATUS(patched, 200);
  BOOST_TEST(patched.obj().at("schedule").at("task").at("type").as_string() == new_type);
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  Response claimed = f.c.claim(f.key, js({{"type", new_type}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  BOOST_REQUIRE(!claimed.task_is_null());
  BOOST_TEST(claimed.task().at("payload").at("moved").as_bool());
  BATON_CHECK_STATUS(f.c.get("/v1/schedules/" + id, f.key), 200);
  BATON_CHECK_STATUS(f.c.del("/v1/schedules/" + id, f.key), 200);
}

BOOST_AUTO_TEST_CASE(an_account_has_at_most_max_per_account) {
  Fresh f;
  for (int i = 0; i < 5; ++i) f.made("0 0 1 1 *");
  Response sixth = f.create({{"cron", "0 0 1 1 *"}, {"task", {{"type", f.type}, {"payload", json::object{}}}}});
  BATON_CHECK_ERROR(sixth, "invalid_request");
  BOOST_TEST(sixth.body.find("max_per_account") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(firings_happen_once_across_kill_9_and_missed_ones_follow_the_policy) {
  TestServer server(schedule_options());
  Fresh f(server);
  std::string skip = id_of(f.made("* * * * * *", {{"missed", "skip"}}));
  std::string once = id_of(f.made("* * * * * *", {{"missed", "run_once"}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(2300));
  server.kill9();
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // three firings missed each
  server.restart();
  f.c = server.client();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (const std::string& id : {skip, once}) {
    BATON_REQUIRE_STATUS(f.c.request("PATCH", "/v1/schedules/" + id, js({{"enabled", false}}),
                                     {{"Authorization", "Bearer " + f.key}}),
                         200);
  }
  for (const std::string& id : {skip, once}) {
    json::array runs = f.runs(id);
    BOOST_TEST(runs.size() >= 2u);
    std::set<std::string> dues, tasks;
    int missed = 0;
    std::int64_t seq = runs[0].at("seq").as_int64();
    for (const json::value& run : runs) {
      BOOST_TEST(run.at("seq").as_int64() == seq--);  // no gap, no repeat
      BOOST_TEST(dues.insert(std::string(run.at("due_at").as_string())).second);
      // Every firing recorded has its task: the two were one write.
      BOOST_REQUIRE(run.at("task_id").is_string());
      BOOST_TEST(tasks.insert(std::string(run.at("task_id").as_string())).second);
      BATON_CHECK_STATUS(f.c.get_task(f.key, std::string(run.at("task_id").as_string())), 200);
      if (run.at("trigger").as_string() == "missed") ++missed;
    }
    BOOST_TEST(seq == 0);
    BOOST_TEST(missed == (id == once ? 1 : 0), id << " missed firings made: " << missed);
  }
  // The tasks of the type are exactly the firings'.
  Response listed = f.c.list_tasks(f.key, "limit=100&type=" + f.type);
  BATON_REQUIRE_STATUS(listed, 200);
  BOOST_TEST(listed.obj().at("tasks").as_array().size() == f.runs(skip).size() + f.runs(once).size());
}
