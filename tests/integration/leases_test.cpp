// Leases (spec section 4): expiry within one second back to pending or dead_letter,
// heartbeats, and fencing of stale workers by lease token or worker id. The shared
// server runs with leases.min_seconds 1 so tests can use 1- and 2-second leases.
#define BOOST_TEST_MODULE leases
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  Fresh() : FreshAccount("lease_") {}

  std::string create(const json::object& extra = {}) {
    return c.create_task_id(key, task_body(type, extra));
  }
  Response claim_as(const std::string& worker) {
    Response r = c.claim(key, js({{"type", type}, {"worker_id", worker}}));
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_REQUIRE_MESSAGE(!r.task_is_null(), "expected a task: " << r.describe());
    return r;
  }
  Response get(const std::string& id) {
    Response r = c.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);
    return r;
  }
  // Polls GET every 50 ms until the task leaves `claimed`; returns when that was seen.
  WallClock::time_point wait_until_not_claimed(const std::string& id, Response& last,
                                               std::chrono::milliseconds timeout = 5000ms) {
    WallClock::time_point seen{};
    bool left = poll_until(
        [&] {
          last = get(id);
          seen = WallClock::now();
          return last.task_str("status") != "claimed";
        },
        timeout, 50ms);
    BOOST_REQUIRE_MESSAGE(left, "the lease never expired: " << last.describe());
    return seen;
  }
};

std::string with_token(const std::string& token, json::object extra = {}) {
  extra["lease_token"] = token;
  return js(extra);
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(lease_expiry)

BOOST_AUTO_TEST_CASE(an_expired_lease_returns_the_task_to_pending_within_a_second) {
  Fresh f;
  std::string id = f.create({{"leaseDurationSeconds", 1}, {"maxAttempts", 3}});
  Response claimed = f.claim_as("w-1");
  const auto expires = parse_time(claimed.task_str("leaseExpiresAt"));
  BOOST_TEST(std::abs(seconds(expires - WallClock::now()) - 1.0) < 0.5);

  Response last;
  auto seen = f.wait_until_not_claimed(id, last);
  BOOST_TEST(seconds(seen - expires) >= 0.0);  // never before its time
  BOOST_TEST(seconds(seen - expires) < 1.2);
  BOOST_TEST(last.task_str("status") == "pending");
  BOOST_TEST(last.task_str("failureReason") == "lease_expired");
  BOOST_TEST(last.task_int("attemptCount") == 1);
  BATON_CHECK_CONTRACT(last.contract());
  BOOST_TEST(last.recommended_action() == "claim_task");

  Response again = f.claim_as("w-2");
  BOOST_TEST(again.task_id() == id);
  BOOST_TEST(again.task_int("attemptCount") == 2);
  BOOST_TEST(again.task_str("claimedBy") == "w-2");
}

BOOST_AUTO_TEST_CASE(expiry_of_the_last_attempt_dead_letters_the_task) {
  Fresh f;
  std::string id = f.create({{"leaseDurationSeconds", 1}, {"maxAttempts", 1}});
  Response claimed = f.claim_as("w-1");
  const auto expires = parse_time(claimed.task_str("leaseExpiresAt"));
  Response last;
  auto seen = f.wait_until_not_claimed(id, last);
  BOOST_TEST(seconds(seen - expires) < 1.2);
  BOOST_TEST(last.task_str("status") == "dead_letter");
  BOOST_TEST(last.task_str("failureReason") == "lease_expired");
  BOOST_TEST(last.recommended_action() == "requeue_task");
  Response none = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(none, 200);
  BOOST_TEST(none.task_is_null());
}

BOOST_AUTO_TEST_CASE(heartbeats_keep_a_lease_alive_past_its_original_expiry) {
  Fresh f;
  std::string id = f.create({{"leaseDurationSeconds", 2}});
  Response claimed = f.claim_as("w-1");
  const std::string token = claimed.task_str("leaseToken");
  const auto original = parse_time(claimed.task_str("leaseExpiresAt"));

  auto last_expiry = original;
  const auto until = SteadyClock::now() + 3500ms;
  while (SteadyClock::now() < until) {
    std::this_thread::sleep_for(500ms);
    Response hb = f.c.heartbeat(f.key, id, with_token(token));
    BATON_REQUIRE_STATUS(hb, 200);
    BOOST_TEST(hb.task_str("status") == "claimed");
    auto expiry = parse_time(hb.task_str("leaseExpiresAt"));
    BOOST_TEST((expiry > last_expiry));
    BOOST_TEST(std::abs(seconds(expiry - WallClock::now()) - 2.0) < 0.5);
    last_expiry = expiry;
  }
  BOOST_TEST((WallClock::now() > original + 1s));
  Response now = f.get(id);
  BOOST_TEST(now.task_str("status") == "claimed");
  BOOST_TEST(now.task_int("attemptCount") == 1);
  BOOST_TEST(now.task_str("claimedBy") == "w-1");

  // Without heartbeats it expires on the last extended time.
  Response last;
  auto seen = f.wait_until_not_claimed(id, last);
  BOOST_TEST(seconds(seen - last_expiry) >= 0.0);
  BOOST_TEST(seconds(seen - last_expiry) < 1.2);
  BOOST_TEST(last.task_str("failureReason") == "lease_expired");
}

BOOST_AUTO_TEST_CASE(heartbeat_after_expiry_is_lease_expired) {
  Fresh f;
  std::string id = f.create({{"leaseDurationSeconds", 1}});
  Response claimed = f.claim_as("w-1");
  const std::string token = claimed.task_str("leaseToken");
  const auto expires = parse_time(claimed.task_str("leaseExpiresAt"));

  // Just past leaseExpiresAt, whether or not the expiry has been processed yet.
  std::this_thread::sleep_until(expires + 30ms);
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, with_token(token)), "lease_expired");
  // And once it has been processed (the task is pending again).
  Response last;
  f.wait_until_not_claimed(id, last);
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, with_token(token)), "lease_expired");
  BATON_CHECK_ERROR(f.c.complete(f.key, id, with_token(token)), "lease_expired");
  BATON_CHECK_ERROR(f.c.fail(f.key, id, with_token(token)), "lease_expired");
  BOOST_TEST(f.get(id).task_str("status") == "pending");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(fencing)

