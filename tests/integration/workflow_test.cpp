// Workflow over HTTP and MCP against the real binary: the review gate (approve, reject,
// revise), dependencies across shards (a diamond, failures that propagate, kill -9 while
// releases are in flight), and a parent's children with their rollup.
#define BOOST_TEST_MODULE workflow
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"
#include "integration/mcp_session.hpp"

#include <future>
#include <map>
#include <random>
#include <set>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = shared_server()) : FreshAccount("flow_", on) {}

  // A type of this account's own; several of them land on different shards.
  std::string type_n(int n) const { return type + "_" + std::to_string(n); }

  std::string create(const json::object& extra = {}, int type_index = 0) {
    return c.create_task_id(key, task_body(type_n(type_index), extra));
  }

  json::object read(const std::string& id) {
    Response r = c.get_task(key, id);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    return r.obj().at("task").as_object();
  }

  std::string status(const std::string& id) { return std::string(read(id).at("status").as_string()); }

  // Claims `id` by id and completes it (result {"done": id}).
  void finish(const std::string& id) {
    Response claim = c.claim_id(key, id, js({{"worker_id", "w"}}));
    BOOST_REQUIRE_MESSAGE(claim.status == 200, claim.describe());
    Response done = c.complete(key, id, js({{"lease_token", claim.task_str("leaseToken")},
                                            {"result", {{"done", id}}}}));
    BOOST_REQUIRE_MESSAGE(done.status == 200, done.describe());
  }

  bool becomes(const std::string& id, std::string_view wanted) {
    return poll_until([&] { return status(id) == wanted; }, 5s, 10ms);
  }

  // A claimed task of `type_n(index)` that needs review.
  Response claimed_for_review(int index = 0) {
    std::string id = create({{"review", {{"required", true}}}}, index);
    Response claim = c.claim_id(key, id, js({{"worker_id", "w-1"}}));
    BOOST_REQUIRE_MESSAGE(claim.status == 200, claim.describe());
    return claim;
  }

  Response review(const std::string& id, const json::object& body) {
    return c.post("/v1/tasks/" + id + "/review", key, js(body));
  }
};

