// Idempotency (spec section 5): a key (header or body) scoped per account, method and
// path; replays are byte-identical; conflicts and in-flight duplicates are errors; only
// 2xx answers are stored.
#define BOOST_TEST_MODULE idempotency
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <latch>
#include <set>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  Fresh() : FreshAccount("idem_") {}

  Headers idem(const std::string& k) { return Headers{{"Idempotency-Key", k}}; }
  std::size_t count(const std::string& of_type) {
    Response r = c.list_tasks(key, "limit=100&type=" + of_type);
    BATON_REQUIRE_STATUS(r, 200);
    return r.obj().at("tasks").as_array().size();
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(idempotent_create)

BOOST_AUTO_TEST_CASE(the_same_key_and_body_replays_the_stored_response) {
  Fresh f;
  const std::string k = "job-" + unique_suffix();
  const std::string body = task_body(f.type, {{"priority", 3}});
  Response first = f.c.create_task(f.key, body, f.idem(k));
  BATON_REQUIRE_STATUS(first, 201);
  Response second = f.c.create_task(f.key, body, f.idem(k));
  BOOST_TEST(second.status == 201);
  BOOST_TEST(second.body == first.body);

  // Equal JSON, written differently (whitespace, key order): still the same request.
  const std::string reformatted =
      "{ \"priority\" : 3,\n  \"payload\": {\"n\":1}, \"type\": \"" + f.type + "\" }";
  Response third = f.c.create_task(f.key, reformatted, f.idem(k));
  BOOST_TEST(third.status == 201);
  BOOST_TEST(third.body == first.body);

  BOOST_TEST(f.count(f.type) == 1u);
}

BOOST_AUTO_TEST_CASE(the_same_key_with_another_body_is_idempotency_conflict) {
  Fresh f;
  const std::string k = "job-" + unique_suffix();
  BATON_REQUIRE_STATUS(f.c.create_task(f.key, task_body(f.type, {{"priority", 1}}), f.idem(k)), 201);
  Response conflict = f.c.create_task(f.key, task_body(f.type, {{"priority", 2}}), f.idem(k));
  BATON_CHECK_ERROR(conflict, "idempotency_conflict");
  BOOST_TEST(f.count(f.type) == 1u);
}

BOOST_AUTO_TEST_CASE(the_same_key_in_another_account_is_another_key) {
  Fresh f;
  std::string other_key = f.c.register_key();
  const std::string k = "job-" + unique_suffix();
  const std::string body = task_body(f.type);
  Response mine = f.c.create_task(f.key, body, f.idem(k));
  BATON_REQUIRE_STATUS(mine, 201);
  Response theirs = f.c.create_task(other_key, body, f.idem(k));
  BATON_REQUIRE_STATUS(theirs, 201);
  BOOST_TEST(theirs.task_id() != mine.task_id());
}

BOOST_AUTO_TEST_CASE(the_same_key_on_another_path_is_another_key) {
  Fresh f;
  const std::string k = "shared-" + unique_suffix();
  Response created = f.c.create_task(f.key, task_body(f.type), f.idem(k));
  BATON_REQUIRE_STATUS(created, 201);
  const std::string id = created.task_id();

  Response claimed = f.c.claim(f.key, js({{"type", f.type}}), f.idem(k));
  BATON_REQUIRE_STATUS(claimed, 200);
  BOOST_REQUIRE(!claimed.task_is_null());
  BOOST_TEST(claimed.task_id() == id);
  BOOST_TEST(claimed.task_str("status") == "claimed");

  Response done = f.c.complete(f.key, id, R"({"result":{}})", f.idem(k));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
}

BOOST_AUTO_TEST_CASE(a_failed_request_is_not_stored) {
  Fresh f;
  const std::string k = "retry-" + unique_suffix();
  Response bad = f.c.create_task(f.key, task_body(f.type, {{"priority", 500}}), f.idem(k));
  BATON_CHECK_ERROR(bad, "invalid_request");
  Response good = f.c.create_task(f.key, task_body(f.type), f.idem(k));
  BATON_REQUIRE_STATUS(good, 201);
  Response replay = f.c.create_task(f.key, task_body(f.type), f.idem(k));
  BOOST_TEST(replay.status == 201);
  BOOST_TEST(replay.body == good.body);
  BOOST_TEST(f.count(f.type) == 1u);
}

BOOST_AUTO_TEST_CASE(idempotency_key_in_the_body_works_like_the_header) {
  Fresh f;
  const std::string k = "body-" + unique_suffix();
  const std::string with_key = task_body(f.type, {{"idempotencyKey", k}});
  Response first = f.c.create_task(f.key, with_key);
  BATON_REQUIRE_STATUS(first, 201);
  Response second = f.c.create_task(f.key, with_key);
  BOOST_TEST(second.status == 201);
  BOOST_TEST(second.body == first.body);
  // The body without its idempotencyKey equals this one: the header form replays too.
  Response via_header = f.c.create_task(f.key, task_body(f.type), f.idem(k));
  BOOST_TEST(via_header.status == 201);
  BOOST_TEST(via_header.body == first.body);
  BOOST_TEST(f.count(f.type) == 1u);

  Response conflict = f.c.create_task(f.key, task_body(f.type, {{"idempotencyKey", k}, {"priority", 9}}));
  BATON_CHECK_ERROR(conflict, "idempotency_conflict");
}

BOOST_AUTO_TEST_CASE(an_invalid_idempotency_key_is_rejected) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.create_task(f.key, task_body(f.type), f.idem(std::string(256, 'k'))), "invalid_request");
  Response longest = f.c.create_task(f.key, task_body(f.type), f.idem(std::string(255, 'k')));
  BATON_CHECK_STATUS(longest, 201);
  BATON_CHECK_ERROR(f.c.create_task(f.key, task_body(f.type, {{"idempotencyKey", 42}})), "invalid_request");
}

