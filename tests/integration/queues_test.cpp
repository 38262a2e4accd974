// Queues (docs/operations.md "Queues"), against the real server: the counts GET
// /v1/queues shows through a task's life, pausing and resuming a type's claims (typed,
// typeless, long-polled, batch and claim_next), and both surviving kill -9.
#define BOOST_TEST_MODULE queues
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <future>
#include <thread>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = shared_server()) : FreshAccount("queues_", on) {}

  // The queue of `of` (default: this account's type) in GET /v1/queues, or null.
  json::object queue(const std::string& of = {}) {
    Response r = c.get("/v1/queues", key);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    BATON_CHECK_CONTRACT(r.obj().at("agent_contract"));
    for (const json::value& q : r.obj().at("queues").as_array()) {
      if (q.at("type").as_string() == (of.empty() ? type : of)) return q.as_object();
    }
    return {};
  }
  std::int64_t count(const std::string& field, const std::string& of = {}) {
    json::object q = queue(of);
    return q.empty() ? -1 : q.at(field).as_int64();
  }
  Response pause(const std::string& of = {}) {
    return c.post("/v1/queues/" + (of.empty() ? type : of) + "/pause", key);
  }
  Response resume(const std::string& of = {}) {
    return c.post("/v1/queues/" + (of.empty() ? type : of) + "/resume", key);
  }
  Response claim_typed(const json::object& extra = {}) {
    json::object body{{"type", type}, {"worker_id", "w"}};
    for (const auto& field : extra) body[field.key()] = field.value();
    return c.claim(key, js(body));
  }
};

void check_paused_claim(const Response& r, const std::string& type) {
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_is_null());
  const json::object& contract = r.contract();
  BATON_CHECK_CONTRACT(contract);
  BOOST_REQUIRE(contract.contains("queue_context"));
  BOOST_TEST(contract.at("queue_context").at("reason").as_string() == "queue_paused");
  BOOST_TEST(contract.at("queue_context").at("type").as_string() == type);
  const json::object* wait = find_action(r.obj().at("agent_contract"), "retry_after_wait");
  BOOST_REQUIRE(wait);
  BOOST_TEST(wait->at("retry_after_seconds").as_int64() > 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(counts_follow_each_task_through_its_life) {
  Fresh f;
  BOOST_TEST(f.queue().empty());  // nothing created yet: not listed
  std::string first = f.c.create_task_id(f.key, task_body(f.type, {{"priority", 1}}));
  std::string second = f.c.create_task_id(f.key, task_body(f.type));
  f.c.create_task_id(f.key, task_body(f.type, {{"delaySeconds", 600}}));
  json::object q = f.queue();
  BOOST_REQUIRE(!q.empty());
  BOOST_TEST(q.at("pending").as_int64() == 2);
  BOOST_TEST(q.at("scheduled").as_int64() == 1);
  BOOST_TEST(q.at("claimed").as_int64() == 0);
  BOOST_TEST(q.at("created_per_minute").as_int64() == 3);
  BOOST_TEST(q.at("paused").as_bool() == false);
  BOOST_TEST(q.at("paused_at").is_null());
  BOOST_TEST(q.at("oldest_pending_age_seconds").as_int64() >= 0);

  Response claimed = f.claim_typed();
  BATON_REQUIRE_STATUS(claimed, 200);
  BOOST_TEST(claimed.task_id() == first);  // priority first
  BOOST_TEST(f.count("pending") == 1);
  BOOST_TEST(f.count("claimed") == 1);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, first, js({{"lease_token", claimed.task_str("leaseToken")}})),
                       200);
  BOOST_TEST(f.count("claimed") == 0);
  BOOST_TEST(f.count("completed_per_minute") == 1);

  // A dead letter is counted, and uncounted when requeued.
  Response next = f.claim_typed();
  BATON_REQUIRE_STATUS(next, 200);
  BOOST_TEST(next.task_id() == second);
  BATON_REQUIRE_STATUS(f.c.fail(f.key, second, js({{"lease_token", next.task_str("leaseToken")},
                                                   {"retryable", false}})),
                       200);
  BOOST_TEST(f.count("dead_lettered") == 1);
  BOOST_TEST(f.count("pending") == 0);
  BOOST_TEST(f.queue().at("oldest_pending_age_seconds").is_null());
  BATON_REQUIRE_STATUS(f.c.requeue(f.key, second), 200);
  BOOST_TEST(f.count("dead_lettered") == 0);
  BOOST_TEST(f.count("pending") == 1);
}

BOOST_AUTO_TEST_CASE(the_oldest_due_task_ages) {
  Fresh f;
  f.c.create_task_id(f.key, task_body(f.type));
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  f.c.create_task_id(f.key, task_body(f.type, {{"priority", 50}}));
  BOOST_TEST(f.count("oldest_pending_age_seconds") >= 2);
  BOOST_TEST(f.count("oldest_pending_age_seconds") < 60);
}

