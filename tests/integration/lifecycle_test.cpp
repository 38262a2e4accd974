// The task lifecycle over HTTP (spec sections 3, 4, 6, 7): seed 000's flow, the
// agent_contract of each state, field spellings, claim order, scheduling, fail/retry/dead
// letter/requeue, cancel, terminal immutability, reading and listing, request ids and
// lease-token visibility. Every test uses a fresh account on one shared server.
#define BOOST_TEST_MODULE lifecycle
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <cctype>
#include <set>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  Fresh() : FreshAccount("t_") {}

  // Sleeps 2 ms afterwards so that consecutive tasks get distinct createdAt values: the
  // ordering rules are tested on their own terms here, and order within one millisecond
  // by its own tests.
  std::string create(const json::object& extra = {}) {
    std::string id = c.create_task_id(key, task_body(type, extra));
    std::this_thread::sleep_for(2ms);
    return id;
  }
  // Claims by type and requires a task.
  Response claim_one(const json::object& extra = {}) {
    json::object body{{"type", type}};
    for (const auto& kv : extra) body[kv.key()] = kv.value();
    Response r = c.claim(key, js(body));
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_REQUIRE_MESSAGE(!r.task_is_null(), "expected a task: " << r.describe());
    return r;
  }
  std::string token_of(const Response& claim) { return claim.task_str("leaseToken"); }
  std::string status_of(const std::string& id) {
    Response r = c.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);
    return r.task_str("status");
  }
};

std::string with_token(const std::string& token, json::object extra = {}) {
  extra["lease_token"] = token;
  return js(extra);
}

bool is_hex(std::string_view s) {
  for (char ch : s)
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return false;
  return true;
}

// Crockford base32, 26 characters.
bool is_ulid(std::string_view s) {
  if (s.size() != 26) return false;
  for (char ch : s)
    if (!std::isdigit(static_cast<unsigned char>(ch)) &&
        !(ch >= 'A' && ch <= 'Z' && ch != 'I' && ch != 'L' && ch != 'O' && ch != 'U'))
      return false;
  return true;
}

std::int64_t contract_int(const Response& r, std::string_view field) {
  const auto* v = r.contract().if_contains(field);
  BOOST_REQUIRE_MESSAGE(v && (v->is_int64() || v->is_uint64()),
                        "agent_contract." << field << " is not an integer: " << r.describe());
  return v->to_number<std::int64_t>();
}

bool contract_bool(const Response& r, std::string_view field) {
  const auto* v = r.contract().if_contains(field);
  BOOST_REQUIRE_MESSAGE(v && v->is_bool(),
                        "agent_contract." << field << " is not a bool: " << r.describe());
  return v->get_bool();
}