BOOST_AUTO_TEST_CASE(a_stale_token_cannot_touch_a_task_reclaimed_by_another_worker) {
  Fresh f;
  std::string id = f.create({{"leaseDurationSeconds", 1}});
  Response a = f.claim_as("worker-a");
  const std::string token_a = a.task_str("leaseToken");
  Response last;
  f.wait_until_not_claimed(id, last);
  BOOST_REQUIRE(last.task_str("status") == "pending");

  // Worker B re-claims; the checks below take far less than its 1-second lease.
  Response b = f.c.claim_id(f.key, id, R"({"worker_id":"worker-b"})");
  BATON_REQUIRE_STATUS(b, 200);
  const std::string token_b = b.task_str("leaseToken");
  BOOST_TEST(token_b != token_a);

  BATON_CHECK_ERROR(f.c.complete(f.key, id, with_token(token_a, {{"result", json::object{{"by", "a"}}}})),
                    "lease_expired");
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, with_token(token_a)), "lease_expired");
  BATON_CHECK_ERROR(f.c.fail(f.key, id, with_token(token_a, {{"reason", "a gave up"}})), "lease_expired");

  Response now = f.get(id);
  BOOST_TEST(now.task_str("status") == "claimed");
  BOOST_TEST(now.task_str("claimedBy") == "worker-b");
  BOOST_TEST(now.task_int("attemptCount") == 2);
  BOOST_TEST(field_is_null(now.task(), "result"));

  Response hb = f.c.heartbeat(f.key, id, with_token(token_b));
  BATON_REQUIRE_STATUS(hb, 200);
  Response done = f.c.complete(f.key, id, with_token(token_b, {{"result", json::object{{"by", "b"}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(js(done.task().at("result")) == R"({"by":"b"})");
}

BOOST_AUTO_TEST_CASE(another_worker_id_without_a_token_is_lease_expired) {
  Fresh f;
  std::string id = f.create();
  f.claim_as("worker-b");
  BATON_CHECK_ERROR(f.c.complete(f.key, id, R"({"worker_id":"worker-a","result":{}})"), "lease_expired");
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, R"({"worker_id":"worker-a"})"), "lease_expired");
  BATON_CHECK_ERROR(f.c.fail(f.key, id, R"({"worker_id":"worker-a"})"), "lease_expired");
  Response now = f.get(id);
  BOOST_TEST(now.task_str("status") == "claimed");
  BOOST_TEST(now.task_str("claimedBy") == "worker-b");

  Response hb = f.c.heartbeat(f.key, id, R"({"worker_id":"worker-b"})");
  BATON_REQUIRE_STATUS(hb, 200);
  Response done = f.c.complete(f.key, id, R"({"worker_id":"worker-b","result":{}})");
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
}

BOOST_AUTO_TEST_CASE(a_request_with_neither_token_nor_worker_id_acts_on_the_current_lease) {
  Fresh f;
  std::string id = f.create();
  f.claim_as("worker-b");
  BATON_REQUIRE_STATUS(f.c.heartbeat(f.key, id), 200);
  Response done = f.c.complete(f.key, id, R"({"result":{"ok":true}})");
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
}

BOOST_AUTO_TEST_CASE(require_token_makes_the_lease_token_mandatory) {
  TestServer server(ServerOptions{}.with("leases.require_token", "true"));
  Client c = server.client();
  std::string key = c.register_key();
  std::string type = "strict_" + unique_suffix();
  std::string id = c.create_task_id(key, task_body(type));
  Response claimed = c.claim(key, js({{"type", type}, {"worker_id", "w-1"}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  const std::string token = claimed.task_str("leaseToken");
  BOOST_REQUIRE(!token.empty());

  for (const std::string& body : {std::string(R"({"result":{}})"), std::string(R"({"worker_id":"w-1","result":{}})")}) {
    Response r = c.complete(key, id, body);
    BOOST_CHECK_MESSAGE(r.status >= 400 && r.status < 500, "complete without a token: " << r.describe());
    BOOST_CHECK_MESSAGE(r.error().size() > 0, "error body expected: " << r.describe());
  }
  Response hb = c.heartbeat(key, id);
  BOOST_CHECK_MESSAGE(hb.status >= 400 && hb.status < 500, "heartbeat without a token: " << hb.describe());
  Response still = c.get_task(key, id);
  BOOST_TEST(still.task_str("status") == "claimed");

  Response done = c.complete(key, id, with_token(token, {{"result", json::object{}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
}

BOOST_AUTO_TEST_SUITE_END()
