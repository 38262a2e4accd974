// A task's history (docs/api.md "Task history"), against the real server: GET
// /v1/tasks/{id}/history lists each transition a task went through, with who made it
// and why; heartbeats are not listed; the history survives kill -9 and keeps the latest
// tasks.history_kept events.
#define BOOST_TEST_MODULE history
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <thread>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = shared_server()) : FreshAccount("history_", on) {}

  json::object history(const std::string& id) {
    Response r = c.get("/v1/tasks/" + id + "/history", key);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    BATON_CHECK_CONTRACT(r.obj().at("agent_contract"));
    return r.obj();
  }
  Response claim_as(const std::string& worker) {
    return c.claim(key, js({{"type", type}, {"worker_id", worker}}));
  }
};

// "event from->to" for each event, to compare a whole history at once.
std::vector<std::string> steps(const json::object& history) {
  std::vector<std::string> out;
  for (const json::value& e : history.at("events").as_array()) {
    std::string from = e.at("from").is_null() ? "" : std::string(e.at("from").as_string());
    out.push_back(std::string(e.at("event").as_string()) + " " + from + "->" +
                  std::string(e.at("to").as_string()));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_task_lists_each_transition_with_its_worker_and_reason) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type, {{"leaseDurationSeconds", 1}}));
  Response first = f.claim_as("w1");
  BATON_REQUIRE_STATUS(first, 200);
  BATON_REQUIRE_STATUS(f.c.heartbeat(f.key, id, js({{"lease_token", first.task_str("leaseToken")}})),
                       200);
  BATON_REQUIRE_STATUS(f.c.fail(f.key, id, js({{"lease_token", first.task_str("leaseToken")},
                                              {"reason", "tool \"crashed\""},
                                              {"retry_after_seconds", 0}})),
                       200);
  Response second = f.claim_as("w2");
  BATON_REQUIRE_STATUS(second, 200);
  // w2's lease (1 s) passes: the server's timer ends it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Response third = f.claim_as("w3");
  BATON_REQUIRE_STATUS(third, 200);
  BOOST_REQUIRE(third.task_str("id") == id);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js({{"lease_token", third.task_str("leaseToken")},
                                                  {"result", json::object{{"ok", true}}}})),
                       200);

  json::object h = f.history(id);
  BOOST_TEST(h.at("task_id").as_string() == id);
  BOOST_TEST(h.at("status").as_string() == "completed");
  BOOST_TEST(h.at("dropped").as_int64() == 0);
  std::vector<std::string> expected = {
      "create_task ->pending",         "claim_task pending->claimed", "fail_task claimed->pending",
      "claim_task pending->claimed",   "lease_expired claimed->pending",
      "claim_task pending->claimed",   "complete_task claimed->completed"};
  BOOST_TEST(steps(h) == expected, boost::test_tools::per_element());
  const json::array& events = h.at("events").as_array();
  BOOST_REQUIRE(events.size() == expected.size());
  const char* workers[] = {nullptr, "w1", "w1", "w2", "w2", "w3", "w3"};
  const int attempts[] = {0, 1, 1, 2, 2, 3, 3};
  std::string previous_at;
  for (std::size_t i = 0; i < events.size(); ++i) {
    BOOST_TEST_CONTEXT("event " << i) {
      const json::object& e = events[i].as_object();
      if (workers[i]) {
        BOOST_TEST(e.at("worker_id").as_string() == workers[i]);
      } else {
        BOOST_TEST(e.at("worker_id").is_null());
      }
      BOOST_TEST(e.at("attempt").as_int64() == attempts[i]);
      std::string at(e.at("at").as_string());
      BOOST_TEST(at >= previous_at);  // RFC 3339 in UTC with milliseconds sorts as text
      previous_at = at;
    }
  }
  BOOST_TEST(events[2].at("detail").as_string() == "tool \"crashed\"");
  BOOST_TEST(events[1].at("detail").is_null());
  // The task's own record agrees with the last event.
  Response task = f.c.get("/v1/tasks/" + id, f.key);
  BOOST_TEST(task.task_int("attemptCount") == 3);
}