// A claim's answer (spec 7 and seed 000): heartbeat recommended, complete_task and
// fail_task offered, lease numbers consistent with the lease duration.
void check_claim_contract(const Response& r, std::int64_t lease_seconds) {
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(r.recommended_action() == "heartbeat");
  BOOST_TEST(offers_action(r.contract(), "complete_task"));
  BOOST_TEST(offers_action(r.contract(), "fail_task"));
  BOOST_TEST(contract_bool(r, "task_claimable") == true);
  BOOST_TEST(contract_bool(r, "lease_valid") == true);
  std::int64_t left = contract_int(r, "lease_expires_in_seconds");
  BOOST_TEST(left <= lease_seconds);
  BOOST_TEST(left >= lease_seconds - 2);
  BOOST_TEST(contract_int(r, "recommended_heartbeat_interval_seconds") == std::max<std::int64_t>(1, left / 3));
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(seed_000_flow)

BOOST_AUTO_TEST_CASE(register_create_claim_complete_as_in_seed_000) {
  TestServer& server = shared_server();
  Client c = server.client();

  // Registration: no auth, no body.
  Response reg = c.request("POST", "/v1/keys/register");
  BATON_REQUIRE_STATUS(reg, 201);
  const std::string key = std::string(reg.obj().at("apiKey").as_string());
  BOOST_TEST(key.rfind("orch_live_", 0) == 0u);
  BOOST_TEST(key.size() == 10u + 64u);
  BOOST_TEST(is_hex(key.substr(10)));
  const std::string account = std::string(reg.obj().at("accountId").as_string());
  BOOST_TEST(account.rfind("acct_", 0) == 0u);
  BOOST_TEST(is_ulid(account.substr(5)));
  const std::string key_id = std::string(reg.obj().at("keyId").as_string());
  BOOST_TEST(key_id.rfind("key_", 0) == 0u);
  BOOST_TEST(is_ulid(key_id.substr(4)));
  BATON_CHECK_CONTRACT(reg.contract());

  // Create, as `curl -d` sends it: form content type, snake_case max_attempts,
  // Idempotency-Key header.
  const Headers form{{"Content-Type", "application/x-www-form-urlencoded"}};
  Headers create_headers = form;
  create_headers["Idempotency-Key"] = "job-001-attempt-1";
  Response created = c.create_task(
      key,
      R"({ "type": "process_document", "payload": { "document_url": "https://..." }, "max_attempts": 3 })",
      create_headers);
  BATON_REQUIRE_STATUS(created, 201);
  const std::string id = created.task_id();
  BOOST_TEST(id.rfind("tsk_", 0) == 0u);
  BOOST_TEST(is_ulid(id.substr(4)));
  BOOST_TEST(created.task_str("type") == "process_document");
  BOOST_TEST(created.task_str("status") == "pending");
  BOOST_TEST(created.task_int("maxAttempts") == 3);
  BOOST_TEST(created.task_int("attemptCount") == 0);
  BOOST_TEST(created.task_int("priority") == 0);
  BOOST_TEST(created.task_int("leaseDurationSeconds") == 300);
  BOOST_TEST(js(created.task().at("payload")) == R"({"document_url":"https://..."})");
  BOOST_TEST(field_is_null(created.task(), "result"));
  BOOST_TEST(field_is_null(created.task(), "outputId"));
  BOOST_TEST(field_is_null(created.task(), "claimedBy"));
  BOOST_TEST(field_is_null(created.task(), "completedAt"));
  BOOST_TEST(field_is_null(created.task(), "leaseToken"));
  BOOST_CHECK_NO_THROW(parse_time(created.task_str("createdAt")));
  BOOST_CHECK_NO_THROW(parse_time(created.task_str("updatedAt")));
  BATON_CHECK_CONTRACT(created.contract());
  BOOST_TEST(created.recommended_action() == "claim_task");

  // Claim with no body at all.
  Response claimed = c.claim(key);
  BATON_REQUIRE_STATUS(claimed, 200);
  BOOST_REQUIRE(!claimed.task_is_null());
  BOOST_TEST(claimed.task_id() == id);
  BOOST_TEST(claimed.task_str("status") == "claimed");
  BOOST_TEST(claimed.task_int("attemptCount") == 1);
  BOOST_TEST(field_is_null(claimed.task(), "claimedBy"));
  BOOST_TEST(claimed.task_str("leaseToken").rfind("lse_", 0) == 0u);
  auto expires = parse_time(claimed.task_str("leaseExpiresAt"));
  BOOST_TEST(std::abs(seconds(expires - WallClock::now()) - 300.0) < 5.0);
  check_claim_contract(claimed, 300);

  // Complete with the artifact reference inside result, no lease token (Orchestrion).
  Response done = c.complete(key, id, R"({ "result": { "output_id": "out_01J..." } })", form);
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
  BOOST_TEST(done.task_str("outputId") == "out_01J...");
  BOOST_TEST(js(done.task().at("result")) == R"({"output_id":"out_01J..."})");
  BOOST_CHECK_NO_THROW(parse_time(done.task_str("completedAt")));
  BATON_CHECK_CONTRACT(done.contract());
  BOOST_TEST(done.recommended_action() == "download_artifact");

  Response read = c.get_task(key, id);
  BATON_REQUIRE_STATUS(read, 200);
  BOOST_TEST(read.task_str("status") == "completed");
  BOOST_TEST(read.task_str("outputId") == "out_01J...");
  BOOST_TEST(read.recommended_action() == "download_artifact");
}

BOOST_AUTO_TEST_CASE(output_id_field_wins_over_result_output_id) {
  Fresh f;
  std::string id = f.create();
  f.claim_one();
  Response done = f.c.complete(f.key, id, R"({"result":{"output_id":"out_a","x":1},"output_id":"out_b"})");
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("outputId") == "out_b");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(agent_contract_by_state)

BOOST_AUTO_TEST_CASE(claim_answer_lease_numbers_follow_the_lease_duration) {
  Fresh f;
  f.create({{"leaseDurationSeconds", 90}});
  Response r = f.claim_one({{"worker_id", "agent-7"}});
  BOOST_TEST(r.task_str("claimedBy") == "agent-7");
  check_claim_contract(r, 90);

  Fresh g;
  g.create({{"leaseDurationSeconds", 2}});
  Response short_lease = g.claim_one();
  check_claim_contract(short_lease, 2);
  BOOST_TEST(contract_int(short_lease, "recommended_heartbeat_interval_seconds") == 1);
}

BOOST_AUTO_TEST_CASE(heartbeat_and_get_of_a_claimed_task_recommend_complete_task) {
  Fresh f;
  std::string id = f.create({{"leaseDurationSeconds", 60}});
  Response claimed = f.claim_one();
  std::string token = f.token_of(claimed);

  Response hb = f.c.heartbeat(f.key, id, with_token(token));
  BATON_REQUIRE_STATUS(hb, 200);
  BATON_CHECK_CONTRACT(hb.contract());
  BOOST_TEST(hb.recommended_action() == "complete_task");
  BOOST_TEST(contract_bool(hb, "lease_valid") == true);
  BOOST_TEST(contract_int(hb, "lease_expires_in_seconds") >= 58);
  BOOST_TEST(contract_int(hb, "lease_expires_in_seconds") <= 60);

  Response got = f.c.get_task(f.key, id);
  BATON_REQUIRE_STATUS(got, 200);
  BATON_CHECK_CONTRACT(got.contract());
  BOOST_TEST(got.recommended_action() == "complete_task");
  BOOST_TEST(contract_bool(got, "lease_valid") == true);
}

BOOST_AUTO_TEST_CASE(each_state_has_its_recommended_action) {
  Fresh f;
  // pending
  std::string pending = f.create();
  Response r = f.c.get_task(f.key, pending);
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(r.recommended_action() == "claim_task");
  // completed without an output id
  f.claim_one();
  BATON_REQUIRE_STATUS(f.c.complete(f.key, pending, R"({"result":{"ok":true}})"), 200);
  r = f.c.get_task(f.key, pending);
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(r.task_str("status") == "completed");
  BOOST_TEST(r.recommended_action() == "create_task");
  // dead_letter
  std::string dead = f.create({{"maxAttempts", 1}});
  f.claim_one();
  BATON_REQUIRE_STATUS(f.c.fail(f.key, dead, R"({"reason":"broken"})"), 200);
  r = f.c.get_task(f.key, dead);
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(r.task_str("status") == "dead_letter");
  BOOST_TEST(r.recommended_action() == "requeue_task");
  // cancelled
  std::string cancelled = f.create();
  BATON_REQUIRE_STATUS(f.c.cancel(f.key, cancelled), 200);
  r = f.c.get_task(f.key, cancelled);
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(r.task_str("status") == "cancelled");
  BOOST_TEST(r.recommended_action() == "create_task");
}

BOOST_AUTO_TEST_CASE(empty_claim_says_retry_after_wait_5_seconds) {
  Fresh f;
  Response r = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_is_null());
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(contract_bool(r, "task_claimable") == false);
  BOOST_TEST(contract_bool(r, "retryable") == true);
  BOOST_TEST(r.recommended_action() == "retry_after_wait");
  for (const auto& a : r.contract().at("next_actions").as_array())
    if (a.as_object().at("action").as_string() == "retry_after_wait")
      BOOST_TEST(a.as_object().at("retry_after_seconds").to_number<std::int64_t>() == 5);
}

BOOST_AUTO_TEST_CASE(list_and_register_answers_carry_a_contract) {
  Fresh f;
  f.create();
  Response list = f.c.list_tasks(f.key);
  BATON_REQUIRE_STATUS(list, 200);
  BATON_CHECK_CONTRACT(list.contract());
  Response reg = f.c.request("POST", "/v1/keys/register", R"({"label":"second"})");
  BATON_REQUIRE_STATUS(reg, 201);
  BATON_CHECK_CONTRACT(reg.contract());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(create_field_spellings)

BOOST_AUTO_TEST_CASE(camel_case_and_snake_case_fields_are_both_accepted) {
  Fresh f;
  Response camel = f.c.create_task(
      f.key, task_body(f.type, {{"maxAttempts", 5}, {"leaseDurationSeconds", 60}, {"priority", 7}}));
  BATON_REQUIRE_STATUS(camel, 201);
  BOOST_TEST(camel.task_int("maxAttempts") == 5);
  BOOST_TEST(camel.task_int("leaseDurationSeconds") == 60);
  BOOST_TEST(camel.task_int("priority") == 7);

  Response snake = f.c.create_task(
      f.key, task_body(f.type, {{"max_attempts", 6}, {"lease_duration_seconds", 61}}));
  BATON_REQUIRE_STATUS(snake, 201);
  BOOST_TEST(snake.task_int("maxAttempts") == 6);
  BOOST_TEST(snake.task_int("leaseDurationSeconds") == 61);

  Response delayed = f.c.create_task(f.key, task_body(f.type, {{"delay_seconds", 30}}));
  BATON_REQUIRE_STATUS(delayed, 201);
  auto at = parse_time(delayed.task_str("scheduledAt"));
  BOOST_TEST(std::abs(seconds(at - WallClock::now()) - 30.0) < 3.0);

  std::string when = format_time(WallClock::now() + std::chrono::hours(1));
  Response scheduled = f.c.create_task(f.key, task_body(f.type, {{"scheduled_at", when}}));
  BATON_REQUIRE_STATUS(scheduled, 201);
  BOOST_TEST(scheduled.task_str("scheduledAt") == when);
}

BOOST_AUTO_TEST_CASE(both_spellings_with_different_values_are_rejected) {
  Fresh f;
  Response r = f.c.create_task(f.key, task_body(f.type, {{"maxAttempts", 2}, {"max_attempts", 3}}));
  BATON_CHECK_ERROR(r, "invalid_request");
  r = f.c.create_task(f.key, task_body(f.type, {{"leaseDurationSeconds", 60}, {"lease_duration_seconds", 61}}));
  BATON_CHECK_ERROR(r, "invalid_request");
  // The same value under both spellings is not a conflict.
  r = f.c.create_task(f.key, task_body(f.type, {{"maxAttempts", 4}, {"max_attempts", 4}}));
  BATON_REQUIRE_STATUS(r, 201);
  BOOST_TEST(r.task_int("maxAttempts") == 4);
  // Nothing was created by the rejected requests.
  Response list = f.c.list_tasks(f.key, "type=" + f.type);
  BATON_REQUIRE_STATUS(list, 200);
  BOOST_TEST(list.obj().at("tasks").as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(out_of_range_fields_are_rejected_naming_the_field) {
  Fresh f;
  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {task_body(f.type, {{"priority", 101}}), "priority"},
      {task_body(f.type, {{"priority", -1}}), "priority"},
      {task_body(f.type, {{"priority", "high"}}), "priority"},
      {task_body(f.type, {{"maxAttempts", 0}}), "ttempts"},
      {task_body(f.type, {{"maxAttempts", 101}}), "ttempts"},
      {task_body(f.type, {{"leaseDurationSeconds", 0}}), "ease"},
      {task_body(f.type, {{"leaseDurationSeconds", 3601}}), "ease"},
      {task_body("bad type!", {}), "type"},
      {task_body(std::string(101, 'a'), {}), "type"},
      {js({{"payload", json::object{}}}), "type"},
      {js({{"type", f.type}}), "payload"},
      {js({{"type", f.type}, {"payload", "text"}}), "payload"},
      {task_body(f.type, {{"scheduledAt", "not a time"}}), "cheduled"},
      {task_body(f.type, {{"scheduledAt", format_time(WallClock::now() + std::chrono::hours(24 * 31))}}),
       "cheduled"},
  };
  for (const auto& c : cases) {
    Response r = f.c.create_task(f.key, c.body);
    BOOST_TEST_CONTEXT("body " << c.body) {
      BATON_CHECK_ERROR(r, "invalid_request");
      if (r.json.is_object() && r.json.as_object().contains("message"))
        BOOST_CHECK_MESSAGE(std::string(r.json.as_object().at("message").as_string()).find(c.field) !=
                                std::string::npos,
                            "message should name " << c.field << ": " << r.describe());
    }
  }
  Response list = f.c.list_tasks(f.key);
  BATON_REQUIRE_STATUS(list, 200);
  BOOST_TEST(list.obj().at("tasks").as_array().empty());
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_ignored) {
  Fresh f;
  Response r = f.c.create_task(f.key, task_body(f.type, {{"futureField", json::object{{"a", 1}}}, {"x", 2}}));
  BATON_REQUIRE_STATUS(r, 201);
  BOOST_TEST(r.task_str("status") == "pending");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(claim_order)

BOOST_AUTO_TEST_CASE(higher_priority_first_then_oldest_first) {
  Fresh f;
  std::string a = f.create({{"priority", 0}});
  std::string b = f.create({{"priority", 5}});
  std::string c = f.create({{"priority", 0}});
  std::string d = f.create({{"priority", 10}});
  std::string e = f.create({{"priority", 5}});
  for (const std::string& expected : {d, b, e, a, c}) {
    Response r = f.claim_one();
    BOOST_TEST(r.task_id() == expected);
  }
  Response empty = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(empty, 200);
  BOOST_TEST(empty.task_is_null());
}

BOOST_AUTO_TEST_CASE(fifo_holds_for_tasks_created_back_to_back) {
  // No pauses: several creates land in the same millisecond, and they must still be
  // claimed in the order they were acknowledged.
  Fresh f;
  std::vector<std::string> made;
  for (int i = 0; i < 30; ++i) made.push_back(f.c.create_task_id(f.key, task_body(f.type)));
  std::vector<std::string> claimed;
  for (int i = 0; i < 30; ++i) claimed.push_back(f.claim_one().task_id());
  BOOST_TEST(claimed == made, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(claim_by_type_takes_only_that_type) {
  Fresh f;
  std::string other = "other_" + unique_suffix();
  f.c.create_task_id(f.key, task_body(other));
  Response r = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_is_null());
  std::string mine = f.create();
  r = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_REQUIRE(!r.task_is_null());
  BOOST_TEST(r.task_id() == mine);
}

BOOST_AUTO_TEST_CASE(typeless_claim_takes_any_type_by_priority_then_age) {
  Fresh f;
  std::string x = "x_" + unique_suffix();
  std::string y = "y_" + unique_suffix();
  auto make = [&](const std::string& type, const json::object& extra = {}) {
    std::string id = f.c.create_task_id(f.key, task_body(type, extra));
    std::this_thread::sleep_for(2ms);  // distinct createdAt (see Fresh::create)
    return id;
  };
  std::string x_old = make(x);
  std::string y_new = make(y);
  std::string x_low = make(x);
  std::string y_high = make(y, {{"priority", 50}});
  for (const std::string& expected : {y_high, x_old, y_new, x_low}) {
    Response r = f.c.claim(f.key, "");
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_REQUIRE(!r.task_is_null());
    BOOST_TEST(r.task_id() == expected);
  }
  Response r = f.c.claim(f.key, "{}");
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_is_null());
}

// A typeless claim looks at every shard's best task, then claims on the best one. When
// concurrent claims pick the same task, the loser must look again rather than answer
// "nothing" while tasks wait on another shard: four claimable tasks of four types (on
// both shards, in most rounds) and four typeless claims at once take all four.
BOOST_AUTO_TEST_CASE(concurrent_typeless_claims_take_every_claimable_task) {
  Fresh f;
  constexpr int kTypes = 4;
  std::vector<Client> clients;
  for (int i = 0; i < kTypes; ++i) clients.push_back(f.server.client());
  for (int round = 0; round < 40; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      std::set<std::string> created;
      for (int t = 0; t < kTypes; ++t) {
        created.insert(f.c.create_task_id(f.key, task_body(f.type + "_" + std::to_string(t))));
      }
      std::vector<Response> answers(kTypes);
      std::vector<std::thread> threads;
      for (std::size_t i = 0; i < answers.size(); ++i) {
        threads.emplace_back([&, i] { answers[i] = clients[i].claim(f.key, "{}"); });
      }
      for (auto& thread : threads) thread.join();
      std::set<std::string> claimed;
      for (const Response& r : answers) {
        BATON_REQUIRE_STATUS(r, 200);
        BOOST_REQUIRE_MESSAGE(!r.task_is_null(), "a typeless claim found nothing while tasks waited");
        claimed.insert(r.task_id());
      }
      BOOST_TEST((claimed == created));
    }
  }
}

BOOST_AUTO_TEST_CASE(concurrent_typeless_claims_each_get_the_best_task_left) {
  // Every task exists before the claims start, so the best claimable priority only falls
  // while they run: each claimer, claiming one task after another, must see its
  // priorities fall too. A claim that took a lower-ranked task while a better one waited
  // on another shard shows as a rise in the next claim of the same claimer.
  Fresh f;
  // 16 types: all on one of the two shards in 1 run of 32 768.
  constexpr int kTypes = 16, kTasks = 96, kClaimers = 4;
  for (int i = 0; i < kTasks; ++i) {
    Response r = f.c.create_task(f.key, task_body(f.type + "_" + std::to_string(i % kTypes),
                                                  {{"priority", i}}));
    BATON_REQUIRE_STATUS(r, 201);
  }
  std::vector<std::vector<std::int64_t>> seen(kClaimers);
  std::vector<std::string> failures(kClaimers);
  std::vector<std::thread> threads;
  for (int k = 0; k < kClaimers; ++k) {
    threads.emplace_back([&, k] {
      Client client = f.server.client();
      for (;;) {
        Response r = client.claim(f.key, "{}");
        if (r.status != 200) {
          failures[k] = r.describe();
          return;
        }
        if (r.task_is_null()) return;
        seen[k].push_back(r.task_int("priority"));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::size_t total = 0;
  for (int k = 0; k < kClaimers; ++k) {
    BOOST_TEST_CONTEXT("claimer " << k) {
      BOOST_TEST(failures[k].empty(), failures[k]);
      total += seen[k].size();
      for (std::size_t i = 1; i < seen[k].size(); ++i) {
        BOOST_TEST(seen[k][i] < seen[k][i - 1],
                   "claim " << i << " got priority " << seen[k][i] << " after "
                            << seen[k][i - 1]);
      }
    }
  }
  BOOST_TEST(total == static_cast<std::size_t>(kTasks));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(scheduling)

namespace {
// Polls claim-by-type every 50 ms; returns the wall time the first task came back.
WallClock::time_point claim_when_available(Fresh& f, const std::string& expected_id,
                                           std::chrono::milliseconds timeout) {
  WallClock::time_point got{};
  bool ok = poll_until(
      [&] {
        Response r = f.c.claim(f.key, js({{"type", f.type}}));
        if (r.status != 200 || r.task_is_null()) return false;
        got = WallClock::now();
        BOOST_TEST(r.task_id() == expected_id);
        return true;
      },
      timeout, 50ms);
  BOOST_REQUIRE_MESSAGE(ok, "the task never became claimable");
  return got;
}
}  // namespace

BOOST_AUTO_TEST_CASE(future_scheduled_at_is_claimable_only_from_then) {
  Fresh f;
  auto when = WallClock::now() + 1500ms;
  Response created = f.c.create_task(f.key, task_body(f.type, {{"scheduledAt", format_time(when)}}));
  BATON_REQUIRE_STATUS(created, 201);
  const std::string id = created.task_id();
  auto scheduled = parse_time(created.task_str("scheduledAt"));
  BOOST_TEST(std::abs(seconds(scheduled - when)) < 0.002);

  Response early = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(early, 200);
  BOOST_TEST(early.task_is_null());
  Response by_id = f.c.claim_id(f.key, id);
  BATON_CHECK_ERROR(by_id, "not_yet_claimable");

  auto got = claim_when_available(f, id, 4000ms);
  BOOST_TEST(seconds(got - scheduled) >= 0.0);
  BOOST_TEST(seconds(got - scheduled) < 1.2);
}

BOOST_AUTO_TEST_CASE(delay_seconds_defers_claimability) {
  Fresh f;
  Response created = f.c.create_task(f.key, task_body(f.type, {{"delaySeconds", 1}}));
  BATON_REQUIRE_STATUS(created, 201);
  const std::string id = created.task_id();
  auto scheduled = parse_time(created.task_str("scheduledAt"));
  auto created_at = parse_time(created.task_str("createdAt"));
  BOOST_TEST(std::abs(seconds(scheduled - created_at) - 1.0) < 0.05);
  BATON_CHECK_ERROR(f.c.claim_id(f.key, id), "not_yet_claimable");

  auto got = claim_when_available(f, id, 4000ms);
  BOOST_TEST(seconds(got - scheduled) >= 0.0);
  BOOST_TEST(seconds(got - scheduled) < 1.2);
}

BOOST_AUTO_TEST_CASE(past_scheduled_at_means_now) {
  Fresh f;
  std::string id = f.create({{"scheduledAt", format_time(WallClock::now() - std::chrono::hours(1))}});
  Response r = f.claim_one();
  BOOST_TEST(r.task_id() == id);
}

BOOST_AUTO_TEST_CASE(claim_by_id_of_a_scheduled_task_recommends_waiting) {
  Fresh f;
  std::string id = f.create({{"delaySeconds", 60}});
  Response r = f.c.claim_id(f.key, id);
  BATON_CHECK_ERROR(r, "not_yet_claimable");
  BOOST_TEST(f.status_of(id) == "pending");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(claim_by_id)

BOOST_AUTO_TEST_CASE(claim_by_id_takes_that_task_out_of_order) {
  Fresh f;
  f.create({{"priority", 100}});
  std::string low = f.create({{"priority", 0}});
  Response r = f.c.claim_id(f.key, low, R"({"worker_id":"w-1"})");
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_id() == low);
  BOOST_TEST(r.task_str("status") == "claimed");
  BOOST_TEST(r.task_str("claimedBy") == "w-1");
  BOOST_TEST(r.task_int("attemptCount") == 1);
  BOOST_TEST(r.task_str("leaseToken").rfind("lse_", 0) == 0u);
  check_claim_contract(r, 300);
}

BOOST_AUTO_TEST_CASE(claim_by_id_of_a_held_task_is_task_currently_claimed) {
  Fresh f;
  std::string id = f.create();
  Response first = f.c.claim_id(f.key, id, R"({"worker_id":"w-1"})");
  BATON_REQUIRE_STATUS(first, 200);
  Response second = f.c.claim_id(f.key, id, R"({"worker_id":"w-2"})");
  BATON_CHECK_ERROR(second, "task_currently_claimed");
  Response got = f.c.get_task(f.key, id);
  BOOST_TEST(got.task_str("claimedBy") == "w-1");
  BOOST_TEST(got.task_int("attemptCount") == 1);
}

BOOST_AUTO_TEST_CASE(claim_by_id_of_a_terminal_task_is_invalid_transition) {
  Fresh f;
  std::string id = f.create();
  BATON_REQUIRE_STATUS(f.c.cancel(f.key, id), 200);
  BATON_CHECK_ERROR(f.c.claim_id(f.key, id), "invalid_transition");
}

BOOST_AUTO_TEST_CASE(unknown_task_id_is_task_not_found) {
  Fresh f;
  const std::string ghost = "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV";
  BATON_CHECK_ERROR(f.c.claim_id(f.key, ghost), "task_not_found");
  BATON_CHECK_ERROR(f.c.get_task(f.key, ghost), "task_not_found");
  BATON_CHECK_ERROR(f.c.complete(f.key, ghost), "task_not_found");
  BATON_CHECK_ERROR(f.c.cancel(f.key, ghost), "task_not_found");
  BATON_CHECK_ERROR(f.c.get_task(f.key, "not-an-id"), "task_not_found");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(fail_retry_and_dead_letter)

BOOST_AUTO_TEST_CASE(fail_retries_until_max_attempts_then_dead_letters_then_requeue_resets) {
  Fresh f;
  std::string id = f.create({{"maxAttempts", 2}});
  Response first = f.claim_one();
  Response failed = f.c.fail(f.key, id, with_token(f.token_of(first), {{"reason", "boom 1"}, {"retry_after_seconds", 0}}));
  BATON_REQUIRE_STATUS(failed, 200);
  BOOST_TEST(failed.task_str("status") == "pending");
  BOOST_TEST(failed.task_int("attemptCount") == 1);
  BOOST_TEST(failed.task_str("failureReason") == "boom 1");
  BATON_CHECK_CONTRACT(failed.contract());
  BOOST_TEST(failed.recommended_action() == "claim_task");

  Response second = f.claim_one();
  BOOST_TEST(second.task_id() == id);
  BOOST_TEST(second.task_int("attemptCount") == 2);
  BOOST_TEST(f.token_of(second) != f.token_of(first));
  Response dead = f.c.fail(f.key, id, with_token(f.token_of(second), {{"reason", "boom 2"}, {"retry_after_seconds", 0}}));
  BATON_REQUIRE_STATUS(dead, 200);
  BOOST_TEST(dead.task_str("status") == "dead_letter");
  BOOST_TEST(dead.task_str("failureReason") == "boom 2");
  BOOST_TEST(dead.recommended_action() == "requeue_task");

  Response none = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(none, 200);
  BOOST_TEST(none.task_is_null());

  Response requeued = f.c.requeue(f.key, id);
  BATON_REQUIRE_STATUS(requeued, 200);
  BOOST_TEST(requeued.task_str("status") == "pending");
  BOOST_TEST(requeued.task_int("attemptCount") == 0);
  BATON_CHECK_CONTRACT(requeued.contract());
  BOOST_TEST(requeued.recommended_action() == "claim_task");

  Response again = f.claim_one();
  BOOST_TEST(again.task_id() == id);
  BOOST_TEST(again.task_int("attemptCount") == 1);
}

BOOST_AUTO_TEST_CASE(fail_with_retryable_false_dead_letters_at_once) {
  Fresh f;
  std::string id = f.create({{"maxAttempts", 5}});
  Response claimed = f.claim_one();
  Response r = f.c.fail(f.key, id, with_token(f.token_of(claimed), {{"reason", "bad input"}, {"retryable", false}}));
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_str("status") == "dead_letter");
  BOOST_TEST(r.task_int("attemptCount") == 1);
  BOOST_TEST(r.task_str("failureReason") == "bad input");
}

BOOST_AUTO_TEST_CASE(retry_after_seconds_schedules_the_retry) {
  Fresh f;
  std::string id = f.create();
  Response claimed = f.claim_one();
  Response r = f.c.fail(f.key, id, with_token(f.token_of(claimed), {{"retry_after_seconds", 120}}));
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_str("status") == "pending");
  auto at = parse_time(r.task_str("scheduledAt"));
  BOOST_TEST(std::abs(seconds(at - WallClock::now()) - 120.0) < 3.0);
  BATON_CHECK_ERROR(f.c.claim_id(f.key, id), "not_yet_claimable");
}

BOOST_AUTO_TEST_CASE(default_backoff_is_exponential_with_jitter) {
  // base 1 s: attempt 1 waits 1 s x [0.5, 1], attempt 2 waits 2 s x [0.5, 1].
  TestServer server(ServerOptions{}
                        .with("tasks.retry_backoff_base_seconds", "1")
                        .with("tasks.retry_backoff_max_seconds", "300"));
  Client c = server.client();
  std::string key = c.register_key();
  std::string type = "backoff_" + unique_suffix();
  std::string id = c.create_task_id(key, task_body(type, {{"maxAttempts", 3}}));
  const double slack = 0.05;

  Response claimed = c.claim(key, js({{"type", type}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  Response failed = c.fail(key, id, with_token(claimed.task_str("leaseToken")));
  BATON_REQUIRE_STATUS(failed, 200);
  BOOST_TEST(failed.task_str("status") == "pending");
  double wait1 = seconds(parse_time(failed.task_str("scheduledAt")) - parse_time(failed.task_str("updatedAt")));
  BOOST_TEST(wait1 >= 0.5 - slack);
  BOOST_TEST(wait1 <= 1.0 + slack);

  Response again{};
  BOOST_REQUIRE(poll_until(
      [&] {
        again = c.claim(key, js({{"type", type}}));
        return again.status == 200 && !again.task_is_null();
      },
      3000ms));
  BOOST_TEST(again.task_int("attemptCount") == 2);
  failed = c.fail(key, id, with_token(again.task_str("leaseToken")));
  BATON_REQUIRE_STATUS(failed, 200);
  double wait2 = seconds(parse_time(failed.task_str("scheduledAt")) - parse_time(failed.task_str("updatedAt")));
  BOOST_TEST(wait2 >= 1.0 - slack);
  BOOST_TEST(wait2 <= 2.0 + slack);
}

BOOST_AUTO_TEST_CASE(requeue_of_a_task_that_is_not_dead_letter_is_invalid_transition) {
  Fresh f;
  std::string id = f.create();
  BATON_CHECK_ERROR(f.c.requeue(f.key, id), "invalid_transition");
  f.claim_one();
  BATON_CHECK_ERROR(f.c.requeue(f.key, id), "invalid_transition");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(cancel)

BOOST_AUTO_TEST_CASE(cancel_of_a_pending_task) {
  Fresh f;
  std::string id = f.create();
  Response r = f.c.cancel(f.key, id);
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_str("status") == "cancelled");
  BATON_CHECK_CONTRACT(r.contract());
  BOOST_TEST(r.recommended_action() == "create_task");
  Response claim = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(claim, 200);
  BOOST_TEST(claim.task_is_null());
  BATON_CHECK_ERROR(f.c.cancel(f.key, id), "invalid_transition");
}

BOOST_AUTO_TEST_CASE(cancel_of_a_claimed_task_tells_the_worker_to_stop) {
  Fresh f;
  std::string id = f.create();
  Response claimed = f.claim_one({{"worker_id", "w-1"}});
  const std::string token = f.token_of(claimed);
  Response r = f.c.cancel(f.key, id);
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.task_str("status") == "cancelled");

  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, with_token(token)), "task_cancelled");
  BATON_CHECK_ERROR(f.c.complete(f.key, id, with_token(token, {{"result", json::object{}}})), "task_cancelled");
  BATON_CHECK_ERROR(f.c.fail(f.key, id, with_token(token, {{"reason", "x"}})), "task_cancelled");
  // A request with neither token nor worker id is treated as that worker.
  BATON_CHECK_ERROR(f.c.complete(f.key, id), "task_cancelled");
  BOOST_TEST(f.status_of(id) == "cancelled");
  Response claim = f.c.claim(f.key, js({{"type", f.type}}));
  BOOST_TEST(claim.task_is_null());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(terminal_states)

BOOST_AUTO_TEST_CASE(complete_twice_with_the_same_token_returns_the_same_200) {
  Fresh f;
  std::string id = f.create();
  Response claimed = f.claim_one();
  const std::string body = with_token(f.token_of(claimed), {{"result", json::object{{"v", 1}}}});
  Response first = f.c.complete(f.key, id, body);
  BATON_REQUIRE_STATUS(first, 200);
  Response second = f.c.complete(f.key, id, body);
  BATON_REQUIRE_STATUS(second, 200);
  BOOST_TEST(js(second.task()) == js(first.task()));
  // With neither token nor worker id: the same 200 as well.
  Response third = f.c.complete(f.key, id, R"({"result":{"v":1}})");
  BATON_REQUIRE_STATUS(third, 200);
  BOOST_TEST(js(third.task()) == js(first.task()));
}

BOOST_AUTO_TEST_CASE(a_completed_task_is_immutable) {
  Fresh f;
  std::string id = f.create();
  Response claimed = f.claim_one();
  const std::string token = f.token_of(claimed);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, with_token(token, {{"result", json::object{{"v", 1}}}})), 200);
  Response before = f.c.get_task(f.key, id);

  BATON_CHECK_ERROR(f.c.fail(f.key, id, with_token(token)), "invalid_transition");
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, with_token(token)), "invalid_transition");
  BATON_CHECK_ERROR(f.c.cancel(f.key, id), "invalid_transition");
  BATON_CHECK_ERROR(f.c.requeue(f.key, id), "invalid_transition");
  BATON_CHECK_ERROR(f.c.claim_id(f.key, id), "invalid_transition");
  BATON_CHECK_ERROR(f.c.complete(f.key, id, with_token("lse_not_the_one", {{"result", json::object{{"v", 2}}}})),
                    "invalid_transition");

  Response after = f.c.get_task(f.key, id);
  BOOST_TEST(js(after.task()) == js(before.task()));
}

BOOST_AUTO_TEST_CASE(a_dead_letter_task_only_allows_requeue) {
  Fresh f;
  std::string id = f.create({{"maxAttempts", 1}});
  Response claimed = f.claim_one();
  const std::string token = f.token_of(claimed);
  BATON_REQUIRE_STATUS(f.c.fail(f.key, id, with_token(token)), 200);
  BOOST_TEST(f.status_of(id) == "dead_letter");
  BATON_CHECK_ERROR(f.c.complete(f.key, id, with_token(token)), "invalid_transition");
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, with_token(token)), "invalid_transition");
  BATON_CHECK_ERROR(f.c.fail(f.key, id, with_token(token)), "invalid_transition");
  BATON_CHECK_ERROR(f.c.cancel(f.key, id), "invalid_transition");
  BATON_CHECK_ERROR(f.c.claim_id(f.key, id), "invalid_transition");
  BOOST_TEST(f.status_of(id) == "dead_letter");
  BATON_REQUIRE_STATUS(f.c.requeue(f.key, id), 200);
}

BOOST_AUTO_TEST_CASE(a_pending_task_never_claimed_cannot_be_completed) {
  Fresh f;
  std::string id = f.create();
  BATON_CHECK_ERROR(f.c.complete(f.key, id), "invalid_transition");
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id), "invalid_transition");
  BATON_CHECK_ERROR(f.c.fail(f.key, id), "invalid_transition");
  BOOST_TEST(f.status_of(id) == "pending");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(reading_and_listing)

namespace {
std::vector<std::string> ids_of(const Response& list) {
  std::vector<std::string> ids;
  for (const auto& t : list.obj().at("tasks").as_array())
    ids.emplace_back(t.as_object().at("id").as_string());
  return ids;
}
std::string cursor_of(const Response& list) {
  const auto& v = list.obj().at("next_cursor");
  return v.is_null() ? std::string() : std::string(v.as_string());
}
}  // namespace

BOOST_AUTO_TEST_CASE(get_returns_the_task_resource) {
  Fresh f;
  Response created = f.c.create_task(
      f.key, task_body(f.type, {{"priority", 3}, {"maxAttempts", 4}, {"leaseDurationSeconds", 45}}));
  BATON_REQUIRE_STATUS(created, 201);
  Response r = f.c.get_task(f.key, created.task_id());
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(js(r.task()) == js(created.task()));
  for (const char* field : {"id", "type", "status", "payload", "result", "outputId", "priority",
                            "maxAttempts", "attemptCount", "leaseDurationSeconds", "leaseExpiresAt",
                            "claimedBy", "scheduledAt", "failureReason", "createdAt", "updatedAt",
                            "completedAt"})
    BOOST_CHECK_MESSAGE(r.task().contains(field), "task resource lacks " << field << ": " << r.describe());
}

BOOST_AUTO_TEST_CASE(list_is_newest_first_and_filters_by_status_and_type) {
  Fresh f;
  std::string other = "other_" + unique_suffix();
  std::string t1 = f.create();
  std::string o1 = f.c.create_task_id(f.key, task_body(other));
  std::this_thread::sleep_for(2ms);
  std::string t2 = f.create();
  std::string t3 = f.create();
  BATON_REQUIRE_STATUS(f.c.claim_id(f.key, t2), 200);

  Response all = f.c.list_tasks(f.key);
  BATON_REQUIRE_STATUS(all, 200);
  BOOST_TEST(ids_of(all) == (std::vector<std::string>{t3, t2, o1, t1}), boost::test_tools::per_element());
  BOOST_TEST(cursor_of(all).empty());
  for (const auto& t : all.obj().at("tasks").as_array())
    BOOST_TEST(field_is_null(t.as_object(), "leaseToken"));

  Response by_type = f.c.list_tasks(f.key, "type=" + f.type);
  BATON_REQUIRE_STATUS(by_type, 200);
  BOOST_TEST(ids_of(by_type) == (std::vector<std::string>{t3, t2, t1}), boost::test_tools::per_element());

  Response pending = f.c.list_tasks(f.key, "status=pending");
  BATON_REQUIRE_STATUS(pending, 200);
  BOOST_TEST(ids_of(pending) == (std::vector<std::string>{t3, o1, t1}), boost::test_tools::per_element());

  Response claimed = f.c.list_tasks(f.key, "status=claimed&type=" + f.type);
  BATON_REQUIRE_STATUS(claimed, 200);
  BOOST_TEST(ids_of(claimed) == (std::vector<std::string>{t2}), boost::test_tools::per_element());

  Response none = f.c.list_tasks(f.key, "status=completed");
  BATON_REQUIRE_STATUS(none, 200);
  BOOST_TEST(ids_of(none).empty());
  BOOST_TEST(cursor_of(none).empty());
}

BOOST_AUTO_TEST_CASE(cursor_pagination_is_stable_while_tasks_are_inserted) {
  Fresh f;
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) made.push_back(f.create({{"payload", json::object{{"i", i}}}}));

  Response page1 = f.c.list_tasks(f.key, "limit=2");
  BATON_REQUIRE_STATUS(page1, 200);
  BOOST_TEST(ids_of(page1) == (std::vector<std::string>{made[4], made[3]}), boost::test_tools::per_element());
  std::string cursor = cursor_of(page1);
  BOOST_REQUIRE(!cursor.empty());

  // New tasks between pages must neither shift nor repeat what follows.
  f.create();
  f.create();

  Response page2 = f.c.list_tasks(f.key, "limit=2&cursor=" + url_encode(cursor));
  BATON_REQUIRE_STATUS(page2, 200);
  BOOST_TEST(ids_of(page2) == (std::vector<std::string>{made[2], made[1]}), boost::test_tools::per_element());
  cursor = cursor_of(page2);
  BOOST_REQUIRE(!cursor.empty());

  Response page3 = f.c.list_tasks(f.key, "limit=2&cursor=" + url_encode(cursor));
  BATON_REQUIRE_STATUS(page3, 200);
  BOOST_TEST(ids_of(page3) == (std::vector<std::string>{made[0]}), boost::test_tools::per_element());
  BOOST_TEST(cursor_of(page3).empty());
  BOOST_TEST(page3.obj().at("next_cursor").is_null());

  Response fresh = f.c.list_tasks(f.key, "limit=100");
  BOOST_TEST(ids_of(fresh).size() == 7u);
}

