// Long-poll claims (spec section 4, ext): a claim with wait_seconds holds an empty queue
// until a task becomes claimable or the wait ends; the longest waiter goes first; a waiter
// that disconnected never takes a task.
#define BOOST_TEST_MODULE long_poll
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <future>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  Fresh() : FreshAccount("poll_") {}
};

struct Waited {
  Response response;
  SteadyClock::time_point returned_at;
  double elapsed = 0;  // seconds the claim took
  std::string failure;  // transport error, if any
};

// Starts a long-poll claim on its own connection in another thread.
std::future<Waited> wait_claim(int port, std::string key, std::string body) {
  return std::async(std::launch::async, [port, key = std::move(key), body = std::move(body)] {
    Waited w;
    try {
      Client c(port, 40s);
      auto began = SteadyClock::now();
      w.response = c.claim(key, body);
      w.returned_at = SteadyClock::now();
      w.elapsed = seconds(w.returned_at - began);
    } catch (const std::exception& e) {
      w.failure = e.what();
    }
    return w;
  });
}

Waited get_waited(std::future<Waited>& f) {
  BOOST_REQUIRE_MESSAGE(f.wait_for(45s) == std::future_status::ready, "long poll never returned");
  Waited w = f.get();
  BOOST_REQUIRE_MESSAGE(w.failure.empty(), "long poll failed: " << w.failure);
  return w;
}

std::string raw_claim_request(int port, const std::string& key, const std::string& body) {
  return "POST /v1/tasks/claim HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(long_poll_wakeups)

BOOST_AUTO_TEST_CASE(a_waiting_claim_gets_a_task_created_while_it_waits) {
  Fresh f;
  auto waiter = wait_claim(f.server.port(), f.key, js({{"type", f.type}, {"wait_seconds", 5}, {"worker_id", "w-1"}}));
  std::this_thread::sleep_for(300ms);
  BOOST_REQUIRE_MESSAGE(waiter.wait_for(0s) == std::future_status::timeout,
                        "the long poll returned before any task existed");
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  auto created_at = SteadyClock::now();

  Waited w = get_waited(waiter);
  BATON_REQUIRE_STATUS(w.response, 200);
  BOOST_REQUIRE(!w.response.task_is_null());
  BOOST_TEST(w.response.task_id() == id);
  BOOST_TEST(w.response.task_str("status") == "claimed");
  BOOST_TEST(w.response.task_str("claimedBy") == "w-1");
  BOOST_TEST(w.response.task_str("leaseToken").rfind("lse_", 0) == 0u);
  BOOST_TEST(w.response.recommended_action() == "heartbeat");
  BOOST_TEST(seconds(w.returned_at - created_at) < 1.0);
  BOOST_TEST(f.c.get_task(f.key, id).task_str("status") == "claimed");
}

BOOST_AUTO_TEST_CASE(a_wait_that_times_out_returns_no_task_after_wait_seconds) {
  Fresh f;
  auto began = SteadyClock::now();
  Response r = f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", 1}}));
  double elapsed = seconds(SteadyClock::now() - began);
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_is_null());
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(r.recommended_action() == "retry_after_wait");
  BOOST_TEST(elapsed >= 0.9);
  BOOST_TEST(elapsed <= 2.0);
}

BOOST_AUTO_TEST_CASE(wait_seconds_zero_answers_at_once) {
  Fresh f;
  auto began = SteadyClock::now();
  Response r = f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", 0}}));
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_is_null());
  BOOST_TEST(seconds(SteadyClock::now() - began) < 0.5);
}

