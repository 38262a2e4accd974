// claim_next on complete and fail: once the call has succeeded, the same answer carries
// the worker's next task (`next`), claimed exactly as POST /v1/tasks/claim would claim it.
#define BOOST_TEST_MODULE claim_next
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <set>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  Fresh() : FreshAccount("next_") {}

  // Creates a task and claims it by id: the task whose completion chains on.
  Response claimed_task(const json::object& extra = {}) {
    std::string id = c.create_task_id(key, task_body(type, extra));
    Response claim = c.claim_id(key, id, js({{"worker_id", "w-1"}}));
    BOOST_REQUIRE_MESSAGE(claim.status == 200, claim.describe());
    return claim;
  }

  json::object next_claim(std::int64_t wait_seconds = 0) const {
    return {{"type", type}, {"worker_id", "w-1"}, {"wait_seconds", wait_seconds}};
  }
};

const json::object& next_of(const Response& r) {
  BOOST_REQUIRE_MESSAGE(r.obj().contains("next") && r.obj().at("next").is_object(),
                        "no next in " << r.describe());
  return r.obj().at("next").as_object();
}

std::string str(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::string complete_request(int port, const std::string& key, const std::string& id,
                             const std::string& body) {
  return "POST /v1/tasks/" + id + "/complete HTTP/1.1\r\nHost: 127.0.0.1:" +
         std::to_string(port) + "\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(chaining)

BOOST_AUTO_TEST_CASE(complete_with_a_task_waiting_returns_it_claimed_in_next) {
  Fresh f;
  Response first = f.claimed_task();
  std::string waiting = f.c.create_task_id(f.key, task_body(f.type));

  Response done = f.c.complete(f.key, first.task_id(),
                               js({{"lease_token", first.task_str("leaseToken")},
                                   {"result", {{"ok", true}}},
                                   {"claim_next", f.next_claim()}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
  BATON_CHECK_CONTRACT(done.contract());
  const json::object& next = next_of(done);
  BOOST_REQUIRE(next.at("task").is_object());
  const json::object& task = next.at("task").as_object();
  BOOST_TEST(str(task, "id") == waiting);
  BOOST_TEST(str(task, "status") == "claimed");
  BOOST_TEST(str(task, "claimedBy") == "w-1");
  BOOST_TEST(str(task, "leaseToken").rfind("lse_", 0) == 0u);
  BATON_CHECK_CONTRACT(next.at("agent_contract"));
  BOOST_TEST(recommended_action(next.at("agent_contract")) == "heartbeat");

  // Both transitions are real: the first is completed, the next is held by its token.
  BOOST_TEST(f.c.get_task(f.key, first.task_id()).task_str("status") == "completed");
  Response beat = f.c.heartbeat(f.key, waiting, js({{"lease_token", str(task, "leaseToken")}}));
  BATON_CHECK_STATUS(beat, 200);
}

BOOST_AUTO_TEST_CASE(with_nothing_to_claim_next_task_is_null_at_once) {
  Fresh f;
  Response first = f.claimed_task();
  auto began = SteadyClock::now();
  Response done = f.c.complete(f.key, first.task_id(),
                               js({{"lease_token", first.task_str("leaseToken")},
                                   {"claimNext", f.next_claim(0)}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(seconds(SteadyClock::now() - began) < 0.5);
  BOOST_TEST(done.task_str("status") == "completed");
  const json::object& next = next_of(done);
  BOOST_TEST(next.at("task").is_null());
  BATON_CHECK_CONTRACT(next.at("agent_contract"));
  BOOST_TEST(recommended_action(next.at("agent_contract")) == "retry_after_wait");
}

BOOST_AUTO_TEST_CASE(a_wait_with_nothing_created_ends_after_wait_seconds) {
  Fresh f;
  Response first = f.claimed_task();
  auto began = SteadyClock::now();
  Response done = f.c.complete(f.key, first.task_id(),
                               js({{"lease_token", first.task_str("leaseToken")},
                                   {"claim_next", f.next_claim(1)}}));
  double elapsed = seconds(SteadyClock::now() - began);
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(next_of(done).at("task").is_null());
  BOOST_TEST(elapsed >= 0.9);
  BOOST_TEST(elapsed <= 2.5);
  BOOST_TEST(f.c.get_task(f.key, first.task_id()).task_str("status") == "completed");
}

BOOST_AUTO_TEST_CASE(a_wait_is_woken_by_a_create) {
  Fresh f;
  Response first = f.claimed_task();
  const std::string body = js({{"lease_token", first.task_str("leaseToken")},
                               {"claim_next", f.next_claim(10)}});
  auto waiter = std::async(std::launch::async, [port = f.server.port(), key = f.key,
                                                id = first.task_id(), body] {
    Client c(port, 30s);
    return c.complete(key, id, body);
  });
  // The completion is durable before the wait begins.
  BOOST_REQUIRE(poll_until(
      [&] { return f.c.get_task(f.key, first.task_id()).task_str("status") == "completed"; },
      5s));
  std::this_thread::sleep_for(200ms);
  BOOST_REQUIRE_MESSAGE(waiter.wait_for(0s) == std::future_status::timeout,
                        "claim_next returned before any task existed");
  std::string created = f.c.create_task_id(f.key, task_body(f.type));
  auto created_at = SteadyClock::now();
  BOOST_REQUIRE(waiter.wait_for(15s) == std::future_status::ready);
  Response done = waiter.get();
  BOOST_TEST(seconds(SteadyClock::now() - created_at) < 1.0);
  BATON_REQUIRE_STATUS(done, 200);
  const json::object& next = next_of(done);
  BOOST_REQUIRE(next.at("task").is_object());
  BOOST_TEST(str(next.at("task").as_object(), "id") == created);
  BOOST_TEST(str(next.at("task").as_object(), "status") == "claimed");
}

BOOST_AUTO_TEST_CASE(the_next_task_is_taken_in_priority_order) {
  Fresh f;
  Response first = f.claimed_task();
  f.c.create_task_id(f.key, task_body(f.type, {{"priority", 1}}));
  std::string urgent = f.c.create_task_id(f.key, task_body(f.type, {{"priority", 90}}));
  f.c.create_task_id(f.key, task_body(f.type, {{"priority", 5}}));
  Response done = f.c.complete(f.key, first.task_id(),
                               js({{"lease_token", first.task_str("leaseToken")},
                                   {"claim_next", f.next_claim()}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(str(next_of(done).at("task").as_object(), "id") == urgent);
}

BOOST_AUTO_TEST_CASE(claim_next_without_a_type_takes_any_type_of_the_account) {
  Fresh f;
  Response first = f.claimed_task();
  std::string other_type = f.type + "_other";
  std::string other = f.c.create_task_id(f.key, task_body(other_type));
  Response done = f.c.complete(f.key, first.task_id(),
                               js({{"lease_token", first.task_str("leaseToken")},
                                   {"claim_next", json::object{}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(str(next_of(done).at("task").as_object(), "id") == other);
}

BOOST_AUTO_TEST_CASE(fail_with_claim_next_retries_the_task_and_claims_another) {
  Fresh f;
  Response first = f.claimed_task({{"maxAttempts", 3}});
  std::string waiting = f.c.create_task_id(f.key, task_body(f.type));
  Response failed = f.c.fail(f.key, first.task_id(),
                             js({{"lease_token", first.task_str("leaseToken")},
                                 {"reason", "flaky"},
                                 {"retry_after_seconds", 30},
                                 {"claim_next", f.next_claim()}}));
  BATON_REQUIRE_STATUS(failed, 200);
  BOOST_TEST(failed.task_str("status") == "pending");
  BOOST_TEST(failed.task_str("failureReason") == "flaky");
  const json::object& next = next_of(failed);
  BOOST_REQUIRE(next.at("task").is_object());
  BOOST_TEST(str(next.at("task").as_object(), "id") == waiting);
}

BOOST_AUTO_TEST_CASE(the_contract_after_a_completion_offers_the_next_claim) {
  Fresh f;
  Response first = f.claimed_task();
  // find_action keeps a pointer into the value it is given: pass the stored one.
  const json::object* complete = find_action(first.obj().at("agent_contract"), "complete_task");
  BOOST_REQUIRE(complete != nullptr);
  BOOST_TEST(std::string(complete->at("description").as_string()).find("claim_next") !=
             std::string::npos);
  Response done = f.c.complete(f.key, first.task_id(),
                               js({{"lease_token", first.task_str("leaseToken")}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(!done.obj().contains("next"));
  BOOST_TEST(done.recommended_action() == "create_task");
  const json::object* claim = find_action(done.obj().at("agent_contract"), "claim_task");
  BOOST_REQUIRE(claim != nullptr);
  BOOST_TEST(std::string(claim->at("endpoint").as_string()) == "/v1/tasks/claim");
  BOOST_TEST(std::string(claim->at("description").as_string()).find("claim_next") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(nothing_claimed_when_the_call_fails)

BOOST_AUTO_TEST_CASE(a_stale_lease_token_claims_nothing) {
  Fresh f;
  Response first = f.claimed_task();
  std::string waiting = f.c.create_task_id(f.key, task_body(f.type));
  Response stale = f.c.complete(f.key, first.task_id(),
                                js({{"lease_token", "lse_00000000000000000000000000"},
                                    {"claim_next", f.next_claim()}}));
  BATON_CHECK_ERROR(stale, "lease_expired");
  BOOST_TEST(!stale.obj().contains("next"));
  BOOST_TEST(f.c.get_task(f.key, waiting).task_str("status") == "pending");
  BOOST_TEST(f.c.get_task(f.key, first.task_id()).task_str("status") == "claimed");
}

BOOST_AUTO_TEST_CASE(a_wrong_state_claims_nothing) {
  Fresh f;
  std::string pending = f.c.create_task_id(f.key, task_body(f.type));
  std::string waiting = f.c.create_task_id(f.key, task_body(f.type));
  Response wrong = f.c.complete(f.key, pending, js({{"claim_next", f.next_claim()}}));
  BATON_CHECK_ERROR(wrong, "invalid_transition");
  BOOST_TEST(!wrong.obj().contains("next"));
  BOOST_TEST(f.c.get_task(f.key, waiting).task_str("status") == "pending");
}

BOOST_AUTO_TEST_CASE(a_bad_claim_next_is_a_400_that_changes_nothing) {
  Fresh f;
  Response first = f.claimed_task();
  const std::string token = first.task_str("leaseToken");
  for (const json::value& bad :
       {json::value("soon"), json::value(json::object{{"wait_seconds", -1}}),
        json::value(json::object{{"wait_seconds", 100000}}),
        json::value(json::object{{"type", "no spaces allowed"}}),
        json::value(json::object{{"worker_id", 7}})}) {
    Response r = f.c.complete(f.key, first.task_id(),
                              js({{"lease_token", token}, {"claim_next", bad}}));
    BATON_CHECK_ERROR(r, "invalid_request");
    BOOST_TEST(std::string(r.obj().at("message").as_string()).find("claim_next") !=
                   std::string::npos,
               r.describe());
  }
  BOOST_TEST(f.c.get_task(f.key, first.task_id()).task_str("status") == "claimed");
}

BOOST_AUTO_TEST_CASE(a_client_that_leaves_during_the_wait_takes_nothing) {
  Fresh f;
  Response first = f.claimed_task();
  {
    RawConnection raw(f.server.port());
    std::string body = js({{"lease_token", first.task_str("leaseToken")},
                           {"claim_next", f.next_claim(10)}});
    BOOST_REQUIRE(raw.send(complete_request(f.server.port(), f.key, first.task_id(), body)));
    BOOST_REQUIRE(poll_until(
        [&] { return f.c.get_task(f.key, first.task_id()).task_str("status") == "completed"; },
        5s));
    std::this_thread::sleep_for(200ms);
    RawRead nothing = raw.read_response(0ms);
    BOOST_REQUIRE_MESSAGE(nothing.data.empty(), "the wait answered early: " << nothing.data);
  }  // closed mid-wait
  std::this_thread::sleep_for(50ms);
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  // The task stays pending for a plain claim: the departed waiter took nothing.
  Response got;
  BOOST_REQUIRE(poll_until(
      [&] {
        got = f.c.claim(f.key, js({{"type", f.type}}));
        return got.status == 200 && !got.task_is_null();
      },
      3s));
  BOOST_TEST(got.task_id() == id);
  BOOST_TEST(got.task_int("attemptCount") == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(retries_and_concurrency)

// A retry of a completion whose answer was lost claims again; the task the lost answer
// carried keeps its lease until it expires, then goes back to the queue.
BOOST_AUTO_TEST_CASE(a_retried_completion_claims_again_and_the_lost_claim_expires) {
  Fresh f;
  Response first = f.claimed_task();
  std::string a = f.c.create_task_id(f.key, task_body(f.type, {{"leaseDurationSeconds", 1}}));
  std::string b = f.c.create_task_id(f.key, task_body(f.type, {{"leaseDurationSeconds", 1}}));
  const std::string body = js({{"lease_token", first.task_str("leaseToken")},
                               {"claim_next", f.next_claim()}});
  Response lost = f.c.complete(f.key, first.task_id(), body);
  Response retried = f.c.complete(f.key, first.task_id(), body);
  BATON_REQUIRE_STATUS(lost, 200);
  BATON_REQUIRE_STATUS(retried, 200);
  BOOST_TEST(retried.task_str("status") == "completed");
  std::string lost_next = str(next_of(lost).at("task").as_object(), "id");
  std::string retried_next = str(next_of(retried).at("task").as_object(), "id");
  BOOST_TEST((std::set<std::string>{lost_next, retried_next} == std::set<std::string>{a, b}));
  // The lost claim's lease ends and its task is claimable again, nothing doubled.
  BOOST_REQUIRE(poll_until(
      [&] { return f.c.get_task(f.key, lost_next).task_str("status") == "pending"; }, 5s));
  Response again = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(again, 200);
  BOOST_TEST(again.task_id() == lost_next);
  BOOST_TEST(again.task_int("attemptCount") == 2);
}

// The completion and the chained claim are answered once durable: kill -9 right after
// the answers keeps both, for claims decided with the completion (same type) and for an
// idempotent completion (made one after the other).
BOOST_AUTO_TEST_CASE(kill_9_keeps_answered_completions_and_their_chained_claims) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  Client c = server.client();
  std::string key = c.register_key();
  std::string type = "chain_" + unique_suffix();
  constexpr int kTasks = 40;
  for (int i = 0; i < kTasks; ++i) c.create_task_id(key, task_body(type));
  Response r = c.claim(key, js({{"type", type}, {"worker_id", "w"}}));
  BATON_REQUIRE_STATUS(r, 200);
  json::object task = r.task();
  std::vector<std::pair<std::string, std::string>> completed, claimed;  // (id, token)
  for (int i = 0; i + 1 < kTasks; ++i) {
    std::string id(task.at("id").as_string());
    Headers headers;
    if (i % 4 == 3) headers["Idempotency-Key"] = "k-" + std::to_string(i);
    Response done = c.complete(key, id,
                               js({{"lease_token", task.at("leaseToken")},
                                   {"claim_next", {{"type", type}, {"worker_id", "w"}}}}),
                               headers);
    BATON_REQUIRE_STATUS(done, 200);
    completed.emplace_back(id, std::string(task.at("leaseToken").as_string()));
    task = done.obj().at("next").at("task").as_object();
    claimed.emplace_back(std::string(task.at("id").as_string()),
                         std::string(task.at("leaseToken").as_string()));
  }
  server.kill9();
  server.restart();
  Client after = server.client();
  for (const auto& [id, token] : completed) {
    BOOST_TEST(after.get_task(key, id).task_str("status") == "completed", id);
  }
  // The last chained claim is held, with its token: a heartbeat with it is accepted.
  const auto& [last, token] = claimed.back();
  Response held = after.get_task(key, last);
  BOOST_TEST(held.task_str("status") == "claimed");
  BATON_CHECK_STATUS(after.heartbeat(key, last, js({{"lease_token", token}})), 200);
}

BOOST_AUTO_TEST_CASE(thirty_two_chaining_workers_complete_every_task_exactly_once) {
  Fresh f;
  constexpr int kTasks = 2000;
  constexpr int kWorkers = 32;
  std::set<std::string> created;
  for (int i = 0; i < kTasks; ++i) created.insert(f.c.create_task_id(f.key, task_body(f.type)));

  std::mutex mutex;
  std::vector<std::string> completed;  // every 200 complete, by task id
  std::vector<std::string> failures;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      try {
        Client c(f.server.port(), 30s);
        const std::string worker = "w-" + std::to_string(w);
        const json::object claim_next{{"type", f.type}, {"worker_id", worker}};
        Response r = c.claim(f.key, js({{"type", f.type}, {"worker_id", worker}}));
        if (r.status != 200) throw std::runtime_error(r.describe());
        if (r.task_is_null()) return;
        json::object task = r.task();
        for (;;) {
          std::string id(task.at("id").as_string());
          Response done = c.complete(f.key, id,
                                     js({{"lease_token", task.at("leaseToken")},
                                         {"result", {{"worker", worker}}},
                                         {"claim_next", claim_next}}));
          if (done.status != 200) throw std::runtime_error(done.describe());
          {
            std::lock_guard lock(mutex);
            completed.push_back(id);
          }
          const json::value& next = done.obj().at("next").as_object().at("task");
          if (next.is_null()) return;
          task = next.as_object();
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        failures.push_back(e.what());
      }
    });
  }
  for (std::thread& t : workers) t.join();
  BOOST_REQUIRE_MESSAGE(failures.empty(), (failures.empty() ? std::string() : failures.front()));
  std::set<std::string> unique(completed.begin(), completed.end());
  BOOST_TEST(completed.size() == static_cast<std::size_t>(kTasks));
  BOOST_TEST(unique.size() == completed.size());
  BOOST_TEST((unique == created));
  for (const std::string& id : {*created.begin(), *created.rbegin()}) {
    Response task = f.c.get_task(f.key, id);
    BOOST_TEST(task.task_str("status") == "completed");
    BOOST_TEST(task.task_int("attemptCount") == 1);
  }
}

BOOST_AUTO_TEST_SUITE_END()