BOOST_AUTO_TEST_CASE(queues_are_per_account) {
  Fresh f, other;
  f.c.create_task_id(f.key, task_body(f.type));
  BOOST_TEST(other.queue(f.type).empty());
  // Pausing a type in one account leaves the same type in another alone.
  other.c.create_task_id(other.key, task_body(f.type));
  BATON_REQUIRE_STATUS(f.pause(), 200);
  Response r = other.c.claim(other.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(!r.task_is_null());
}

BOOST_AUTO_TEST_CASE(a_paused_type_hands_out_nothing_until_resumed) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  Response paused = f.pause();
  BATON_REQUIRE_STATUS(paused, 200);
  BATON_CHECK_CONTRACT(paused.obj().at("agent_contract"));
  BOOST_TEST(paused.obj().at("queue").at("paused").as_bool());
  BOOST_TEST(!paused.obj().at("queue").at("paused_at").is_null());
  BOOST_TEST(paused.obj().at("queue").at("pending").as_int64() == 1);
  BATON_REQUIRE_STATUS(f.pause(), 200);  // again: no change
  BOOST_TEST(f.queue().at("paused").as_bool());

  check_paused_claim(f.claim_typed(), f.type);
  // A claim of any type passes the paused type by, with the usual empty contract.
  Response any = f.c.claim(f.key, js({{"worker_id", "w"}}));
  BATON_REQUIRE_STATUS(any, 200);
  BOOST_TEST(any.task_is_null());
  BOOST_TEST(!any.contract().contains("queue_context"));
  // A claim by id is the operator's own pick: not held back.
  // Creating goes on.
  f.c.create_task_id(f.key, task_body(f.type));
  BOOST_TEST(f.count("pending") == 2);

  Response resumed = f.resume();
  BATON_REQUIRE_STATUS(resumed, 200);
  BOOST_TEST(!resumed.obj().at("queue").at("paused").as_bool());
  BOOST_TEST(resumed.obj().at("queue").at("paused_at").is_null());
  Response claimed = f.claim_typed();
  BATON_REQUIRE_STATUS(claimed, 200);
  BOOST_TEST(claimed.task_id() == id);
}

BOOST_AUTO_TEST_CASE(a_long_poll_on_a_paused_type_waits_for_the_resume) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  BATON_REQUIRE_STATUS(f.pause(), 200);
  // Waited out while paused: empty, and still says why.
  check_paused_claim(f.claim_typed({{"wait_seconds", 1}}), f.type);

  Client poller = f.server.client(std::chrono::seconds(30));
  auto waiting = std::async(std::launch::async, [&] {
    return poller.claim(f.key, js({{"type", f.type}, {"worker_id", "p"}, {"wait_seconds", 20}}));
  });
  BOOST_TEST((waiting.wait_for(std::chrono::milliseconds(700)) == std::future_status::timeout));
  auto resumed_at = std::chrono::steady_clock::now();
  BATON_REQUIRE_STATUS(f.resume(), 200);
  Response served = waiting.get();
  BATON_REQUIRE_STATUS(served, 200);
  BOOST_TEST(served.task_id() == id);
  BOOST_TEST(seconds(std::chrono::steady_clock::now() - resumed_at) < 2.0);
}

BOOST_AUTO_TEST_CASE(batch_claims_and_claim_next_say_the_queue_is_paused) {
  Fresh f;
  std::string first = f.c.create_task_id(f.key, task_body(f.type));
  f.c.create_task_id(f.key, task_body(f.type));
  Response claimed = f.claim_typed();
  BATON_REQUIRE_STATUS(claimed, 200);
  BATON_REQUIRE_STATUS(f.pause(), 200);

  Response batch = f.claim_typed({{"max_tasks", 5}});
  BATON_REQUIRE_STATUS(batch, 200);
  BOOST_TEST(batch.obj().at("tasks").as_array().empty());
  BOOST_TEST(batch.contract().at("queue_context").at("reason").as_string() == "queue_paused");

  // The completion itself goes on; the claim that follows it finds the queue paused.
  Response done = f.c.complete(
      f.key, first,
      js({{"lease_token", claimed.task_str("leaseToken")},
          {"claim_next", {{"type", f.type}, {"worker_id", "w"}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
  const json::object& next = done.obj().at("next").as_object();
  BOOST_TEST(next.at("task").is_null());
  BOOST_TEST(next.at("agent_contract").at("queue_context").at("type").as_string() == f.type);
}

BOOST_AUTO_TEST_CASE(pauses_and_dead_letter_counts_survive_kill_9) {
  TestServer server;
  Fresh f(server);
  std::string dead = f.c.create_task_id(f.key, task_body(f.type));
  Response claimed = f.claim_typed();
  BATON_REQUIRE_STATUS(claimed, 200);
  BATON_REQUIRE_STATUS(f.c.fail(f.key, dead, js({{"lease_token", claimed.task_str("leaseToken")},
                                                 {"retryable", false}})),
                       200);
  f.c.create_task_id(f.key, task_body(f.type));
  BATON_REQUIRE_STATUS(f.pause(), 200);
  server.kill9();
  server.restart();
  f.c = server.client();
  json::object q = f.queue();
  BOOST_REQUIRE(!q.empty());
  BOOST_TEST(q.at("paused").as_bool());
  BOOST_TEST(q.at("dead_lettered").as_int64() == 1);
  BOOST_TEST(q.at("pending").as_int64() == 1);
  check_paused_claim(f.claim_typed(), f.type);
  BATON_REQUIRE_STATUS(f.resume(), 200);
  server.kill9();
  server.restart();
  f.c = server.client();
  Response served = f.claim_typed();
  BATON_REQUIRE_STATUS(served, 200);
  BOOST_TEST(!served.task_is_null());
}

BOOST_AUTO_TEST_CASE(bad_queue_requests_are_refused_with_a_contract) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.post("/v1/queues/no%20spaces/pause", f.key), "invalid_request");
  BATON_CHECK_ERROR(f.c.post("/v1/queues/" + std::string(101, 'x') + "/pause", f.key),
                    "invalid_request");
  BATON_CHECK_ERROR(f.c.get("/v1/queues", ""), "missing_api_key");
  BATON_CHECK_ERROR(f.c.post("/v1/queues/" + f.type + "/pause", "not-a-key"), "invalid_api_key");
}