std::vector<std::string> strings(const json::value& array) {
  std::vector<std::string> out;
  for (const json::value& v : array.as_array()) out.emplace_back(v.as_string());
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(review_gate)

BOOST_AUTO_TEST_CASE(complete_waits_for_review_and_approve_completes_with_the_result) {
  Fresh f;
  Response claim = f.claimed_for_review();
  std::string id = claim.task_id();
  Response done = f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")},
                                               {"result", {{"answer", 42}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "awaiting_review");
  BOOST_TEST(done.task().at("result").at("answer").as_int64() == 42);
  BOOST_TEST(field_is_null(done.task(), "completedAt"));
  BOOST_TEST(done.recommended_action() == "await_review");
  BOOST_TEST(offers_action(done.contract(), "review_task"));
  BATON_CHECK_CONTRACT(done.contract());
  // Completing again with the same lease is a safe retry.
  BATON_CHECK_STATUS(f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")}})), 200);
  // Nothing to claim while in review.
  BOOST_TEST(f.c.claim(f.key, js({{"type", f.type_n(0)}})).task_is_null());

  Response approved = f.review(id, {{"decision", "approve"}, {"feedback", "ship it"}});
  BATON_REQUIRE_STATUS(approved, 200);
  BOOST_TEST(approved.task_str("status") == "completed");
  BOOST_TEST(approved.task().at("result").at("answer").as_int64() == 42);
  BOOST_TEST(!field_is_null(approved.task(), "completedAt"));
  BATON_CHECK_CONTRACT(approved.contract());
  // A decided task is not in review any more.
  BATON_CHECK_ERROR(f.review(id, {{"decision", "approve"}}), "invalid_transition");
}

BOOST_AUTO_TEST_CASE(reject_dead_letters_with_the_feedback_as_the_reason) {
  Fresh f;
  Response claim = f.claimed_for_review();
  std::string id = claim.task_id();
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")}})), 200);
  BATON_CHECK_ERROR(f.review(id, {{"decision", "reject"}}), "invalid_request");
  Response rejected = f.review(id, {{"decision", "reject"}, {"feedback", "wrong repository"}});
  BATON_REQUIRE_STATUS(rejected, 200);
  BOOST_TEST(rejected.task_str("status") == "dead_letter");
  BOOST_TEST(rejected.task_str("failureReason") == "wrong repository");
  BOOST_TEST(rejected.recommended_action() == "requeue_task");
}

BOOST_AUTO_TEST_CASE(revise_sends_it_back_with_feedback_for_the_next_claimer) {
  Fresh f;
  Response claim = f.claimed_for_review();
  std::string id = claim.task_id();
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")}})), 200);
  BATON_CHECK_ERROR(f.review(id, {{"decision", "revise"}, {"feedback", ""}}), "invalid_request");
  Response revised = f.review(id, {{"decision", "revise"}, {"feedback", "add tests"}});
  BATON_REQUIRE_STATUS(revised, 200);
  BOOST_TEST(revised.task_str("status") == "pending");

  Response again = f.c.claim(f.key, js({{"type", f.type_n(0)}, {"worker_id", "w-2"}}));
  BATON_REQUIRE_STATUS(again, 200);
  BOOST_TEST(again.task_id() == id);
  BOOST_TEST(again.task_str("reviewFeedback") == "add tests");
  BOOST_TEST(again.task_int("attemptCount") == 2);
  // The first worker's lease is over.
  BATON_CHECK_ERROR(f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")}})),
                    "lease_expired");
  Response second = f.c.complete(f.key, id, js({{"lease_token", again.task_str("leaseToken")}}));
  BOOST_TEST(second.task_str("status") == "awaiting_review");
  BATON_CHECK_STATUS(f.review(id, {{"decision", "approve"}}), 200);
  BOOST_TEST(f.status(id) == "completed");
}

BOOST_AUTO_TEST_CASE(a_review_of_a_task_not_in_review_is_409_and_of_none_404) {
  Fresh f;
  std::string id = f.create();
  BATON_CHECK_ERROR(f.review(id, {{"decision", "approve"}}), "invalid_transition");
  BATON_CHECK_ERROR(f.review("tsk_01JXZK0000000000000000000A", {{"decision", "approve"}}),
                    "task_not_found");
  BATON_CHECK_ERROR(f.review(id, {{"decision", "maybe"}}), "invalid_request");
}

BOOST_AUTO_TEST_CASE(review_and_linked_creates_work_as_mcp_tools) {
  Fresh f;
  McpSession mcp(f.server, f.key);
  Response claim = f.claimed_for_review();
  std::string id = claim.task_id();
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")}})), 200);
  json::object reviewed = mcp.call("review_task", {{"task_id", id}, {"decision", "approve"}});
  BOOST_TEST(!reviewed.at("isError").as_bool(), js(reviewed));
  BOOST_TEST(reviewed.at("structuredContent").at("task").at("status").as_string() == "completed");

  json::object created = mcp.call("create_task", {{"type", f.type_n(1)},
                                                  {"payload", json::object{}},
                                                  {"depends_on", json::array{json::string(id)}}});
  BOOST_TEST(created.at("structuredContent").at("task").at("status").as_string() == "pending",
             js(created));
  json::object batch = mcp.call(
      "create_tasks", {{"tasks", json::array{json::object{{"type", f.type_n(2)},
                                                          {"payload", json::object{}}}}}});
  BOOST_TEST(batch.at("structuredContent").at("taskIds").as_array().size() == 1u, js(batch));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(dependencies)

BOOST_AUTO_TEST_CASE(a_diamond_across_shards_releases_each_task_when_all_it_waits_for_complete) {
  Fresh f;
  std::string a = f.create({}, 0);
  std::string b = f.create({{"depends_on", {a}}}, 1);
  std::string c = f.create({{"depends_on", {a}}}, 2);
  std::string d = f.create({{"depends_on", {b, c}}}, 3);
  json::object top = f.read(d);
  BOOST_TEST(top.at("status").as_string() == "blocked");
  BOOST_TEST((strings(top.at("dependsOn")) == std::vector<std::string>{b, c}));
  BOOST_TEST((strings(top.at("waitingOn")) == std::vector<std::string>{b, c}));
  BOOST_TEST(f.read(d).at("onDependencyFailure").as_string() == "cancel");
  BATON_CHECK_ERROR(f.c.claim_id(f.key, d, "{}"), "invalid_transition");
  BOOST_TEST(f.c.claim(f.key, js({{"type", f.type_n(3)}})).task_is_null());

  f.finish(a);
  BOOST_TEST(f.becomes(b, "pending"));
  BOOST_TEST(f.becomes(c, "pending"));
  BOOST_TEST(f.status(d) == "blocked");
  f.finish(b);
  BOOST_TEST(poll_until([&] { return strings(f.read(d).at("waitingOn")) == std::vector<std::string>{c}; }, 5s, 10ms));
  BOOST_TEST(f.status(d) == "blocked");
  f.finish(c);
  BOOST_TEST(f.becomes(d, "pending"));
  json::object released = f.read(d);
  BOOST_TEST(released.at("waitingOn").as_array().empty());
  BOOST_TEST(released.at("attemptCount").as_int64() == 0);
  Response claim = f.c.claim(f.key, js({{"type", f.type_n(3)}}));
  BOOST_TEST(claim.task_id() == d);
}

BOOST_AUTO_TEST_CASE(a_failed_dependency_cancels_its_dependents_down_the_chain) {
  Fresh f;
  std::string a = f.create({{"maxAttempts", 1}}, 0);
  std::string b = f.create({{"depends_on", {a}}}, 1);
  std::string c = f.create({{"depends_on", {b}}}, 2);
  std::string runs = f.create({{"depends_on", {a}}, {"on_dependency_failure", "run"}}, 3);
  Response claim = f.c.claim_id(f.key, a, "{}");
  BATON_REQUIRE_STATUS(f.c.fail(f.key, a, js({{"lease_token", claim.task_str("leaseToken")},
                                              {"retryable", false}})), 200);
  BOOST_TEST(f.becomes(b, "cancelled"));
  BOOST_TEST(f.read(b).at("failureReason").as_string() == "dependency_failed");
  BOOST_TEST(f.becomes(c, "cancelled"));
  BOOST_TEST(f.read(c).at("failureReason").as_string() == "dependency_failed");
  BOOST_TEST(f.becomes(runs, "pending"));
}

BOOST_AUTO_TEST_CASE(cancelling_a_dependency_cancels_the_dependent) {
  Fresh f;
  std::string a = f.create({}, 0);
  std::string b = f.create({{"depends_on", {a}}}, 1);
  BATON_REQUIRE_STATUS(f.c.cancel(f.key, a), 200);
  BOOST_TEST(f.becomes(b, "cancelled"));
  // Cancelling a blocked task itself is allowed too.
  std::string x = f.create({}, 0);
  std::string y = f.create({{"depends_on", {x}}}, 1);
  BATON_CHECK_STATUS(f.c.cancel(f.key, y), 200);
  f.finish(x);
  BOOST_TEST(f.status(y) == "cancelled");
}

BOOST_AUTO_TEST_CASE(dependencies_must_exist_in_the_account_and_finished_ones_count_at_once) {
  Fresh f;
  Fresh other;
  std::string theirs = other.create();
  Response missing = f.c.create_task(f.key, task_body(f.type_n(0), {{"depends_on", {"tsk_01JXZK0000000000000000000A"}}}));
  BATON_CHECK_ERROR(missing, "dependency_not_found");
  BATON_CHECK_ERROR(f.c.create_task(f.key, task_body(f.type_n(0), {{"depends_on", {theirs}}})),
                    "dependency_not_found");
  BATON_CHECK_ERROR(f.c.create_task(f.key, task_body(f.type_n(0), {{"parent_task_id", theirs}})),
                    "dependency_not_found");
  BATON_CHECK_ERROR(f.c.create_task(f.key, task_body(f.type_n(0), {{"depends_on", {"nope"}}})),
                    "invalid_request");

  std::string done = f.create({}, 0);
  f.finish(done);
  Response ready = f.c.create_task(f.key, task_body(f.type_n(1), {{"depends_on", {done}}}));
  BATON_REQUIRE_STATUS(ready, 201);
  BOOST_TEST(ready.task_str("status") == "pending");

  std::string dead = f.create({}, 0);
  BATON_REQUIRE_STATUS(f.c.cancel(f.key, dead), 200);
  Response doomed = f.c.create_task(f.key, task_body(f.type_n(1), {{"depends_on", {done, dead}}}));
  BATON_REQUIRE_STATUS(doomed, 201);
  BOOST_TEST(doomed.task_str("status") == "cancelled");
  BOOST_TEST(doomed.task_str("failureReason") == "dependency_failed");
}

BOOST_AUTO_TEST_CASE(a_batch_can_depend_on_existing_tasks) {
  Fresh f;
  std::string a = f.create({}, 0);
  json::array items;
  for (int i = 0; i < 5; ++i) {
    items.push_back(json::object{{"type", f.type_n(i)}, {"payload", json::object{}},
                                 {"depends_on", {a}}});
  }
  Response batch = f.c.post("/v1/tasks/batch", f.key, js(json::object{{"tasks", items}}));
  BATON_REQUIRE_STATUS(batch, 201);
  std::vector<std::string> ids = strings(batch.obj().at("taskIds"));
  for (const std::string& id : ids) BOOST_TEST(f.status(id) == "blocked");
  f.finish(a);
  for (const std::string& id : ids) BOOST_TEST(f.becomes(id, "pending"));
}

BOOST_AUTO_TEST_CASE(after_kill_9_no_dependent_stays_blocked_and_none_is_released_twice) {
  TestServer server(ServerOptions{}.with("server.shards", "4"));
  Fresh f(server);
  std::mt19937 random(7);
  constexpr int kDependencies = 24;
  constexpr int kDependents = 150;
  std::vector<std::string> dependencies;
  for (int i = 0; i < kDependencies; ++i) dependencies.push_back(f.create({}, i % 8));
  std::vector<std::string> dependents;
  for (int i = 0; i < kDependents; ++i) {
    json::array on;
    for (int k = 0; k < 3; ++k) on.push_back(json::string(dependencies[random() % kDependencies]));
    dependents.push_back(f.create({{"depends_on", on}}, 8 + i % 8));
  }
  // Completions answered just before the kill: their notices may be in flight.
  for (const std::string& id : dependencies) f.finish(id);
  server.kill9();
  server.restart();
  f.c = server.client();
  for (const std::string& id : dependencies) BOOST_TEST(f.status(id) == "completed");
  for (const std::string& id : dependents) {
    BOOST_TEST(f.becomes(id, "pending"), id);
    json::object task = f.read(id);
    BOOST_TEST(task.at("waitingOn").as_array().empty());
    BOOST_TEST(task.at("attemptCount").as_int64() == 0);
  }
  // Each is claimable exactly once.
  std::set<std::string> claimed;
  for (int t = 8; t < 16; ++t) {
    for (;;) {
      Response r = f.c.claim(f.key, js({{"type", f.type_n(t)}, {"max_tasks", 100}}));
      BATON_REQUIRE_STATUS(r, 200);
      const json::array& got = r.obj().at("tasks").as_array();
      if (got.empty()) break;
      for (const json::value& answer : got) {
        std::string id(answer.at("task").at("id").as_string());
        BOOST_TEST(claimed.insert(id).second, id << " claimed twice");
      }
    }
  }
  BOOST_TEST(claimed.size() == static_cast<std::size_t>(kDependents));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(parents)

BOOST_AUTO_TEST_CASE(a_parent_shows_its_children_and_their_rollup) {
  Fresh f;
  std::string parent = f.create({}, 0);
  std::vector<std::string> children;
  for (int i = 0; i < 4; ++i) children.push_back(f.create({{"parent_task_id", parent}}, i));
  BOOST_TEST(f.read(children[0]).at("parentTaskId").as_string() == parent);
  f.finish(children[1]);
  BATON_REQUIRE_STATUS(f.c.cancel(f.key, children[2]), 200);

  Response r = f.c.get_task(f.key, parent);
  BATON_REQUIRE_STATUS(r, 200);
  const json::object& family = r.obj().at("children").as_object();
  BOOST_TEST(family.at("count").as_int64() == 4);
  BOOST_TEST((strings(family.at("ids")) == children));
  const json::object& rollup = family.at("rollup").as_object();
  BOOST_TEST(rollup.at("pending").as_int64() == 2);
  BOOST_TEST(rollup.at("completed").as_int64() == 1);
  BOOST_TEST(rollup.at("cancelled").as_int64() == 1);
  // A task without children has no children field.
  BOOST_TEST(!f.c.get_task(f.key, children[0]).obj().contains("children"));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(acceptance)

namespace {

// A gated task of f's type 0, claimed and completed with {"pages": 3}.
std::string completed_at_gate(Fresh& f, const json::object& gate) {
  std::string id = f.create(gate, 0);
  Response claim = f.c.claim_id(f.key, id, js({{"worker_id", "w"}}));
  BOOST_REQUIRE_MESSAGE(claim.status == 200, claim.describe());
  Response done = f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")},
                                              {"result", {{"pages", 3}}}}));
  BOOST_REQUIRE_MESSAGE(done.status == 200, done.describe());
  BOOST_REQUIRE_EQUAL(done.task_str("status"), "awaiting_acceptance");
  return id;
}

// Waits for the verifier's task of `type` and claims it.
Response claim_verifier(Fresh& f, const std::string& type) {
  Response r = f.c.claim(f.key, js({{"type", type}, {"worker_id", "verifier"}, {"wait_seconds", 5}}));
  BOOST_REQUIRE_MESSAGE(r.status == 200 && !r.task_is_null(), r.describe());
  return r;
}

std::string verification_state(Fresh& f, const std::string& id) {
  const json::object task = f.read(id);
  return std::string(task.at("verification").at("state").as_string());
}

json::object gate_with(const std::string& verifier_type) {
  return {{"definition_of_done", "three pages counted"}, {"verification", {{"type", verifier_type}}}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_verifier_gets_the_work_and_its_pass_is_recorded_then_accept_completes) {
  Fresh f;
  std::string verify = f.type_n(9);
  std::string id = completed_at_gate(f, gate_with(verify));
  Response verifier = claim_verifier(f, verify);
  const json::object& payload = verifier.task().at("payload").as_object();
  BOOST_TEST(payload.at("task_id").as_string() == id);
  BOOST_TEST(payload.at("result").at("pages").as_int64() == 3);
  BOOST_TEST(payload.at("definition_of_done").as_string() == "three pages counted");
  BOOST_TEST(verifier.task_str("verifiesTaskId") == id);
  BOOST_TEST(poll_until([&] { return !field_is_null(f.read(id).at("verification").as_object(), "taskId"); }, 5s, 10ms));
  BOOST_TEST(f.read(id).at("verification").at("taskId").as_string() == verifier.task_id());
  BOOST_TEST(f.c.get_task(f.key, id).recommended_action() == "await_verification");

  BATON_REQUIRE_STATUS(f.c.complete(f.key, verifier.task_id(),
                                    js({{"lease_token", verifier.task_str("leaseToken")},
                                        {"result", {{"passed", true}, {"notes", "all there"}}}})),
                       200);
  BOOST_TEST(poll_until([&] { return verification_state(f, id) == "passed"; }, 5s, 10ms));
  BOOST_TEST(f.read(id).at("verification").at("notes").as_string() == "all there");
  BOOST_TEST(f.status(id) == "awaiting_acceptance");
  Response page = f.c.get_task(f.key, id);
  BOOST_TEST(page.recommended_action() == "accept_task");
  BATON_CHECK_CONTRACT(page.contract());
  Response accepted = f.c.post("/v1/tasks/" + id + "/accept", f.key, "{}");
  BATON_REQUIRE_STATUS(accepted, 200);
  BOOST_TEST(accepted.task_str("status") == "completed");
  BOOST_TEST(accepted.task().at("result").at("pages").as_int64() == 3);
  BATON_CHECK_ERROR(f.c.post("/v1/tasks/" + id + "/accept", f.key, "{}"), "invalid_transition");
}

BOOST_AUTO_TEST_CASE(a_failed_verification_recommends_rework_and_rework_runs_a_new_round) {
  Fresh f;
  std::string verify = f.type_n(9);
  std::string id = completed_at_gate(f, gate_with(verify));
  Response verifier = claim_verifier(f, verify);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, verifier.task_id(),
                                    js({{"lease_token", verifier.task_str("leaseToken")},
                                        {"result", {{"passed", false}, {"notes", "two pages"}}}})),
                       200);
  BOOST_TEST(poll_until([&] { return verification_state(f, id) == "failed"; }, 5s, 10ms));
  BOOST_TEST(f.c.get_task(f.key, id).recommended_action() == "rework_task");
  BATON_CHECK_ERROR(f.c.post("/v1/tasks/" + id + "/rework", f.key, "{}"), "invalid_request");
  Response rework = f.c.post("/v1/tasks/" + id + "/rework", f.key, js({{"feedback", "count page 3"}}));
  BATON_REQUIRE_STATUS(rework, 200);
  BOOST_TEST(rework.task_str("status") == "pending");
  BOOST_TEST(rework.task().at("verification").at("state").as_string() == "none");

  Response again = f.c.claim(f.key, js({{"type", f.type_n(0)}}));
  BOOST_TEST(again.task_id() == id);
  BOOST_TEST(again.task_str("reviewFeedback") == "count page 3");
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js({{"lease_token", again.task_str("leaseToken")}})), 200);
  Response second = claim_verifier(f, verify);
  BOOST_TEST(second.task_id() != verifier.task_id());
  BOOST_TEST(second.task().at("payload").at("attempt").as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(auto_accept_completes_on_a_pass_and_a_dead_verifier_fails_the_verification) {
  Fresh f;
  std::string verify = f.type_n(9);
  json::object gate = gate_with(verify);
  gate["auto_accept"] = true;
  std::string id = completed_at_gate(f, gate);
  Response verifier = claim_verifier(f, verify);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, verifier.task_id(),
                                    js({{"lease_token", verifier.task_str("leaseToken")},
                                        {"result", {{"passed", true}}}})),
                       200);
  BOOST_TEST(f.becomes(id, "completed"));

  std::string other = completed_at_gate(f, gate_with(verify));
  Response doomed = claim_verifier(f, verify);
  BATON_REQUIRE_STATUS(f.c.fail(f.key, doomed.task_id(), js({{"lease_token", doomed.task_str("leaseToken")},
                                                              {"retryable", false}})),
                       200);
  BOOST_TEST(poll_until([&] { return verification_state(f, other) == "failed"; }, 5s, 10ms));
  BOOST_TEST(f.status(other) == "awaiting_acceptance");
}

BOOST_AUTO_TEST_CASE(a_definition_of_done_alone_waits_for_accept) {
  Fresh f;
  std::string id = completed_at_gate(f, {{"definition_of_done", "it works"}});
  json::object task = f.read(id);
  BOOST_TEST(task.at("definitionOfDone").as_string() == "it works");
  BOOST_TEST(!task.contains("verification"));
  BOOST_TEST(f.c.get_task(f.key, id).recommended_action() == "accept_task");
  BATON_CHECK_STATUS(f.c.post("/v1/tasks/" + id + "/accept", f.key, "{}"), 200);
  BOOST_TEST(f.status(id) == "completed");
}

BOOST_AUTO_TEST_CASE(the_gate_times_out_as_the_task_says) {
  Fresh f;
  std::string dies = completed_at_gate(f, {{"definition_of_done", "x"},
                                           {"acceptance", {{"timeout_seconds", 1}}}});
  std::string passes = completed_at_gate(f, {{"definition_of_done", "x"},
                                             {"acceptance", {{"timeout_seconds", 1}, {"on_timeout", "accept"}}}});
  BOOST_TEST(!field_is_null(f.read(dies), "acceptanceDeadline"));
  BOOST_TEST(f.becomes(dies, "dead_letter"));
  BOOST_TEST(f.read(dies).at("failureReason").as_string() == "acceptance_timeout");
  BOOST_TEST(f.becomes(passes, "completed"));
}

BOOST_AUTO_TEST_CASE(after_kill_9_each_round_has_exactly_one_verifier_and_its_verdict_lands) {
  TestServer server(ServerOptions{}.with("server.shards", "4"));
  Fresh f(server);
  std::string verify = f.type_n(9);
  constexpr int kTasks = 40;
  std::vector<std::string> ids;
  for (int i = 0; i < kTasks; ++i) ids.push_back(completed_at_gate(f, gate_with(verify)));
  server.kill9();  // the verifiers' creation may be in flight
  server.restart();
  f.c = server.client();
  std::map<std::string, int> verifiers;  // verified task -> its verifiers
  std::vector<Response> claimed;
  for (;;) {
    Response r = f.c.claim(f.key, js({{"type", verify}, {"wait_seconds", 2}}));
    BATON_REQUIRE_STATUS(r, 200);
    if (r.task_is_null()) break;
    ++verifiers[r.task_str("verifiesTaskId")];
    claimed.push_back(r);
  }
  BOOST_TEST(verifiers.size() == static_cast<std::size_t>(kTasks));
  for (const auto& [id, count] : verifiers) BOOST_TEST(count == 1, id);
  // Verdicts answered just before a second kill land after the restart.
  for (const Response& v : claimed) {
    BATON_REQUIRE_STATUS(f.c.complete(f.key, v.task_id(), js({{"lease_token", v.task_str("leaseToken")},
                                                                {"result", {{"passed", true}}}})),
                         200);
  }
  server.kill9();
  server.restart();
  f.c = server.client();
  for (const std::string& id : ids) {
    BOOST_TEST(poll_until([&] { return verification_state(f, id) == "passed"; }, 5s, 10ms), id);
  }
}

BOOST_AUTO_TEST_CASE(accept_and_rework_work_as_mcp_tools) {
  Fresh f;
  McpSession mcp(f.server, f.key);
  std::string id = completed_at_gate(f, {{"definition_of_done", "x"}});
  json::object rework = mcp.call("rework_task", {{"task_id", id}, {"feedback", "again"}});
  BOOST_TEST(rework.at("structuredContent").at("task").at("status").as_string() == "pending", js(rework));
  Response claim = f.c.claim_id(f.key, id, "{}");
  BATON_REQUIRE_STATUS(f.c.complete(f.key, id, js({{"lease_token", claim.task_str("leaseToken")}})), 200);
  json::object accepted = mcp.call("accept_task", {{"task_id", id}});
  BOOST_TEST(accepted.at("structuredContent").at("task").at("status").as_string() == "completed", js(accepted));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(roster)

namespace {

const json::object* worker_row(const Response& r, std::string_view worker) {
  for (const json::value& row : r.obj().at("workers").as_array()) {
    if (row.at("worker_id").as_string() == worker) return &row.as_object();
  }
  return nullptr;
}

const json::object& type_row(const json::object& worker, std::string_view type) {
  for (const json::value& row : worker.at("types").as_array()) {
    if (row.at("type").as_string() == type) return row.as_object();
  }
  throw std::runtime_error("no type " + std::string(type) + " in " + js(worker));
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_roster_counts_a_known_workload_and_keeps_it_across_a_restart) {
  TestServer server(ServerOptions{}.with("leases.min_seconds", "1"));
  Fresh f(server);
  std::string code = f.type_n(0), docs = f.type_n(1);
  // alice: completes two code tasks, one of them reviewed and approved; one docs task.
  // bob: fails one code task and lets another's lease expire; holds one live lease.
  auto take = [&](const std::string& type, const std::string& worker, const json::object& extra = {}) {
    f.create(extra, type == code ? 0 : 1);
    Response r = f.c.claim(f.key, js({{"type", type}, {"worker_id", worker}}));
    BOOST_REQUIRE_MESSAGE(r.status == 200 && !r.task_is_null(), r.describe());
    return r;
  };
  auto complete = [&](const Response& claim) {
    BATON_REQUIRE_STATUS(f.c.complete(f.key, claim.task_id(), js({{"lease_token", claim.task_str("leaseToken")}})), 200);
  };
  complete(take(code, "alice"));
  Response reviewed = take(code, "alice", {{"review", {{"required", true}}}});
  complete(reviewed);
  BATON_REQUIRE_STATUS(f.review(reviewed.task_id(), {{"decision", "approve"}}), 200);
  complete(take(docs, "alice"));
  Response failing = take(code, "bob");
  BATON_REQUIRE_STATUS(f.c.fail(f.key, failing.task_id(), js({{"lease_token", failing.task_str("leaseToken")},
                                                              {"retryable", false}})), 200);
  f.create({{"leaseDurationSeconds", 1}}, 0);
  Response expiring = f.c.claim(f.key, js({{"type", code}, {"worker_id", "bob"}}));
  BOOST_REQUIRE(!expiring.task_is_null());
  BOOST_TEST(f.becomes(expiring.task_id(), "pending"));
  take(docs, "bob");  // held

  auto check = [&](const Response& r) {
    BATON_REQUIRE_STATUS(r, 200);
    BATON_CHECK_CONTRACT(r.contract());
    const json::object* alice = worker_row(r, "alice");
    const json::object* bob = worker_row(r, "bob");
    BOOST_REQUIRE(alice);
    BOOST_REQUIRE(bob);
    const json::object& alice_code = type_row(*alice, code);
    BOOST_TEST(alice_code.at("claims").as_int64() == 2);
    BOOST_TEST(alice_code.at("completed").as_int64() == 2);
    BOOST_TEST(alice_code.at("accepted").as_int64() == 1);
    BOOST_TEST(type_row(*alice, docs).at("completed").as_int64() == 1);
    BOOST_TEST(alice->at("types_claimed").as_array().size() == 2u);
    const json::object& bob_code = type_row(*bob, code);
    BOOST_TEST(bob_code.at("claims").as_int64() == 2);
    BOOST_TEST(bob_code.at("failed").as_int64() == 1);
    BOOST_TEST(bob_code.at("expired").as_int64() == 1);
    BOOST_TEST(bob_code.at("completed").as_int64() == 0);
    BOOST_TEST(bob->at("live_leases").as_int64() == 1);
    BOOST_TEST(alice->at("live_leases").as_int64() == 0);
    // The better worker ranks first.
    BOOST_TEST(alice->at("rank").as_int64() > bob->at("rank").as_int64());
    BOOST_TEST(r.obj().at("workers").as_array()[0].at("worker_id").as_string() == "alice");
  };
  check(f.c.get("/v1/workers", f.key));
  std::this_thread::sleep_for(2500ms);  // the counts are written once a second
  server.kill9();
  server.restart();
  f.c = server.client();
  check(f.c.get("/v1/workers?days=1", f.key));
  McpSession mcp(server, f.key);
  json::object listed = mcp.call("list_workers", {{"days", 30}});
  BOOST_TEST(listed.at("structuredContent").at("workers").as_array().size() == 2u, js(listed));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(assignment)

BOOST_AUTO_TEST_CASE(a_task_assigned_to_a_worker_is_claimable_by_that_worker_only) {
  Fresh f;
  std::string id = f.create({{"assign_to", "w-7"}}, 0);
  BOOST_TEST(f.read(id).at("assignTo").as_string() == "w-7");
  BOOST_TEST(f.c.claim(f.key, js({{"type", f.type_n(0)}, {"worker_id", "w-8"}})).task_is_null());
  BOOST_TEST(f.c.claim(f.key, js({{"worker_id", "w-8"}})).task_is_null());  // any type
  BOOST_TEST(f.c.claim(f.key, js({{"type", f.type_n(0)}})).task_is_null());  // no worker
  BATON_CHECK_ERROR(f.c.claim_id(f.key, id, js({{"worker_id", "w-8"}})), "task_assigned");
  Response mine = f.c.claim(f.key, js({{"type", f.type_n(0)}, {"worker_id", "w-7"}}));
  BOOST_TEST(mine.task_id() == id);
  // A typeless claim of the worker finds its assigned tasks too.
  std::string other = f.create({{"assign_to", "w-7"}}, 1);
  BOOST_TEST(f.c.claim(f.key, js({{"worker_id", "w-7"}})).task_id() == other);
}

BOOST_AUTO_TEST_CASE(a_long_poll_is_woken_by_a_task_assigned_to_its_worker_only) {
  Fresh f;
  auto poll = [&](const std::string& worker) {
    return std::async(std::launch::async, [&f, worker] {
      Client c = f.server.client();
      return c.claim(f.key, js({{"type", f.type_n(0)}, {"worker_id", worker}, {"wait_seconds", 2}}));
    });
  };
  auto other = poll("w-8");
  auto mine = poll("w-7");
  std::this_thread::sleep_for(300ms);
  std::string id = f.create({{"assign_to", "w-7"}}, 0);
  Response got = mine.get();
  BOOST_TEST(got.task_id() == id);
  BOOST_TEST(other.get().task_is_null());
}

BOOST_AUTO_TEST_CASE(assign_best_holds_the_task_for_the_best_ranked_worker_then_for_anyone) {
  Fresh f;
  std::string type = f.type_n(0);
  // alice completes two tasks; bob fails two.
  for (const char* worker : {"alice", "alice", "bob", "bob"}) {
    f.create({{"maxAttempts", 1}}, 0);
    Response r = f.c.claim(f.key, js({{"type", type}, {"worker_id", worker}}));
    BOOST_REQUIRE(!r.task_is_null());
    if (std::string(worker) == "alice") {
      BATON_REQUIRE_STATUS(f.c.complete(f.key, r.task_id(), js({{"lease_token", r.task_str("leaseToken")}})), 200);
    } else {
      BATON_REQUIRE_STATUS(f.c.fail(f.key, r.task_id(), js({{"lease_token", r.task_str("leaseToken")}})), 200);
    }
  }
  std::string id = f.create({{"assign", "best"}, {"assign_timeout_seconds", 3}}, 0);
  json::object task = f.read(id);
  BOOST_TEST(task.at("assignTo").as_string() == "alice");
  BOOST_TEST(!field_is_null(task, "assignedUntil"));
  BOOST_TEST(f.c.claim(f.key, js({{"type", type}, {"worker_id", "bob"}})).task_is_null());
  // After the timeout anyone may claim it; a long poll started before is woken.
  Response late = f.c.claim(f.key, js({{"type", type}, {"worker_id", "bob"}, {"wait_seconds", 8}}));
  BOOST_TEST(late.task_id() == id);
  // With no worker seen for a type, the task is nobody's in particular.
  std::string open = f.create({{"assign", "best"}}, 5);
  BOOST_TEST(!f.read(open).contains("assignTo"));
}

BOOST_AUTO_TEST_CASE(an_assignment_survives_kill_9) {
  TestServer server;
  Fresh f(server);
  std::string id = f.create({{"assign_to", "w-7"}}, 0);
  server.kill9();
  server.restart();
  f.c = server.client();
  BOOST_TEST(f.c.claim(f.key, js({{"type", f.type_n(0)}, {"worker_id", "w-8"}})).task_is_null());
  BOOST_TEST(f.c.claim(f.key, js({{"type", f.type_n(0)}, {"worker_id", "w-7"}})).task_id() == id);
}

BOOST_AUTO_TEST_SUITE_END()