BOOST_AUTO_TEST_CASE(concurrent_duplicates_create_exactly_one_task) {
  Fresh f;
  constexpr int kThreads = 24;
  const std::string k = "race-" + unique_suffix();
  const std::string body = task_body(f.type, {{"payload", json::object{{"race", true}}}});
  std::vector<Response> results(kThreads);
  std::vector<std::string> failures(kThreads);
  std::latch ready(kThreads);
  std::vector<std::thread> threads;
  const int port = f.server.port();
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      try {
        Client c(port);
        c.get("/health", "");  // connect before the race starts
        ready.arrive_and_wait();
        results[i] = c.create_task(f.key, body, Headers{{"Idempotency-Key", k}});
      } catch (const std::exception& e) {
        failures[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();

  int created = 0, in_flight = 0;
  std::string created_body;
  for (int i = 0; i < kThreads; ++i) {
    BOOST_TEST_CONTEXT("request " << i) {
      BOOST_REQUIRE_MESSAGE(failures[i].empty(), failures[i]);
      const Response& r = results[i];
      if (r.status == 201) {
        ++created;
        if (created_body.empty()) created_body = r.body;
        BOOST_TEST(r.body == created_body);
      } else {
        ++in_flight;
        BATON_CHECK_ERROR(r, "idempotency_in_flight");
      }
    }
  }
  BOOST_TEST_MESSAGE(created << " got 201, " << in_flight << " got 503 idempotency_in_flight");
  BOOST_TEST(created >= 1);
  BOOST_TEST(created + in_flight == kThreads);
  BOOST_TEST(f.count(f.type) == 1u);

  // Afterwards the key replays.
  Response replay = f.c.create_task(f.key, body, f.idem(k));
  BOOST_TEST(replay.status == 201);
  BOOST_TEST(replay.body == created_body);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(idempotent_mutations)

BOOST_AUTO_TEST_CASE(fail_with_an_idempotency_key_is_applied_once) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type, {{"maxAttempts", 5}}));
  Response claimed = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  const std::string body =
      js({{"lease_token", claimed.task_str("leaseToken")}, {"reason", "y"}, {"retry_after_seconds", 60}});
  const std::string k = "fail-" + unique_suffix();
  Response keyed = f.c.post("/v1/tasks/" + id + "/fail", f.key, body, f.idem(k));
  BATON_REQUIRE_STATUS(keyed, 200);
  BOOST_TEST(keyed.task_str("status") == "pending");
  Response replay = f.c.post("/v1/tasks/" + id + "/fail", f.key, body, f.idem(k));
  BOOST_TEST(replay.status == 200);
  BOOST_TEST(replay.body == keyed.body);
  Response now = f.c.get_task(f.key, id);
  BOOST_TEST(now.task_str("status") == "pending");
  BOOST_TEST(now.task_int("attemptCount") == 1);
  BOOST_TEST(now.task_str("updatedAt") == keyed.task_str("updatedAt"));
}

BOOST_AUTO_TEST_CASE(cancel_with_an_idempotency_key_is_safe_to_retry) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  const std::string k = "cancel-" + unique_suffix();
  Response first = f.c.post("/v1/tasks/" + id + "/cancel", f.key, "", f.idem(k));
  BATON_REQUIRE_STATUS(first, 200);
  Response replay = f.c.post("/v1/tasks/" + id + "/cancel", f.key, "", f.idem(k));
  BOOST_TEST(replay.status == 200);
  BOOST_TEST(replay.body == first.body);
  // Without the key a second cancel is a transition error.
  BATON_CHECK_ERROR(f.c.cancel(f.key, id), "invalid_transition");
}

BOOST_AUTO_TEST_SUITE_END()