BOOST_AUTO_TEST_CASE(list_order_is_exact_for_tasks_created_back_to_back) {
  // Newest first must hold within one millisecond too, across pages.
  Fresh f;
  std::vector<std::string> made;
  for (int i = 0; i < 30; ++i) made.push_back(f.c.create_task_id(f.key, task_body(f.type)));
  std::vector<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    Response r = f.c.list_tasks(f.key, "limit=7" + (cursor.empty() ? std::string() : "&cursor=" + url_encode(cursor)));
    BATON_REQUIRE_STATUS(r, 200);
    for (const auto& id : ids_of(r)) listed.push_back(id);
    cursor = cursor_of(r);
    if (cursor.empty()) break;
  }
  std::vector<std::string> expected(made.rbegin(), made.rend());
  BOOST_TEST(listed == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(default_limit_is_20) {
  Fresh f;
  for (int i = 0; i < 21; ++i) f.create();
  Response r = f.c.list_tasks(f.key);
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(ids_of(r).size() == 20u);
  BOOST_TEST(!cursor_of(r).empty());
}

BOOST_AUTO_TEST_CASE(list_limit_out_of_range_is_rejected) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.list_tasks(f.key, "limit=0"), "invalid_request");
  BATON_CHECK_ERROR(f.c.list_tasks(f.key, "limit=101"), "invalid_request");
  BATON_CHECK_ERROR(f.c.list_tasks(f.key, "limit=abc"), "invalid_request");
  BATON_CHECK_ERROR(f.c.list_tasks(f.key, "status=sleeping"), "invalid_request");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(request_ids)