BOOST_AUTO_TEST_CASE(the_longest_waiting_claim_gets_the_first_task) {
  Fresh f;
  const std::string body = js({{"type", f.type}, {"wait_seconds", 5}});
  auto first = wait_claim(f.server.port(), f.key, body);
  std::this_thread::sleep_for(250ms);
  auto second = wait_claim(f.server.port(), f.key, body);
  std::this_thread::sleep_for(250ms);

  std::string task1 = f.c.create_task_id(f.key, task_body(f.type));
  Waited w1 = get_waited(first);
  BATON_REQUIRE_STATUS(w1.response, 200);
  BOOST_REQUIRE(!w1.response.task_is_null());
  BOOST_TEST(w1.response.task_id() == task1);
  BOOST_TEST((second.wait_for(0s) == std::future_status::timeout));

  std::string task2 = f.c.create_task_id(f.key, task_body(f.type));
  Waited w2 = get_waited(second);
  BATON_REQUIRE_STATUS(w2.response, 200);
  BOOST_REQUIRE(!w2.response.task_is_null());
  BOOST_TEST(w2.response.task_id() == task2);
}

BOOST_AUTO_TEST_CASE(a_typeless_long_poll_wakes_for_any_type) {
  Fresh f;
  auto waiter = wait_claim(f.server.port(), f.key, js({{"wait_seconds", 5}}));
  std::this_thread::sleep_for(300ms);
  std::string id = f.c.create_task_id(f.key, task_body("any_" + unique_suffix()));
  auto created_at = SteadyClock::now();
  Waited w = get_waited(waiter);
  BATON_REQUIRE_STATUS(w.response, 200);
  BOOST_REQUIRE(!w.response.task_is_null());
  BOOST_TEST(w.response.task_id() == id);
  BOOST_TEST(seconds(w.returned_at - created_at) < 1.0);
}

BOOST_AUTO_TEST_CASE(a_typed_long_poll_ignores_other_types_and_other_accounts) {
  Fresh f;
  Client other = f.server.client();
  std::string other_key = other.register_key();
  auto waiter = wait_claim(f.server.port(), f.key, js({{"type", f.type}, {"wait_seconds", 1}}));
  std::this_thread::sleep_for(200ms);
  f.c.create_task_id(f.key, task_body("different_" + unique_suffix()));
  other.create_task_id(other_key, task_body(f.type));
  Waited w = get_waited(waiter);
  BATON_REQUIRE_STATUS(w.response, 200);
  BOOST_TEST(w.response.task_is_null());
}

BOOST_AUTO_TEST_CASE(a_long_poll_wakes_when_a_delayed_task_becomes_due) {
  Fresh f;
  Response created = f.c.create_task(f.key, task_body(f.type, {{"delaySeconds", 1}}));
  BATON_REQUIRE_STATUS(created, 201);
  auto due = parse_time(created.task_str("scheduledAt"));
  Response r = f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", 5}}));
  auto returned = WallClock::now();
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_REQUIRE(!r.task_is_null());
  BOOST_TEST(r.task_id() == created.task_id());
  BOOST_TEST(seconds(returned - due) >= 0.0);
  BOOST_TEST(seconds(returned - due) < 1.2);
}

BOOST_AUTO_TEST_CASE(a_long_poll_wakes_when_a_lease_expires) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type, {{"leaseDurationSeconds", 1}}));
  Response first = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(first, 200);
  auto expires = parse_time(first.task_str("leaseExpiresAt"));
  Response r = f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", 5}}));
  auto returned = WallClock::now();
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_REQUIRE(!r.task_is_null());
  BOOST_TEST(r.task_id() == id);
  BOOST_TEST(r.task_int("attemptCount") == 2);
  BOOST_TEST(seconds(returned - expires) < 1.2);
}