BOOST_AUTO_TEST_CASE(operator_and_workflow_steps_are_listed_with_their_feedback) {
  Fresh f;
  std::string id = f.c.create_task_id(
      f.key, task_body(f.type, {{"review", json::object{{"required", true}}}, {"maxAttempts", 1}}));
  Response claimed = f.claim_as("w1");
  BATON_REQUIRE_STATUS(claimed, 200);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js({{"lease_token", claimed.task_str("leaseToken")},
                                                  {"result", json::object{{"n", 1}}}})),
                       200);
  BATON_REQUIRE_STATUS(f.c.post("/v1/tasks/" + id + "/review", f.key,
                                js({{"decision", "reject"}, {"feedback", "wrong file"}})),
                       200);
  BATON_REQUIRE_STATUS(f.c.post("/v1/tasks/" + id + "/requeue", f.key), 200);
  BATON_REQUIRE_STATUS(f.c.post("/v1/tasks/" + id + "/cancel", f.key), 200);
  json::object h = f.history(id);
  std::vector<std::string> expected = {
      "create_task ->pending",
      "claim_task pending->claimed",
      "complete_task claimed->awaiting_review",
      "review_task awaiting_review->dead_letter",
      "requeue_task dead_letter->pending",
      "cancel_task pending->cancelled"};
  BOOST_TEST(steps(h) == expected, boost::test_tools::per_element());
  BOOST_TEST(h.at("events").as_array()[3].at("detail").as_string() == "wrong file");
  BOOST_TEST(h.at("events").as_array()[4].at("attempt").as_int64() == 0);  // requeue resets it
}

BOOST_AUTO_TEST_CASE(a_dependent_lists_its_dependency_finishing) {
  Fresh f;
  std::string dependency = f.c.create_task_id(f.key, task_body(f.type));
  std::string dependent = f.c.create_task_id(
      f.key, task_body(f.type + "_after", {{"depends_on", json::array{dependency.c_str()}}}));
  Response claimed = f.claim_as("w1");
  BATON_REQUIRE_STATUS(claimed, 200);
  BATON_REQUIRE_STATUS(
      f.c.complete(f.key, dependency, js({{"lease_token", claimed.task_str("leaseToken")}})), 200);
  // The release crosses to the dependent's shard once the completion is durable.
  json::object h;
  for (int i = 0; i < 100; ++i) {
    h = f.history(dependent);
    if (h.at("status").as_string() == "pending") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::vector<std::string> expected = {"create_task ->blocked", "dependency_done blocked->pending"};
  BOOST_TEST(steps(h) == expected, boost::test_tools::per_element());
  BOOST_TEST(h.at("events").as_array()[1].at("detail").as_string() == dependency + " completed");
}

BOOST_AUTO_TEST_CASE(the_history_survives_kill_9_and_keeps_the_latest_events) {
  TestServer server(ServerOptions{}
                        .with("storage.sync", "batch")
                        .with("tasks.history_kept", "4")
                        .with("tasks.retry_backoff_base_seconds", "0"));
  Fresh f(server);
  std::string id = f.c.create_task_id(f.key, task_body(f.type, {{"maxAttempts", 10}}));
  for (int i = 0; i < 3; ++i) {
    std::string worker = "w";  // not "w" + …: g++ 12 warns of a false overlap (-Wrestrict)
    worker += std::to_string(i);
    Response claimed = f.claim_as(worker);
    BATON_REQUIRE_STATUS(claimed, 200);
    BATON_REQUIRE_STATUS(f.c.fail(f.key, id, js({{"lease_token", claimed.task_str("leaseToken")},
                                                {"reason", std::string("try ") + std::to_string(i)}})),
                         200);
  }
  json::object before = f.history(id);
  server.kill9();
  server.restart();
  f.c = server.client();
  json::object after = f.history(id);
  BOOST_TEST(json::serialize(after.at("events")) == json::serialize(before.at("events")));
  // 1 create + 3 claims + 3 fails = 7; the latest 4 kept.
  BOOST_TEST(after.at("dropped").as_int64() == 3);
  std::vector<std::string> expected = {"claim_task pending->claimed", "fail_task claimed->pending",
                                       "claim_task pending->claimed", "fail_task claimed->pending"};
  BOOST_TEST(steps(after) == expected, boost::test_tools::per_element());
  BOOST_TEST(after.at("events").as_array()[3].at("detail").as_string() == "try 2");
  BOOST_TEST(after.at("events").as_array()[0].at("worker_id").as_string() == "w1");
}

BOOST_AUTO_TEST_CASE(another_accounts_or_an_unknown_task_is_not_found) {
  Fresh f;
  Fresh other;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  BATON_CHECK_ERROR(other.c.get("/v1/tasks/" + id + "/history", other.key), "task_not_found");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks/tsk_01KDXK4M000000000000000000/history", f.key),
                    "task_not_found");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks/" + id + "/history", ""), "missing_api_key");
}