BOOST_AUTO_TEST_CASE(request_id_is_generated_when_not_sent) {
  Fresh f;
  Response a = f.c.list_tasks(f.key);
  Response b = f.c.list_tasks(f.key);
  for (const Response* r : {&a, &b}) {
    std::string id = r->header("X-Request-Id");
    BOOST_TEST(id.rfind("req_", 0) == 0u);
    BOOST_TEST(is_ulid(id.substr(std::min<std::size_t>(4, id.size()))));
  }
  BOOST_TEST(a.header("X-Request-Id") != b.header("X-Request-Id"));

  Response err = f.c.get_task(f.key, "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV");
  BATON_CHECK_ERROR(err, "task_not_found");
  BOOST_TEST(err.header("X-Request-Id").rfind("req_", 0) == 0u);

  Response health = f.c.get("/health", "");
  BOOST_TEST(health.header("X-Request-Id").rfind("req_", 0) == 0u);
}

// Failures no request answers for are counted by kind; ordinary traffic (above, and in
// the other cases on this server) notes none.
BOOST_AUTO_TEST_CASE(health_counts_unanswered_failures_by_kind_and_a_normal_run_has_none) {
  Fresh f;
  const std::string id = f.c.create_task_id(f.key, task_body(f.type));
  Response claim = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(claim, 200);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, with_token(claim.task_str("leaseToken"))), 200);
  Response health = f.c.get("/health", "");
  BATON_REQUIRE_STATUS(health, 200);
  const json::object& failures = health.obj().at("failures").as_object();
  for (const char* kind : {"detached_coroutine", "expiry_write", "storage_rebuild",
                           "handler_exception", "storage_answer", "schedule_firing",
                           "dependency_release"}) {
    BOOST_TEST_CONTEXT(kind) {
      BOOST_REQUIRE(failures.contains(kind));
      BOOST_TEST(failures.at(kind).to_number<std::int64_t>() == 0);
    }
  }
  BOOST_TEST(failures.size() == 7u);
}