BOOST_AUTO_TEST_CASE(a_long_poll_wakes_when_a_failed_task_is_retried) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  Response first = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(first, 200);
  auto waiter = wait_claim(f.server.port(), f.key, js({{"type", f.type}, {"wait_seconds", 5}}));
  std::this_thread::sleep_for(300ms);
  Response failed = f.c.fail(f.key, id, js({{"lease_token", first.task_str("leaseToken")}, {"retry_after_seconds", 0}}));
  BATON_REQUIRE_STATUS(failed, 200);
  auto failed_at = SteadyClock::now();
  Waited w = get_waited(waiter);
  BATON_REQUIRE_STATUS(w.response, 200);
  BOOST_REQUIRE(!w.response.task_is_null());
  BOOST_TEST(w.response.task_id() == id);
  BOOST_TEST(seconds(w.returned_at - failed_at) < 1.0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(long_poll_disconnects)

BOOST_AUTO_TEST_CASE(a_waiter_that_disconnected_never_takes_the_task) {
  Fresh f;
  {
    RawConnection raw(f.server.port());
    BOOST_REQUIRE(raw.send(raw_claim_request(f.server.port(), f.key, js({{"type", f.type}, {"wait_seconds", 10}}))));
    std::this_thread::sleep_for(300ms);
    RawRead nothing = raw.read_response(0ms);
    BOOST_REQUIRE_MESSAGE(nothing.data.empty(), "the long poll answered early: " << nothing.data);
  }  // closed
  std::this_thread::sleep_for(50ms);
  std::string id = f.c.create_task_id(f.key, task_body(f.type));

  // A normal claim gets it (allowing the server a moment to notice a dead waiter it may
  // have tried first), as a first attempt: the dead waiter consumed nothing.
  Response got;
  bool claimed = poll_until(
      [&] {
        got = f.c.claim(f.key, js({{"type", f.type}}));
        return got.status == 200 && !got.task_is_null();
      },
      1000ms, 20ms);
  BOOST_REQUIRE_MESSAGE(claimed, "the task was not claimable after the waiter disconnected: " << got.describe());
  BOOST_TEST(got.task_id() == id);
  BOOST_TEST(got.task_int("attemptCount") == 1);
}

BOOST_AUTO_TEST_CASE(a_live_waiter_behind_a_disconnected_one_gets_the_task) {
  Fresh f;
  RawConnection raw(f.server.port());
  BOOST_REQUIRE(raw.send(raw_claim_request(f.server.port(), f.key, js({{"type", f.type}, {"wait_seconds", 10}}))));
  std::this_thread::sleep_for(200ms);
  auto live = wait_claim(f.server.port(), f.key, js({{"type", f.type}, {"wait_seconds", 5}}));
  std::this_thread::sleep_for(200ms);
  raw.close();
  std::this_thread::sleep_for(50ms);

  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  auto created_at = SteadyClock::now();
  Waited w = get_waited(live);
  BATON_REQUIRE_STATUS(w.response, 200);
  BOOST_REQUIRE_MESSAGE(!w.response.task_is_null(), "the live waiter got nothing: " << w.response.describe());
  BOOST_TEST(w.response.task_id() == id);
  BOOST_TEST(w.response.task_int("attemptCount") == 1);
  BOOST_TEST(seconds(w.returned_at - created_at) < 1.0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(long_poll_limits)

BOOST_AUTO_TEST_CASE(wait_seconds_above_the_configured_max_is_rejected) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", 31}})), "invalid_request");
  BATON_CHECK_ERROR(f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", -1}})), "invalid_request");
  BATON_CHECK_ERROR(f.c.claim(f.key, js({{"type", f.type}, {"wait_seconds", "5"}})), "invalid_request");

  TestServer small(ServerOptions{}.with("claims.max_wait_seconds", "2"));
  Client c = small.client();
  std::string key = c.register_key();
  BATON_CHECK_ERROR(c.claim(key, js({{"type", f.type}, {"wait_seconds", 3}})), "invalid_request");
  auto began = SteadyClock::now();
  Response at_max = c.claim(key, js({{"type", f.type}, {"wait_seconds", 2}}));
  double elapsed = seconds(SteadyClock::now() - began);
  BATON_REQUIRE_STATUS(at_max, 200);
  BOOST_TEST(at_max.task_is_null());
  BOOST_TEST(elapsed >= 1.8);
  BOOST_TEST(elapsed <= 3.5);
}

BOOST_AUTO_TEST_SUITE_END()