BOOST_AUTO_TEST_CASE(client_request_id_is_echoed) {
  Fresh f;
  Response ok = f.c.get("/v1/tasks", f.key, {{"X-Request-Id", "trace-abc-123"}});
  BATON_REQUIRE_STATUS(ok, 200);
  BOOST_TEST(ok.header("X-Request-Id") == "trace-abc-123");

  Response err = f.c.get("/v1/tasks/tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV", f.key, {{"X-Request-Id", "trace-err-456"}});
  BATON_CHECK_ERROR(err, "task_not_found");
  BOOST_TEST(err.header("X-Request-Id") == "trace-err-456");
  BOOST_TEST(err.obj().at("request_id").as_string() == "trace-err-456");

  const std::string longest(128, 'r');
  Response edge = f.c.get("/v1/tasks", f.key, {{"X-Request-Id", longest}});
  BOOST_TEST(edge.header("X-Request-Id") == longest);
}

BOOST_AUTO_TEST_CASE(overlong_request_id_is_replaced_by_a_generated_one) {
  Fresh f;
  const std::string too_long(129, 'r');
  Response r = f.c.get("/v1/tasks", f.key, {{"X-Request-Id", too_long}});
  BOOST_TEST(r.header("X-Request-Id") != too_long);
  BOOST_TEST(r.header("X-Request-Id").rfind("req_", 0) == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(lease_token_visibility)

BOOST_AUTO_TEST_CASE(lease_token_appears_only_in_claim_and_heartbeat_answers) {
  Fresh f;
  Response created = f.c.create_task(f.key, task_body(f.type));
  BATON_REQUIRE_STATUS(created, 201);
  BOOST_TEST(field_is_null(created.task(), "leaseToken"));
  const std::string id = created.task_id();

  Response claimed = f.claim_one();
  const std::string token = f.token_of(claimed);
  BOOST_TEST(token.rfind("lse_", 0) == 0u);

  Response hb = f.c.heartbeat(f.key, id, with_token(token));
  BATON_REQUIRE_STATUS(hb, 200);
  BOOST_TEST(hb.task_str("leaseToken") == token);
  Response hb_plain = f.c.heartbeat(f.key, id);
  BATON_REQUIRE_STATUS(hb_plain, 200);

  Response got = f.c.get_task(f.key, id);
  BATON_REQUIRE_STATUS(got, 200);
  BOOST_TEST(field_is_null(got.task(), "leaseToken"));
  BOOST_TEST(got.body.find(token) == std::string::npos);

  Response list = f.c.list_tasks(f.key);
  BATON_REQUIRE_STATUS(list, 200);
  BOOST_TEST(list.body.find(token) == std::string::npos);

  Response done = f.c.complete(f.key, id, with_token(token));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.body.find(token) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_claim_gets_a_new_token) {
  Fresh f;
  std::string id = f.create();
  std::set<std::string> tokens;
  for (int i = 0; i < 3; ++i) {
    Response claimed = f.claim_one();
    tokens.insert(f.token_of(claimed));
    BATON_REQUIRE_STATUS(f.c.fail(f.key, id, with_token(f.token_of(claimed), {{"retry_after_seconds", 0}})), 200);
  }
  BOOST_TEST(tokens.size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

// A keep-alive connection whose requests keep going to queues of the other shard moves to
// that shard's thread between requests (server.move_connections_after, default 2),
// carrying the bytes it had already read: pipelined requests are all answered, in order,
// and the connection keeps working where it landed. /health counts the moves. Which
// shard accepts a connection is the kernel's choice, so connections are opened until one
// started on the other shard (each does with probability 1/2).
BOOST_AUTO_TEST_CASE(a_keep_alive_connection_moves_to_its_queues_shard_with_pipelined_bytes) {
  Fresh f;
  auto moved = [&] {
    Response health = f.server.client().get("/health", "");
    BATON_REQUIRE_STATUS(health, 200);
    return health.obj().at("connections").at("moved").as_int64();
  };
  const std::int64_t before = moved();
  int created = 0;
  bool saw_move = false;
  for (int attempt = 0; attempt < 40 && !saw_move; ++attempt) {
    RawConnection raw(f.server.port());
    // Four creates in one write: the server has read past the second when it answers
    // it, so a move after that answer must take the other two along.
    std::string four;
    for (int i = 0; i < 4; ++i) four += raw_request("POST", "/v1/tasks", f.key, task_body(f.type));
    BOOST_REQUIRE(raw.send(four));
    for (int i = 0; i < 4; ++i) {
      RawRead read = raw.read_response(5s);
      BOOST_REQUIRE_MESSAGE(read.status() == 201, "answer " << i << ": " << read.data);
      ++created;
    }
    // The same connection claims and completes a task afterwards, wherever it is now.
    BOOST_REQUIRE(raw.send(raw_request("POST", "/v1/tasks/claim", f.key, js(json::object{{"type", f.type}}))));
    RawRead claimed = raw.read_response(5s);
    BOOST_REQUIRE_MESSAGE(claimed.status() == 200, claimed.data);
    Response claim = parse_raw_response(claimed.data);
    std::string id = claim.task_id();
    BOOST_REQUIRE(raw.send(raw_request("POST", "/v1/tasks/" + id + "/complete", f.key,
                                       js(json::object{{"result", json::object{}}}))));
    RawRead done = raw.read_response(5s);
    BOOST_REQUIRE_MESSAGE(done.status() == 200, done.data);
    BOOST_TEST(parse_raw_response(done.data).task_str("status") == "completed");
    --created;
    saw_move = moved() > before;
  }
  BOOST_TEST(saw_move, "no connection moved in 40 tries");
  // Nothing was lost or doubled on the way: every task created and not completed is
  // still there to claim, once.
  int pending = 0;
  for (;;) {
    Response r = f.c.claim(f.key, js(json::object{{"type", f.type}}));
    BATON_REQUIRE_STATUS(r, 200);
    if (r.task_is_null()) break;
    ++pending;
  }
  BOOST_TEST(pending == created);
}
