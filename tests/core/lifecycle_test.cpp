#define BOOST_TEST_MODULE lifecycle
#include <boost/test/unit_test.hpp>

#include "support/task_diff.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/lifecycle.hpp"
#include "core/lifecycle_history.hpp"
#include "core/task.hpp"

// The lifecycle rules of spec section 4, checked state by state and command by command.
// Every expectation below is written out by hand from the spec; none is computed by the
// logic under test.

using namespace baton;
using baton::test::task_diff;

namespace baton {
std::ostream& operator<<(std::ostream& out, TaskStatus status) { return out << to_string(status); }
std::ostream& operator<<(std::ostream& out, Verification v) { return out << to_string(v); }
}  // namespace baton

namespace {

constexpr Millis kNow = 1'767'225'600'000;  // 2026-01-01T00:00:00.000Z
constexpr Millis kCreated = kNow - 60'000;
constexpr Millis kLastUpdate = kNow - 30'000;
const std::string kLiveToken = "lse_live";    // the token of the task's latest claim
const std::string kStaleToken = "lse_stale";  // a token of some earlier, superseded claim
const std::string kNewToken = "lse_new";      // the token a fresh claim hands out


TransitionContext ctx_at(Millis now, double jitter = 1.0) {
  TransitionContext ctx;
  ctx.now = now;
  ctx.backoff = BackoffPolicy{2, 300};
  ctx.jitter = jitter;
  return ctx;
}

// The event a transition at kNow adds to the history.
TaskEvent event_at_now(TaskEventKind kind, TaskStatus from, TaskStatus to, int attempt,
                       std::string worker = {}, std::string detail = {}) {
  return TaskEvent{kNow, kind, from, to, attempt, std::move(worker), std::move(detail)};
}

Task base_task() {
  Task t;
  t.id = "tsk_01KDXK4M000000000000000000";
  t.account_id = "acct_01KDXK4M000000000000000000";
  t.type = "process_document";
  t.payload_json = R"({"doc":"a.pdf"})";
  t.priority = 7;
  t.max_attempts = 3;
  t.attempt_count = 0;
  t.lease_duration_seconds = 300;
  t.created_at = kCreated;
  t.updated_at = kLastUpdate;
  return t;
}

// ---- The states of the matrix -------------------------------------------------------

Task pending_due() { return base_task(); }

Task pending_scheduled_later() {
  Task t = base_task();
  t.scheduled_at = kNow + 10'500;  // 10.5 s ahead
  return t;
}

// Claimed once, the claim ended (lease expiry or a retryable fail), waiting for the next.
Task pending_previously_claimed() {
  Task t = base_task();
  t.attempt_count = 1;
  t.claimed_by = "w1";
  t.lease_token = kLiveToken;
  t.failure_reason = "lease_expired";
  return t;
}

Task claimed_live() {
  Task t = base_task();
  t.status = TaskStatus::claimed;
  t.attempt_count = 1;
  t.lease_expires_at = kNow + 120'000;
  t.claimed_by = "w1";
  t.lease_token = kLiveToken;
  return t;
}

// leaseExpiresAt has passed but the expiry has not been processed yet.
Task claimed_lease_passed() {
  Task t = claimed_live();
  t.lease_expires_at = kNow - 1'000;
  return t;
}

Task completed() {
  Task t = base_task();
  t.status = TaskStatus::completed;
  t.attempt_count = 1;
  t.claimed_by = "w1";
  t.lease_token = kLiveToken;
  t.result_json = R"({"pages":3})";
  t.output_id = "out-1";
  t.completed_at = kNow - 5'000;
  return t;
}

Task dead_letter() {
  Task t = base_task();
  t.status = TaskStatus::dead_letter;
  t.attempt_count = 3;
  t.claimed_by = "w1";
  t.lease_token = kLiveToken;
  t.failure_reason = "boom";
  return t;
}

// Cancelled while pending and never claimed.
Task cancelled_from_pending() {
  Task t = base_task();
  t.status = TaskStatus::cancelled;
  return t;
}

// Cancelled while pending, after an earlier claim had ended (its token is not "live").
Task cancelled_from_pending_after_claim() {
  Task t = pending_previously_claimed();
  t.status = TaskStatus::cancelled;
  return t;
}

Task cancelled_from_claimed() {
  Task t = claimed_live();
  t.status = TaskStatus::cancelled;
  t.lease_expires_at = 0;
  t.cancelled_live_claim = true;
  return t;
}

// Created with two dependencies, neither finished yet.
const std::string kDep = "tsk_01KDXK4M00000000000000DEP1";
const std::string kDep2 = "tsk_01KDXK4M00000000000000DEP2";
Task blocked_on_two() {
  Task t = base_task();
  t.status = TaskStatus::blocked;
  t.depends_on = {kDep, kDep2};
  t.waiting_on = {kDep, kDep2};
  return t;
}

// kDep2 finished: only kDep is left.
Task blocked_on_last() {
  Task t = blocked_on_two();
  t.waiting_on = {kDep};
  return t;
}

// A claimed task whose completion waits for a reviewer (review: {required: true}).
Task claimed_live_review() {
  Task t = claimed_live();
  t.review_required = true;
  return t;
}

// Completed by the claim with kLiveToken, waiting for the reviewer's decision.
Task awaiting_review() {
  Task t = claimed_live_review();
  t.status = TaskStatus::awaiting_review;
  t.lease_expires_at = 0;
  t.result_json = R"({"pages":3})";
  return t;
}

// Completed by the claim with kLiveToken, held at its acceptance gate while the verifier's
// task kVerifier runs; the gate times out in a minute.
const std::string kVerifier = "tsk_01KDXK4M00000000000000VER1";
Task claimed_live_gate() {
  Task t = claimed_live();
  t.definition_of_done = "the pages are counted";
  t.verification_type = "verify";
  t.acceptance_timeout_seconds = 3600;
  return t;
}

Task awaiting_acceptance() {
  Task t = claimed_live_gate();
  t.status = TaskStatus::awaiting_acceptance;
  t.lease_expires_at = 0;
  t.result_json = R"({"pages":3})";
  t.verification = Verification::pending;
  t.verification_task_id = kVerifier;
  t.acceptance_deadline = kNow + 60'000;
  return t;
}

Task awaiting_acceptance_past_deadline() {
  Task t = awaiting_acceptance();
  t.acceptance_deadline = kNow - 1;
  return t;
}

// ---- The commands of the matrix ----------------------------------------------------

Caller by_token(const std::string& token) { return Caller{token, ""}; }
Caller by_worker(const std::string& worker) { return Caller{"", worker}; }
Caller anonymous() { return Caller{}; }

FailCmd fail_cmd(Caller caller) {
  FailCmd cmd;
  cmd.caller = std::move(caller);
  cmd.reason = "tool crashed";
  cmd.retry_after_seconds = 10;
  return cmd;
}

CompleteCmd complete_cmd(Caller caller) {
  CompleteCmd cmd;
  cmd.caller = std::move(caller);
  cmd.result_json = R"({"ok":true})";
  cmd.output_id = "out-2";
  return cmd;
}

struct NamedCommand {
  const char* name;
  Command command;
};

std::vector<NamedCommand> matrix_commands() {
  return {
      {"claim", ClaimCmd{"w2", kNewToken}},
      {"heartbeat/live token", HeartbeatCmd{by_token(kLiveToken), {}}},
      {"heartbeat/stale token", HeartbeatCmd{by_token(kStaleToken), {}}},
      {"heartbeat/same worker", HeartbeatCmd{by_worker("w1"), {}}},
      {"heartbeat/other worker", HeartbeatCmd{by_worker("w2"), {}}},
      {"heartbeat/neither", HeartbeatCmd{anonymous(), {}}},
      {"complete/live token", complete_cmd(by_token(kLiveToken))},
      {"complete/stale token", complete_cmd(by_token(kStaleToken))},
      {"complete/neither", complete_cmd(anonymous())},
      {"complete/other worker", complete_cmd(by_worker("w2"))},
      {"fail/live token", fail_cmd(by_token(kLiveToken))},
      {"fail/stale token", fail_cmd(by_token(kStaleToken))},
      {"fail/neither", fail_cmd(anonymous())},
      {"cancel", CancelCmd{}},
      {"requeue", RequeueCmd{}},
      {"expire_lease", ExpireLeaseCmd{}},
      {"release/live token", ReleaseCmd{kLiveToken, "", ""}},
      {"release/other token", ReleaseCmd{kStaleToken, "", ""}},
      {"review/approve", ReviewCmd{ReviewDecision::approve, ""}},
      {"review/reject", ReviewCmd{ReviewDecision::reject, "wrong file"}},
      {"review/revise", ReviewCmd{ReviewDecision::revise, "add tests"}},
      {"dependency done/waited on", DependencyDoneCmd{kDep, false}},
      {"dependency failed/waited on", DependencyDoneCmd{kDep, true}},
      {"dependency done/not waited on", DependencyDoneCmd{"tsk_other", false}},
      {"accept", AcceptCmd{}},
      {"rework", ReworkCmd{"more pages"}},
      {"link verification", LinkVerificationCmd{kVerifier}},
      {"verification passed/this one", VerificationDoneCmd{kVerifier, 1, true, "ok"}},
      {"verification passed/another", VerificationDoneCmd{"tsk_old", 1, true, "ok"}},
      {"acceptance timeout", AcceptanceTimeoutCmd{}},
      {"append log/live token", AppendLogCmd{by_token(kLiveToken), LogChange{2, 40, 0, 0}}},
      {"append log/stale token", AppendLogCmd{by_token(kStaleToken), LogChange{2, 40, 0, 0}}},
  };
}
constexpr int kCommands = 32;

constexpr ErrorCode OK = ErrorCode::none;
constexpr ErrorCode IT = ErrorCode::invalid_transition;
constexpr ErrorCode LE = ErrorCode::lease_expired;
constexpr ErrorCode TC = ErrorCode::task_cancelled;
constexpr ErrorCode CC = ErrorCode::task_currently_claimed;
constexpr ErrorCode NY = ErrorCode::not_yet_claimable;

struct MatrixRow {
  const char* state;
  Task (*make)();
  ErrorCode expected[kCommands];
};

// clang-format off
// Columns, in matrix_commands() order:
//  claim | hb: live, stale, same worker, other worker, neither | complete: live, stale, neither,
//  other worker | fail: live, stale, neither | cancel | requeue | expire | release: live, other
//  | review: approve, reject, revise | dependency: done, failed, not waited on
//  | accept | rework | link verification | verification: this one, another | timeout
//  | append log: live, stale (fenced as a heartbeat is)
// A dependency's news for a task that does not wait on it changes nothing (OK, unchanged).
const MatrixRow kMatrix[] = {
    // Rule (5): pending never claimed -> invalid_transition.
    {"pending due", pending_due,
     {OK,  IT, IT, IT, IT, IT,  IT, IT, IT, IT,  IT, IT, IT,  OK, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    {"pending scheduled later", pending_scheduled_later,
     {NY,  IT, IT, IT, IT, IT,  IT, IT, IT, IT,  IT, IT, IT,  OK, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    // Rule (5): pending claimed before -> lease_expired.
    {"pending previously claimed", pending_previously_claimed,
     {OK,  LE, LE, LE, LE, LE,  LE, LE, LE, LE,  LE, LE, LE,  OK, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  LE, LE}},
    // Rule (4) and fencing: stale token / other worker -> lease_expired, neither -> accepted.
    {"claimed live", claimed_live,
     {CC,  OK, LE, OK, LE, OK,  OK, LE, OK, LE,  OK, LE, OK,  OK, IT, CC,  OK, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  OK, LE}},
    {"claimed live, review required", claimed_live_review,
     {CC,  OK, LE, OK, LE, OK,  OK, LE, OK, LE,  OK, LE, OK,  OK, IT, CC,  OK, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  OK, LE}},
    // Rule (4): lease passed, even before expiry is processed -> lease_expired.
    {"claimed lease passed", claimed_lease_passed,
     {CC,  LE, LE, LE, LE, LE,  LE, LE, LE, LE,  LE, LE, LE,  OK, IT, OK,  OK, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  LE, LE}},
    // Rule (1) for complete with the completing token or neither; rule (3) otherwise.
    {"completed", completed,
     {IT,  IT, IT, IT, IT, IT,  OK, IT, OK, IT,  IT, IT, IT,  IT, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    // Rule (3); only requeue acts on a dead letter.
    {"dead_letter", dead_letter,
     {IT,  IT, IT, IT, IT, IT,  IT, IT, IT, IT,  IT, IT, IT,  IT, OK, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    // Rule (2): no token -> task_cancelled; a token that was not live at cancel -> rule (3).
    {"cancelled from pending", cancelled_from_pending,
     {IT,  IT, IT, TC, TC, TC,  IT, IT, TC, TC,  IT, IT, TC,  IT, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    {"cancelled from pending after an ended claim", cancelled_from_pending_after_claim,
     {IT,  IT, IT, TC, TC, TC,  IT, IT, TC, TC,  IT, IT, TC,  IT, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    // Rule (2): the claim live at cancel, or no token -> task_cancelled; another token -> (3).
    {"cancelled from claimed", cancelled_from_claimed,
     {IT,  TC, IT, TC, TC, TC,  TC, IT, TC, TC,  TC, IT, TC,  IT, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  TC, IT}},
    // Blocked: nothing but cancel and its dependencies' news moves it.
    {"blocked on two", blocked_on_two,
     {IT,  IT, IT, IT, IT, IT,  IT, IT, IT, IT,  IT, IT, IT,  OK, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    {"blocked on the last", blocked_on_last,
     {IT,  IT, IT, IT, IT, IT,  IT, IT, IT, IT,  IT, IT, IT,  OK, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    // Awaiting review: the reviewer decides; completing again with the claim is rule (1).
    {"awaiting review", awaiting_review,
     {IT,  IT, IT, IT, IT, IT,  OK, IT, OK, IT,  IT, IT, IT,  OK, IT, IT,  LE, LE,  OK, OK, OK,  OK, OK, OK,  IT, IT, OK, OK, OK, IT,  IT, IT}},
    // Awaiting acceptance: accept, rework, the verifier's verdict or the timeout ends it.
    {"awaiting acceptance", awaiting_acceptance,
     {IT,  IT, IT, IT, IT, IT,  OK, IT, OK, IT,  IT, IT, IT,  OK, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  OK, OK, OK, OK, OK, NY,  IT, IT}},
    {"awaiting acceptance past its deadline", awaiting_acceptance_past_deadline,
     {IT,  IT, IT, IT, IT, IT,  OK, IT, OK, IT,  IT, IT, IT,  OK, IT, IT,  LE, LE,  IT, IT, IT,  OK, OK, OK,  OK, OK, OK, OK, OK, OK,  IT, IT}},
};
// clang-format on

std::string name_of(ErrorCode code) { return std::string(error_info(code).name); }

}  // namespace

BOOST_AUTO_TEST_SUITE(state_command_matrix)

BOOST_AUTO_TEST_CASE(every_state_and_command_gets_the_error_the_spec_says_wins) {
  auto commands = matrix_commands();
  BOOST_REQUIRE_EQUAL(commands.size(), static_cast<std::size_t>(kCommands));
  for (const MatrixRow& row : kMatrix) {
    for (int c = 0; c < kCommands; ++c) {
      Task input = row.make();
      Transition t = apply(input, commands[c].command, ctx_at(kNow));
      BOOST_TEST_CONTEXT(row.state << " x " << commands[c].name) {
        BOOST_TEST(name_of(t.error) == name_of(row.expected[c]));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_rejected_command_leaves_the_task_exactly_as_it_was) {
  auto commands = matrix_commands();
  for (const MatrixRow& row : kMatrix) {
    for (int c = 0; c < kCommands; ++c) {
      Task input = row.make();
      Transition t = apply(input, commands[c].command, ctx_at(kNow));
      if (t.ok()) continue;
      BOOST_TEST_CONTEXT(row.state << " x " << commands[c].name) {
        BOOST_TEST(task_diff(t.task, input) == "");
        BOOST_TEST(!t.unchanged);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_accepted_command_other_than_a_safe_recomplete_stamps_updated_at) {
  auto commands = matrix_commands();
  for (const MatrixRow& row : kMatrix) {
    for (int c = 0; c < kCommands; ++c) {
      Task input = row.make();
      Transition t = apply(input, commands[c].command, ctx_at(kNow));
      if (!t.ok() || t.unchanged) continue;
      BOOST_TEST_CONTEXT(row.state << " x " << commands[c].name) {
        BOOST_TEST(t.task.updated_at == kNow);
        BOOST_TEST(t.task.id == input.id);
        BOOST_TEST(t.task.created_at == input.created_at);
        BOOST_TEST(t.task.payload_json == input.payload_json);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Claim ---------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(claim)

BOOST_AUTO_TEST_CASE(claim_of_due_pending_task_takes_a_lease) {
  Task input = pending_due();
  Transition t = apply(input, ClaimCmd{"agent-7", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(!t.unchanged);
  BOOST_TEST(t.task.status == TaskStatus::claimed);
  BOOST_TEST(t.task.attempt_count == 1);
  BOOST_TEST(t.task.lease_expires_at == kNow + 300'000);
  BOOST_TEST(t.task.claimed_by == "agent-7");
  BOOST_TEST(t.task.lease_token == kNewToken);
  BOOST_TEST(t.task.updated_at == kNow);
  BOOST_TEST(t.task.scheduled_at == 0);
  BOOST_TEST(t.task.completed_at == 0);
  BOOST_TEST(!t.task.cancelled_live_claim);
  BOOST_TEST(!t.task.failure_reason.has_value());
}

BOOST_AUTO_TEST_CASE(claim_uses_the_task_lease_duration) {
  Task input = pending_due();
  input.lease_duration_seconds = 30;
  Transition t = apply(input, ClaimCmd{"w", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.lease_expires_at == kNow + 30'000);
}

BOOST_AUTO_TEST_CASE(claim_without_worker_id_leaves_claimed_by_empty) {
  Transition t = apply(pending_due(), ClaimCmd{"", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.claimed_by == "");
  BOOST_TEST(t.task.lease_token == kNewToken);
}

BOOST_AUTO_TEST_CASE(reclaim_increments_attempt_count_and_replaces_token_and_worker) {
  Task input = pending_previously_claimed();
  Transition t = apply(input, ClaimCmd{"w2", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::claimed);
  BOOST_TEST(t.task.attempt_count == 2);
  BOOST_TEST(t.task.lease_token == kNewToken);
  BOOST_TEST(t.task.claimed_by == "w2");
  BOOST_TEST(t.task.lease_expires_at == kNow + 300'000);
}

BOOST_AUTO_TEST_CASE(claim_of_task_scheduled_exactly_now_is_accepted) {
  Task input = pending_due();
  input.scheduled_at = kNow;
  BOOST_TEST(is_claimable(input, kNow));
  Transition t = apply(input, ClaimCmd{"w", kNewToken}, ctx_at(kNow));
  BOOST_TEST(t.ok());
  BOOST_TEST(t.task.scheduled_at == kNow);
}

BOOST_AUTO_TEST_CASE(claim_of_task_scheduled_in_the_past_is_accepted) {
  Task input = pending_due();
  input.scheduled_at = kNow - 1;
  Transition t = apply(input, ClaimCmd{"w", kNewToken}, ctx_at(kNow));
  BOOST_TEST(t.ok());
}

BOOST_AUTO_TEST_CASE(claim_of_future_task_is_not_yet_claimable_with_seconds_until_due) {
  Task input = pending_scheduled_later();  // due in 10.5 s
  Transition t = apply(input, ClaimCmd{"w", kNewToken}, ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "not_yet_claimable");
  BOOST_TEST(t.retry_after_seconds == 11);  // rounded up, never 0
  BOOST_TEST(task_diff(t.task, input) == "");

  input.scheduled_at = kNow + 1;
  t = apply(input, ClaimCmd{"w", kNewToken}, ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "not_yet_claimable");
  BOOST_TEST(t.retry_after_seconds == 1);
}

BOOST_AUTO_TEST_CASE(claim_of_held_task_is_currently_claimed_until_the_lease_ends) {
  Task input = claimed_live();  // lease ends in 120 s
  Transition t = apply(input, ClaimCmd{"w2", kNewToken}, ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "task_currently_claimed");
  BOOST_TEST(t.retry_after_seconds == 120);
  BOOST_TEST(task_diff(t.task, input) == "");
}

BOOST_AUTO_TEST_CASE(claim_of_task_whose_lease_passed_unprocessed_asks_to_retry_shortly) {
  Transition t = apply(claimed_lease_passed(), ClaimCmd{"w2", kNewToken}, ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "task_currently_claimed");
  BOOST_TEST(t.retry_after_seconds >= 1);
  BOOST_TEST(t.retry_after_seconds <= 1);
}

BOOST_AUTO_TEST_CASE(claim_of_terminal_task_is_invalid_transition) {
  for (Task input : {completed(), dead_letter(), cancelled_from_pending(), cancelled_from_claimed()}) {
    Transition t = apply(input, ClaimCmd{"w2", kNewToken}, ctx_at(kNow));
    BOOST_TEST_CONTEXT(to_string(input.status)) {
      BOOST_TEST(name_of(t.error) == "invalid_transition");
      BOOST_TEST(task_diff(t.task, input) == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(is_claimable_only_for_pending_and_due) {
  BOOST_TEST(is_claimable(pending_due(), kNow));
  BOOST_TEST(is_claimable(pending_previously_claimed(), kNow));
  BOOST_TEST(!is_claimable(pending_scheduled_later(), kNow));
  BOOST_TEST(is_claimable(pending_scheduled_later(), kNow + 10'500));
  BOOST_TEST(!is_claimable(claimed_live(), kNow));
  BOOST_TEST(!is_claimable(claimed_lease_passed(), kNow));
  BOOST_TEST(!is_claimable(completed(), kNow));
  BOOST_TEST(!is_claimable(dead_letter(), kNow));
  BOOST_TEST(!is_claimable(cancelled_from_pending(), kNow));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Heartbeat -----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(heartbeat)

BOOST_AUTO_TEST_CASE(heartbeat_extends_the_lease_from_now) {
  Task input = claimed_live();
  Millis later = kNow + 100'000;
  Transition t = apply(input, HeartbeatCmd{by_token(kLiveToken), {}}, ctx_at(later));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.lease_expires_at == later + 300'000);
  BOOST_TEST(t.task.updated_at == later);
  BOOST_TEST(t.task.status == TaskStatus::claimed);
  BOOST_TEST(t.task.attempt_count == 1);
  BOOST_TEST(t.task.lease_token == kLiveToken);
  BOOST_TEST(t.task.claimed_by == "w1");
  // Nothing but the lease and updatedAt changes.
  Task expected = input;
  expected.lease_expires_at = later + 300'000;
  expected.updated_at = later;
  BOOST_TEST(task_diff(t.task, expected) == "");
}

BOOST_AUTO_TEST_CASE(heartbeat_one_millisecond_before_expiry_is_accepted) {
  Task input = claimed_live();
  Transition t = apply(input, HeartbeatCmd{by_token(kLiveToken), {}},
                       ctx_at(input.lease_expires_at - 1));
  BOOST_TEST(t.ok());
}

BOOST_AUTO_TEST_CASE(heartbeat_after_lease_passed_is_lease_expired_even_before_expiry_runs) {
  Task input = claimed_live();
  Transition t = apply(input, HeartbeatCmd{by_token(kLiveToken), {}},
                       ctx_at(input.lease_expires_at + 1));
  BOOST_TEST(name_of(t.error) == "lease_expired");
  BOOST_TEST(task_diff(t.task, input) == "");
}

BOOST_AUTO_TEST_CASE(at_the_expiry_instant_heartbeat_and_expiry_timer_agree_the_lease_is_over) {
  Task input = claimed_live();
  Millis at = input.lease_expires_at;
  Transition hb = apply(input, HeartbeatCmd{by_token(kLiveToken), {}}, ctx_at(at));
  Transition expire = apply(input, ExpireLeaseCmd{}, ctx_at(at));
  BOOST_TEST(name_of(hb.error) == "lease_expired");
  BOOST_TEST(expire.ok());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Fencing -------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(fencing)

BOOST_AUTO_TEST_CASE(stale_token_is_lease_expired_for_heartbeat_complete_and_fail) {
  Task input = claimed_live();
  Command commands[] = {HeartbeatCmd{by_token(kStaleToken), {}}, complete_cmd(by_token(kStaleToken)),
                        fail_cmd(by_token(kStaleToken))};
  for (const Command& command : commands) {
    Transition t = apply(input, command, ctx_at(kNow));
    BOOST_TEST(name_of(t.error) == "lease_expired");
    BOOST_TEST(task_diff(t.task, input) == "");
  }
}

BOOST_AUTO_TEST_CASE(other_worker_id_without_token_is_lease_expired) {
  Task input = claimed_live();  // claimed by w1
  Command commands[] = {HeartbeatCmd{by_worker("w2"), {}}, complete_cmd(by_worker("w2")),
                        fail_cmd(by_worker("w2"))};
  for (const Command& command : commands) {
    Transition t = apply(input, command, ctx_at(kNow));
    BOOST_TEST(name_of(t.error) == "lease_expired");
    BOOST_TEST(task_diff(t.task, input) == "");
  }
}

BOOST_AUTO_TEST_CASE(request_with_neither_token_nor_worker_is_accepted_against_the_live_lease) {
  Task input = claimed_live();
  BOOST_TEST(apply(input, HeartbeatCmd{anonymous(), {}}, ctx_at(kNow)).ok());
  BOOST_TEST(apply(input, complete_cmd(anonymous()), ctx_at(kNow)).ok());
  BOOST_TEST(apply(input, fail_cmd(anonymous()), ctx_at(kNow)).ok());
}

BOOST_AUTO_TEST_CASE(the_claiming_worker_id_without_token_is_accepted) {
  Task input = claimed_live();
  BOOST_TEST(apply(input, HeartbeatCmd{by_worker("w1"), {}}, ctx_at(kNow)).ok());
  BOOST_TEST(apply(input, complete_cmd(by_worker("w1")), ctx_at(kNow)).ok());
  BOOST_TEST(apply(input, fail_cmd(by_worker("w1")), ctx_at(kNow)).ok());
}

BOOST_AUTO_TEST_CASE(a_stale_token_is_rejected_even_with_the_current_worker_id) {
  Task input = claimed_live();
  Transition t = apply(input, HeartbeatCmd{Caller{kStaleToken, "w1"}, {}}, ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "lease_expired");
}

BOOST_AUTO_TEST_CASE(the_live_token_is_accepted_whatever_worker_id_comes_with_it) {
  Task input = claimed_live();
  Transition t = apply(input, HeartbeatCmd{Caller{kLiveToken, "w1"}, {}}, ctx_at(kNow));
  BOOST_TEST(t.ok());
}

BOOST_AUTO_TEST_CASE(stale_worker_can_never_touch_a_task_reclaimed_by_someone_else) {
  // A claims, its lease expires, B claims; A comes back.
  Task t0 = pending_due();
  Transition a = apply(t0, ClaimCmd{"A", "lse_a"}, ctx_at(kNow));
  BOOST_REQUIRE(a.ok());
  Millis after = a.task.lease_expires_at;
  Transition expired = apply(a.task, ExpireLeaseCmd{}, ctx_at(after));
  BOOST_REQUIRE(expired.ok());
  BOOST_TEST(expired.task.status == TaskStatus::pending);
  Transition b = apply(expired.task, ClaimCmd{"B", "lse_b"}, ctx_at(after + 10));
  BOOST_REQUIRE(b.ok());
  Task held = b.task;

  for (Caller stale : {by_token("lse_a"), by_worker("A"), Caller{"lse_a", "A"}}) {
    Command commands[] = {HeartbeatCmd{stale, {}}, complete_cmd(stale), fail_cmd(stale)};
    for (const Command& command : commands) {
      Transition t = apply(held, command, ctx_at(after + 20));
      BOOST_TEST(name_of(t.error) == "lease_expired");
      BOOST_TEST(task_diff(t.task, held) == "");
    }
  }
  BOOST_TEST(apply(held, complete_cmd(by_token("lse_b")), ctx_at(after + 20)).ok());
}

BOOST_AUTO_TEST_CASE(stale_worker_id_is_fenced_off_a_task_reclaimed_without_worker_id) {
  // A claims with worker_id "A"; its lease expires; an Orchestrion client claims with no
  // worker_id. A comes back sending only its worker_id: "A" differs from claimedBy (null),
  // and A's claim is no longer current -> lease_expired (spec 4, rule (4) and Fencing).
  Transition a = apply(pending_due(), ClaimCmd{"A", "lse_a"}, ctx_at(kNow));
  BOOST_REQUIRE(a.ok());
  Millis after = a.task.lease_expires_at;
  Transition expired = apply(a.task, ExpireLeaseCmd{}, ctx_at(after));
  BOOST_REQUIRE(expired.ok());
  Transition anonymous_claim = apply(expired.task, ClaimCmd{"", "lse_b"}, ctx_at(after + 10));
  BOOST_REQUIRE(anonymous_claim.ok());
  Task held = anonymous_claim.task;
  Command commands[] = {HeartbeatCmd{by_worker("A"), {}}, complete_cmd(by_worker("A")),
                        fail_cmd(by_worker("A"))};
  for (const Command& command : commands) {
    Transition t = apply(held, command, ctx_at(after + 20));
    BOOST_TEST(name_of(t.error) == "lease_expired");
    BOOST_TEST(task_diff(t.task, held) == "");
  }
}

BOOST_AUTO_TEST_CASE(recomplete_by_a_worker_that_did_not_complete_is_invalid_transition) {
  // Completed by a claim that sent no worker_id: another worker's complete is not the
  // completing one (rule (1) needs the completing token or worker, or neither) -> rule (3).
  Task done = completed();
  done.claimed_by = "";
  Transition t = apply(done, complete_cmd(by_worker("w9")), ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "invalid_transition");
  BOOST_TEST(task_diff(t.task, done) == "");
}

BOOST_AUTO_TEST_CASE(the_worker_of_an_ended_claim_gets_lease_expired_on_the_pending_task) {
  Task t0 = claimed_live();
  Transition failed = apply(t0, fail_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(failed.ok());
  BOOST_REQUIRE(failed.task.status == TaskStatus::pending);
  Transition hb = apply(failed.task, HeartbeatCmd{by_token(kLiveToken), {}}, ctx_at(kNow + 1));
  BOOST_TEST(name_of(hb.error) == "lease_expired");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Complete ------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(complete)

BOOST_AUTO_TEST_CASE(complete_of_live_claim_sets_result_output_and_completed_at) {
  Task input = claimed_live();
  Millis at = kNow + 5'000;
  Transition t = apply(input, complete_cmd(by_token(kLiveToken)), ctx_at(at));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(!t.unchanged);
  BOOST_TEST(t.task.status == TaskStatus::completed);
  BOOST_TEST(t.task.lease_expires_at == 0);
  BOOST_TEST(t.task.result_json.value_or("<none>") == R"({"ok":true})");
  BOOST_TEST(t.task.output_id.value_or("<none>") == "out-2");
  BOOST_TEST(t.task.completed_at == at);
  BOOST_TEST(t.task.updated_at == at);
  BOOST_TEST(t.task.attempt_count == 1);
  BOOST_TEST(t.task.claimed_by == "w1");
  BOOST_TEST(t.task.scheduled_at == 0);
  BOOST_TEST(!t.task.failure_reason.has_value());
  BOOST_TEST(!t.task.cancelled_live_claim);
}

BOOST_AUTO_TEST_CASE(complete_without_result_leaves_result_and_output_null) {
  CompleteCmd cmd;
  cmd.caller = by_token(kLiveToken);
  Transition t = apply(claimed_live(), cmd, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::completed);
  BOOST_TEST(!t.task.result_json.has_value());
  BOOST_TEST(!t.task.output_id.has_value());
}

BOOST_AUTO_TEST_CASE(complete_twice_with_the_same_token_returns_ok_and_changes_nothing) {
  Transition first = apply(claimed_live(), complete_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(first.ok());
  Task done = first.task;
  CompleteCmd again = complete_cmd(by_token(kLiveToken));
  again.result_json = R"({"different":1})";  // a retry cannot rewrite the result
  again.output_id = "other";
  Transition second = apply(done, again, ctx_at(kNow + 60'000));
  BOOST_TEST(second.ok());
  BOOST_TEST(second.unchanged);
  BOOST_TEST(task_diff(second.task, done) == "");
  BOOST_TEST(second.task.updated_at == kNow);
  BOOST_TEST(second.task.result_json.value_or("") == R"({"ok":true})");
}

BOOST_AUTO_TEST_CASE(complete_of_completed_task_with_neither_token_nor_worker_is_the_same_200) {
  Task done = completed();
  Transition t = apply(done, complete_cmd(anonymous()), ctx_at(kNow));
  BOOST_TEST(t.ok());
  BOOST_TEST(t.unchanged);
  BOOST_TEST(task_diff(t.task, done) == "");
}

BOOST_AUTO_TEST_CASE(complete_of_completed_task_by_the_completing_worker_is_the_same_200) {
  Task done = completed();  // claimed_by w1
  Transition t = apply(done, complete_cmd(by_worker("w1")), ctx_at(kNow));
  BOOST_TEST(t.ok());
  BOOST_TEST(t.unchanged);
  BOOST_TEST(task_diff(t.task, done) == "");
}

BOOST_AUTO_TEST_CASE(complete_of_completed_task_with_a_different_token_is_invalid_transition) {
  Task done = completed();
  Transition t = apply(done, complete_cmd(by_token(kStaleToken)), ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "invalid_transition");
  BOOST_TEST(!t.unchanged);
  BOOST_TEST(task_diff(t.task, done) == "");
}

BOOST_AUTO_TEST_CASE(complete_of_completed_task_by_another_worker_is_invalid_transition) {
  Task done = completed();
  Transition t = apply(done, complete_cmd(by_worker("w2")), ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "invalid_transition");
  BOOST_TEST(task_diff(t.task, done) == "");
}

BOOST_AUTO_TEST_CASE(heartbeat_or_fail_of_completed_task_with_its_token_is_invalid_transition) {
  Task done = completed();
  BOOST_TEST(name_of(apply(done, HeartbeatCmd{by_token(kLiveToken), {}}, ctx_at(kNow)).error) ==
             "invalid_transition");
  BOOST_TEST(name_of(apply(done, fail_cmd(by_token(kLiveToken)), ctx_at(kNow)).error) ==
             "invalid_transition");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Fail ----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(fail)

BOOST_AUTO_TEST_CASE(fail_with_attempts_left_returns_to_pending_after_retry_after_seconds) {
  Task input = claimed_live();  // attempt 1 of 3
  FailCmd cmd = fail_cmd(by_token(kLiveToken));
  cmd.retry_after_seconds = 10;
  Transition t = apply(input, cmd, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::pending);
  BOOST_TEST(t.task.scheduled_at == kNow + 10'000);
  BOOST_TEST(t.task.failure_reason.value_or("<none>") == "tool crashed");
  BOOST_TEST(t.task.lease_expires_at == 0);
  BOOST_TEST(t.task.attempt_count == 1);
  BOOST_TEST(t.task.updated_at == kNow);
  BOOST_TEST(t.task.completed_at == 0);
  BOOST_TEST(!t.task.result_json.has_value());
  BOOST_TEST(!is_claimable(t.task, kNow + 9'999));
  BOOST_TEST(is_claimable(t.task, kNow + 10'000));
}

BOOST_AUTO_TEST_CASE(fail_with_retry_after_zero_is_claimable_at_once) {
  FailCmd cmd = fail_cmd(by_token(kLiveToken));
  cmd.retry_after_seconds = 0;
  Transition t = apply(claimed_live(), cmd, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::pending);
  BOOST_TEST(t.task.scheduled_at <= kNow);
  BOOST_TEST(is_claimable(t.task, kNow));
}

BOOST_AUTO_TEST_CASE(fail_of_the_last_attempt_dead_letters) {
  Task input = claimed_live();
  input.attempt_count = 3;  // of 3
  Transition t = apply(input, fail_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::dead_letter);
  BOOST_TEST(t.task.failure_reason.value_or("<none>") == "tool crashed");
  BOOST_TEST(t.task.lease_expires_at == 0);
  BOOST_TEST(t.task.attempt_count == 3);
  BOOST_TEST(t.task.updated_at == kNow);
  BOOST_TEST(t.task.completed_at == 0);
}

BOOST_AUTO_TEST_CASE(fail_with_max_attempts_one_dead_letters_on_first_failure) {
  Task input = claimed_live();
  input.max_attempts = 1;
  Transition t = apply(input, fail_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::dead_letter);
}

BOOST_AUTO_TEST_CASE(fail_with_retryable_false_dead_letters_even_with_attempts_left) {
  FailCmd cmd = fail_cmd(by_token(kLiveToken));
  cmd.retryable = false;
  Transition t = apply(claimed_live(), cmd, ctx_at(kNow));  // attempt 1 of 3
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::dead_letter);
  BOOST_TEST(t.task.failure_reason.value_or("<none>") == "tool crashed");
  BOOST_TEST(t.task.lease_expires_at == 0);
}

BOOST_AUTO_TEST_CASE(fail_without_retry_after_uses_the_default_backoff) {
  // Policy base 2 s, cap 300 s, no jitter: attempt n waits 2 * 2^(n-1) s.
  struct Case {
    int attempt;
    int seconds;
  } cases[] = {{1, 2}, {2, 4}, {3, 8}};
  for (Case c : cases) {
    Task input = claimed_live();
    input.attempt_count = c.attempt;
    input.max_attempts = 10;
    FailCmd cmd = fail_cmd(by_token(kLiveToken));
    cmd.retry_after_seconds = std::nullopt;
    Transition t = apply(input, cmd, ctx_at(kNow, 1.0));
    BOOST_REQUIRE(t.ok());
    BOOST_TEST(t.task.status == TaskStatus::pending);
    BOOST_TEST(t.task.scheduled_at == kNow + c.seconds * 1000LL);
  }
}

BOOST_AUTO_TEST_CASE(fail_default_backoff_applies_the_context_jitter) {
  Task input = claimed_live();
  input.attempt_count = 3;
  input.max_attempts = 10;
  FailCmd cmd = fail_cmd(by_token(kLiveToken));
  cmd.retry_after_seconds = std::nullopt;
  Transition t = apply(input, cmd, ctx_at(kNow, 0.5));  // 8 s * 0.5
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.scheduled_at == kNow + 4'000);
}

BOOST_AUTO_TEST_CASE(fail_without_reason_clears_the_previous_failure_reason) {
  Task input = claimed_live();
  input.failure_reason = "lease_expired";
  FailCmd cmd;
  cmd.caller = by_token(kLiveToken);
  cmd.retry_after_seconds = 5;
  Transition t = apply(input, cmd, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(!t.task.failure_reason.has_value());
}

BOOST_AUTO_TEST_CASE(fail_after_the_lease_passed_is_lease_expired_and_changes_nothing) {
  Task input = claimed_lease_passed();
  Transition t = apply(input, fail_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "lease_expired");
  BOOST_TEST(task_diff(t.task, input) == "");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Cancel, requeue -----------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(cancel_and_requeue)

BOOST_AUTO_TEST_CASE(cancel_of_pending_task_is_cancelled_without_live_claim) {
  for (Task input : {pending_due(), pending_scheduled_later(), pending_previously_claimed()}) {
    Transition t = apply(input, CancelCmd{}, ctx_at(kNow));
    BOOST_REQUIRE(t.ok());
    BOOST_TEST(t.task.status == TaskStatus::cancelled);
    BOOST_TEST(!t.task.cancelled_live_claim);
    BOOST_TEST(t.task.lease_expires_at == 0);
    BOOST_TEST(t.task.attempt_count == input.attempt_count);
    BOOST_TEST(t.task.updated_at == kNow);
    BOOST_TEST(t.task.completed_at == 0);
  }
}

BOOST_AUTO_TEST_CASE(cancel_of_claimed_task_ends_the_lease_and_marks_the_live_claim) {
  Task input = claimed_live();
  Transition t = apply(input, CancelCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::cancelled);
  BOOST_TEST(t.task.cancelled_live_claim);
  BOOST_TEST(t.task.lease_expires_at == 0);
  BOOST_TEST(t.task.lease_token == kLiveToken);
  BOOST_TEST(t.task.claimed_by == "w1");
  BOOST_TEST(t.task.attempt_count == 1);
  BOOST_TEST(t.task.updated_at == kNow);
}

BOOST_AUTO_TEST_CASE(worker_of_a_cancelled_claim_is_told_task_cancelled_on_every_mutation) {
  Transition cancelled = apply(claimed_live(), CancelCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(cancelled.ok());
  Task c = cancelled.task;
  Command commands[] = {HeartbeatCmd{by_token(kLiveToken), {}}, complete_cmd(by_token(kLiveToken)),
                        fail_cmd(by_token(kLiveToken))};
  for (const Command& command : commands) {
    Transition t = apply(c, command, ctx_at(kNow + 1));
    BOOST_TEST(name_of(t.error) == "task_cancelled");
    BOOST_TEST(task_diff(t.task, c) == "");
  }
}

BOOST_AUTO_TEST_CASE(cancelled_task_with_another_token_is_invalid_transition) {
  Task c = cancelled_from_claimed();
  Transition t = apply(c, complete_cmd(by_token(kStaleToken)), ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "invalid_transition");
}

BOOST_AUTO_TEST_CASE(cancelled_task_with_no_token_is_task_cancelled) {
  for (Task c : {cancelled_from_claimed(), cancelled_from_pending()}) {
    Transition t = apply(c, complete_cmd(anonymous()), ctx_at(kNow));
    BOOST_TEST(name_of(t.error) == "task_cancelled");
  }
}

BOOST_AUTO_TEST_CASE(cancel_of_terminal_task_is_invalid_transition) {
  for (Task input : {completed(), dead_letter(), cancelled_from_pending(), cancelled_from_claimed()}) {
    Transition t = apply(input, CancelCmd{}, ctx_at(kNow));
    BOOST_TEST(name_of(t.error) == "invalid_transition");
    BOOST_TEST(task_diff(t.task, input) == "");
  }
}

BOOST_AUTO_TEST_CASE(requeue_of_dead_letter_returns_to_pending_with_zero_attempts) {
  Task input = dead_letter();
  input.scheduled_at = kNow - 100'000;
  Transition t = apply(input, RequeueCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::pending);
  BOOST_TEST(t.task.attempt_count == 0);
  BOOST_TEST(t.task.scheduled_at == 0);
  BOOST_TEST(t.task.lease_expires_at == 0);
  BOOST_TEST(t.task.updated_at == kNow);
  BOOST_TEST(is_claimable(t.task, kNow));
  // A requeued task can be claimed and failed again through all its attempts.
  Transition claim = apply(t.task, ClaimCmd{"w3", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(claim.ok());
  BOOST_TEST(claim.task.attempt_count == 1);
}

BOOST_AUTO_TEST_CASE(requeue_of_anything_but_dead_letter_is_invalid_transition) {
  for (Task input : {pending_due(), pending_previously_claimed(), claimed_live(),
                     claimed_lease_passed(), completed(), cancelled_from_pending(),
                     cancelled_from_claimed()}) {
    Transition t = apply(input, RequeueCmd{}, ctx_at(kNow));
    BOOST_TEST(name_of(t.error) == "invalid_transition");
    BOOST_TEST(task_diff(t.task, input) == "");
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Terminal immutability -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(terminal_tasks_reject_every_mutation_but_requeue_of_dead_letter_and_safe_recomplete) {
  struct Allowed {
    const char* state;
    Task (*make)();
    std::vector<std::string> accepted;  // command names that succeed
  } terminals[] = {
      {"completed", completed, {"complete/live token", "complete/neither"}},
      {"dead_letter", dead_letter, {"requeue"}},
      {"cancelled from pending", cancelled_from_pending, {}},
      {"cancelled from pending after an ended claim", cancelled_from_pending_after_claim, {}},
      {"cancelled from claimed", cancelled_from_claimed, {}},
  };
  for (const Allowed& terminal : terminals) {
    for (const NamedCommand& command : matrix_commands()) {
      Task input = terminal.make();
      Transition t = apply(input, command.command, ctx_at(kNow));
      bool allowed = false;
      for (const std::string& name : terminal.accepted) allowed |= name == command.name;
      // A dependency's news reaches finished tasks too (a dependent cancelled meanwhile):
      // answered, and nothing changes.
      std::string_view name = command.name;
      bool news = name.starts_with("dependency") || name.starts_with("verification") ||
                  name.starts_with("link");
      BOOST_TEST_CONTEXT(terminal.state << " x " << command.name) {
        BOOST_TEST(t.ok() == (allowed || news));
        if (!t.ok()) BOOST_TEST(task_diff(t.task, input) == "");
        if (t.ok() && (news || input.status == TaskStatus::completed)) {
          BOOST_TEST(t.unchanged);
          BOOST_TEST(task_diff(t.task, input) == "");
        }
      }
    }
  }
}

// ---- Lease expiry and release --------------------------------------------------------

BOOST_AUTO_TEST_SUITE(expiry_and_release)

BOOST_AUTO_TEST_CASE(expired_lease_with_attempts_left_returns_to_pending_now) {
  Task input = claimed_lease_passed();  // attempt 1 of 3
  input.scheduled_at = kNow - 500'000;   // it was delayed once, long ago
  Transition t = apply(input, ExpireLeaseCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::pending);
  BOOST_TEST(t.task.failure_reason.value_or("<none>") == "lease_expired");
  BOOST_TEST(t.task.lease_expires_at == 0);
  BOOST_TEST(t.task.attempt_count == 1);
  BOOST_TEST(t.task.updated_at == kNow);
  BOOST_TEST(is_claimable(t.task, kNow));
  BOOST_TEST(t.task.lease_token == kLiveToken);  // kept for fencing
}

BOOST_AUTO_TEST_CASE(expired_lease_of_the_last_attempt_dead_letters) {
  Task input = claimed_lease_passed();
  input.attempt_count = 3;
  Transition t = apply(input, ExpireLeaseCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::dead_letter);
  BOOST_TEST(t.task.failure_reason.value_or("<none>") == "lease_expired");
  BOOST_TEST(t.task.lease_expires_at == 0);
  BOOST_TEST(t.task.updated_at == kNow);
}

BOOST_AUTO_TEST_CASE(expire_before_the_lease_ends_is_refused_and_changes_nothing) {
  Task input = claimed_live();
  Transition t = apply(input, ExpireLeaseCmd{}, ctx_at(input.lease_expires_at - 1));
  BOOST_TEST(!t.ok());
  BOOST_TEST(name_of(t.error) == "task_currently_claimed");
  BOOST_TEST(task_diff(t.task, input) == "");
}

BOOST_AUTO_TEST_CASE(expire_of_a_task_that_is_not_claimed_is_refused) {
  for (Task input : {pending_due(), pending_previously_claimed(), completed(), dead_letter(),
                     cancelled_from_claimed()}) {
    Transition t = apply(input, ExpireLeaseCmd{}, ctx_at(kNow));
    BOOST_TEST(!t.ok());
    BOOST_TEST(task_diff(t.task, input) == "");
  }
}

BOOST_AUTO_TEST_CASE(release_of_the_current_claim_undoes_it) {
  Task before = pending_due();
  Transition claim = apply(before, ClaimCmd{"w1", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(claim.ok());
  Transition released = apply(claim.task, ReleaseCmd{kNewToken, before.claimed_by, before.lease_token},
                              ctx_at(kNow + 5));
  BOOST_REQUIRE(released.ok());
  BOOST_TEST(released.task.status == TaskStatus::pending);
  BOOST_TEST(released.task.attempt_count == 0);
  BOOST_TEST(released.task.lease_expires_at == 0);
  BOOST_TEST(released.task.updated_at == kNow + 5);
  BOOST_TEST(is_claimable(released.task, kNow + 5));
  // No trace of the undone claim: never claimed before, so never claimed now.
  BOOST_TEST(released.task.claimed_by == before.claimed_by);
  BOOST_TEST(released.task.lease_token == before.lease_token);
  BOOST_TEST(!released.task.ever_claimed());
  Transition late = apply(released.task, CompleteCmd{Caller{kNewToken, ""}, {}, {}, {}}, ctx_at(kNow + 6));
  BOOST_TEST(name_of(late.error) == "invalid_transition");
}

BOOST_AUTO_TEST_CASE(release_of_a_reclaimed_task_restores_the_earlier_claims_identity) {
  Task before = pending_previously_claimed();
  Transition claim = apply(before, ClaimCmd{"w2", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(claim.ok());
  Transition released = apply(claim.task, ReleaseCmd{kNewToken, before.claimed_by, before.lease_token},
                              ctx_at(kNow + 5));
  BOOST_REQUIRE(released.ok());
  BOOST_TEST(released.task.claimed_by == before.claimed_by);
  BOOST_TEST(released.task.lease_token == before.lease_token);
  BOOST_TEST(released.task.attempt_count == before.attempt_count);
}

BOOST_AUTO_TEST_CASE(release_with_another_token_or_of_an_unclaimed_task_is_refused) {
  Task input = claimed_live();
  Transition t = apply(input, ReleaseCmd{kStaleToken, "", ""}, ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "lease_expired");
  BOOST_TEST(task_diff(t.task, input) == "");
  Task pending = pending_previously_claimed();
  t = apply(pending, ReleaseCmd{kLiveToken, "", ""}, ctx_at(kNow));
  BOOST_TEST(name_of(t.error) == "lease_expired");
  BOOST_TEST(task_diff(t.task, pending) == "");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- A whole life --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(task_retries_until_dead_letter_then_requeue_gives_fresh_attempts) {
  Task t = pending_due();  // maxAttempts 3
  Millis now = kNow;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::string token = "lse_" + std::to_string(attempt);
    Transition claim = apply(t, ClaimCmd{"w", token}, ctx_at(now));
    BOOST_REQUIRE(claim.ok());
    BOOST_TEST(claim.task.attempt_count == attempt);
    FailCmd cmd = fail_cmd(by_token(token));
    cmd.retry_after_seconds = 0;
    Transition failed = apply(claim.task, cmd, ctx_at(now + 1));
    BOOST_REQUIRE(failed.ok());
    BOOST_TEST((failed.task.status == (attempt < 3 ? TaskStatus::pending : TaskStatus::dead_letter)));
    t = failed.task;
    now += 10;
  }
  Transition requeued = apply(t, RequeueCmd{}, ctx_at(now));
  BOOST_REQUIRE(requeued.ok());
  BOOST_TEST(requeued.task.attempt_count == 0);
  BOOST_TEST(requeued.task.status == TaskStatus::pending);
}

// ---- default_backoff_seconds ---------------------------------------------------------

BOOST_AUTO_TEST_SUITE(backoff)

BOOST_AUTO_TEST_CASE(default_backoff_doubles_per_attempt_up_to_the_cap) {
  BackoffPolicy policy{2, 300};
  int expected[] = {2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300};
  for (int attempt = 1; attempt <= 11; ++attempt) {
    BOOST_TEST_CONTEXT("attempt " << attempt) {
      BOOST_TEST(default_backoff_seconds(attempt, policy, 1.0) == expected[attempt - 1]);
    }
  }
}

BOOST_AUTO_TEST_CASE(default_backoff_stays_at_the_cap_for_huge_attempt_numbers) {
  BackoffPolicy policy{2, 300};
  BOOST_TEST(default_backoff_seconds(64, policy, 1.0) == 300);
  BOOST_TEST(default_backoff_seconds(1000, policy, 1.0) == 300);
  BOOST_TEST(default_backoff_seconds(2'000'000'000, policy, 1.0) == 300);
}

BOOST_AUTO_TEST_CASE(default_backoff_of_attempt_zero_or_less_is_the_base) {
  BackoffPolicy policy{5, 300};
  BOOST_TEST(default_backoff_seconds(0, policy, 1.0) == 5);
  BOOST_TEST(default_backoff_seconds(-3, policy, 1.0) == 5);
}

BOOST_AUTO_TEST_CASE(default_backoff_jitter_halves_at_most) {
  BackoffPolicy policy{10, 1000};
  BOOST_TEST(default_backoff_seconds(1, policy, 0.5) == 5);
  BOOST_TEST(default_backoff_seconds(3, policy, 0.5) == 20);
  BOOST_TEST(default_backoff_seconds(3, policy, 0.75) == 30);
  BOOST_TEST(default_backoff_seconds(3, policy, 1.0) == 40);
}

BOOST_AUTO_TEST_CASE(default_backoff_jitter_outside_half_to_one_is_clamped) {
  BackoffPolicy policy{10, 1000};
  BOOST_TEST(default_backoff_seconds(3, policy, 0.0) == 20);
  BOOST_TEST(default_backoff_seconds(3, policy, 0.1) == 20);
  BOOST_TEST(default_backoff_seconds(3, policy, -4.0) == 20);
  BOOST_TEST(default_backoff_seconds(3, policy, 1.5) == 40);
  BOOST_TEST(default_backoff_seconds(3, policy, 99.0) == 40);
}

BOOST_AUTO_TEST_CASE(default_backoff_with_random_jitter_stays_within_bounds) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  BackoffPolicy policy{2, 300};
  int full[] = {2, 4, 8, 16, 32, 64, 128, 256, 300};
  for (int i = 0; i < 2000; ++i) {
    int attempt = 1 + i % 9;
    int seconds = default_backoff_seconds(attempt, policy, jitter(rng));
    int cap = full[attempt - 1];
    BOOST_TEST_CONTEXT("attempt " << attempt) {
      BOOST_TEST(seconds >= cap / 2);
      BOOST_TEST(seconds <= cap);
    }
  }
}

BOOST_AUTO_TEST_CASE(default_backoff_is_never_zero_while_a_base_is_set) {
  BackoffPolicy policy{1, 300};
  BOOST_TEST(default_backoff_seconds(1, policy, 0.5) == 1);
}

BOOST_AUTO_TEST_CASE(default_backoff_with_base_zero_is_zero) {
  BackoffPolicy policy{0, 300};
  BOOST_TEST(default_backoff_seconds(1, policy, 1.0) == 0);
  BOOST_TEST(default_backoff_seconds(5, policy, 0.5) == 0);
  BOOST_TEST(default_backoff_seconds(100, policy, 1.0) == 0);
}

BOOST_AUTO_TEST_CASE(fail_with_base_zero_backoff_is_claimable_at_once) {
  TransitionContext ctx = ctx_at(kNow);
  ctx.backoff = BackoffPolicy{0, 300};
  FailCmd cmd = fail_cmd(by_token(kLiveToken));
  cmd.retry_after_seconds = std::nullopt;
  Transition t = apply(claimed_live(), cmd, ctx);
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::pending);
  BOOST_TEST(is_claimable(t.task, kNow));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Review gate ------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(review_gate)

BOOST_AUTO_TEST_CASE(completing_a_task_that_needs_review_keeps_the_result_for_the_reviewer) {
  Transition t = apply(claimed_live_review(), complete_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  Task expected = claimed_live_review();
  expected.status = TaskStatus::awaiting_review;
  expected.lease_expires_at = 0;
  expected.result_json = R"({"ok":true})";
  expected.output_id = "out-2";
  expected.updated_at = kNow;  // completed_at stays unset until approval
  expected.history.events.push_back(event_at_now(TaskEventKind::complete_task, TaskStatus::claimed,
                                                 TaskStatus::awaiting_review, 1, "w1"));
  BOOST_TEST(task_diff(t.task, expected) == "");
}

BOOST_AUTO_TEST_CASE(completing_again_while_in_review_is_a_safe_retry) {
  Transition t = apply(awaiting_review(), complete_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.unchanged);
  BOOST_TEST(task_diff(t.task, awaiting_review()) == "");
}

BOOST_AUTO_TEST_CASE(approve_completes_with_the_kept_result) {
  Transition t = apply(awaiting_review(), ReviewCmd{ReviewDecision::approve, "fine"}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  Task expected = awaiting_review();
  expected.status = TaskStatus::completed;
  expected.completed_at = kNow;
  expected.updated_at = kNow;
  expected.history.events.push_back(event_at_now(
      TaskEventKind::review_task, TaskStatus::awaiting_review, TaskStatus::completed, 1, "", "fine"));
  BOOST_TEST(task_diff(t.task, expected) == "");
}

BOOST_AUTO_TEST_CASE(reject_dead_letters_with_the_feedback_as_the_reason) {
  Transition t = apply(awaiting_review(), ReviewCmd{ReviewDecision::reject, "wrong file"}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  Task expected = awaiting_review();
  expected.status = TaskStatus::dead_letter;
  expected.failure_reason = "wrong file";
  expected.updated_at = kNow;
  expected.history.events.push_back(event_at_now(TaskEventKind::review_task,
                                                 TaskStatus::awaiting_review,
                                                 TaskStatus::dead_letter, 1, "", "wrong file"));
  BOOST_TEST(task_diff(t.task, expected) == "");
}

BOOST_AUTO_TEST_CASE(revise_requeues_now_with_feedback_and_the_attempt_counted) {
  Task input = awaiting_review();
  input.scheduled_at = kNow - 100'000;
  Transition t = apply(input, ReviewCmd{ReviewDecision::revise, "add tests"}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  Task expected = input;
  expected.status = TaskStatus::pending;
  expected.scheduled_at = 0;
  expected.review_feedback = "add tests";
  expected.updated_at = kNow;
  expected.history.events.push_back(event_at_now(
      TaskEventKind::review_task, TaskStatus::awaiting_review, TaskStatus::pending, 1, "", "add tests"));
  BOOST_TEST(task_diff(t.task, expected) == "");
  BOOST_TEST(is_claimable(t.task, kNow));
  // The next claim is another attempt, and the old token no longer completes it.
  Transition claim = apply(t.task, ClaimCmd{"w2", kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(claim.ok());
  BOOST_TEST(claim.task.attempt_count == input.attempt_count + 1);
  BOOST_TEST(claim.task.review_feedback.value_or("") == "add tests");
  Transition late = apply(claim.task, complete_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_TEST(name_of(late.error) == "lease_expired");
}

BOOST_AUTO_TEST_CASE(a_review_of_a_task_not_in_review_is_invalid) {
  for (Task task : {pending_due(), claimed_live_review(), completed(), dead_letter()}) {
    Transition t = apply(task, ReviewCmd{ReviewDecision::approve, ""}, ctx_at(kNow));
    BOOST_TEST(name_of(t.error) == "invalid_transition", to_string(task.status));
  }
}

BOOST_AUTO_TEST_CASE(cancel_in_review_ends_no_live_claim) {
  Transition t = apply(awaiting_review(), CancelCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::cancelled);
  BOOST_TEST(!t.task.cancelled_live_claim);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Dependencies -----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(dependencies)

BOOST_AUTO_TEST_CASE(one_finished_dependency_of_two_leaves_the_task_blocked_on_the_other) {
  Transition t = apply(blocked_on_two(), DependencyDoneCmd{kDep2, false}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(!t.unchanged);
  Task expected = blocked_on_last();
  expected.updated_at = kNow;
  expected.history.events.push_back(event_at_now(TaskEventKind::dependency_done,
                                                 TaskStatus::blocked, TaskStatus::blocked, 0, "",
                                                 kDep2 + " completed"));
  BOOST_TEST(task_diff(t.task, expected) == "");
  BOOST_TEST(!is_claimable(t.task, kNow));
}

BOOST_AUTO_TEST_CASE(the_last_finished_dependency_makes_the_task_pending_and_claimable) {
  Transition t = apply(blocked_on_last(), DependencyDoneCmd{kDep, false}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::pending);
  BOOST_TEST(t.task.waiting_on.empty());
  BOOST_TEST((t.task.depends_on == blocked_on_two().depends_on));
  BOOST_TEST(is_claimable(t.task, kNow));
}

BOOST_AUTO_TEST_CASE(news_of_a_dependency_twice_releases_once) {
  Transition first = apply(blocked_on_last(), DependencyDoneCmd{kDep, false}, ctx_at(kNow));
  BOOST_REQUIRE(first.ok());
  Transition again = apply(first.task, DependencyDoneCmd{kDep, false}, ctx_at(kNow + 5));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again.unchanged);
  BOOST_TEST(task_diff(again.task, first.task) == "");
  // Also while still blocked: a dependency already struck off changes nothing.
  Transition twice = apply(blocked_on_last(), DependencyDoneCmd{kDep2, false}, ctx_at(kNow));
  BOOST_TEST(twice.unchanged);
}

BOOST_AUTO_TEST_CASE(a_failed_dependency_cancels_the_task_with_dependency_failed) {
  Transition t = apply(blocked_on_two(), DependencyDoneCmd{kDep, true}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  Task expected = blocked_on_two();
  expected.status = TaskStatus::cancelled;
  expected.failure_reason = "dependency_failed";
  expected.waiting_on.clear();
  expected.updated_at = kNow;
  expected.history.events.push_back(event_at_now(TaskEventKind::dependency_done,
                                                 TaskStatus::blocked, TaskStatus::cancelled, 0, "",
                                                 kDep + " failed"));
  BOOST_TEST(task_diff(t.task, expected) == "");
  // The other dependency's later news changes nothing.
  BOOST_TEST(apply(t.task, DependencyDoneCmd{kDep2, false}, ctx_at(kNow)).unchanged);
}

BOOST_AUTO_TEST_CASE(on_dependency_failure_run_counts_a_failed_dependency_as_finished) {
  Task task = blocked_on_two();
  task.run_on_dependency_failure = true;
  Transition t = apply(task, DependencyDoneCmd{kDep, true}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::blocked);
  BOOST_TEST((t.task.waiting_on == std::vector<std::string>{kDep2}));
  Transition last = apply(t.task, DependencyDoneCmd{kDep2, true}, ctx_at(kNow));
  BOOST_TEST(last.task.status == TaskStatus::pending);
}

BOOST_AUTO_TEST_CASE(a_blocked_task_can_be_cancelled_but_not_claimed) {
  BOOST_TEST(name_of(apply(blocked_on_two(), ClaimCmd{"w", kNewToken}, ctx_at(kNow)).error) ==
             "invalid_transition");
  Transition t = apply(blocked_on_two(), CancelCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::cancelled);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Acceptance gate --------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(acceptance_gate)

BOOST_AUTO_TEST_CASE(completing_a_gated_task_holds_it_with_a_pending_verification_and_a_deadline) {
  Transition t = apply(claimed_live_gate(), complete_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  Task expected = claimed_live_gate();
  expected.status = TaskStatus::awaiting_acceptance;
  expected.lease_expires_at = 0;
  expected.result_json = R"({"ok":true})";
  expected.output_id = "out-2";
  expected.verification = Verification::pending;
  expected.acceptance_deadline = kNow + 3'600'000;
  expected.updated_at = kNow;
  expected.history.events.push_back(event_at_now(TaskEventKind::complete_task,
                                                 TaskStatus::claimed,
                                                 TaskStatus::awaiting_acceptance, 1, "w1"));
  BOOST_TEST(task_diff(t.task, expected) == "");
}

BOOST_AUTO_TEST_CASE(a_definition_of_done_alone_gates_without_a_verification_or_deadline) {
  Task task = claimed_live();
  task.definition_of_done = "done means done";
  Transition t = apply(task, complete_cmd(by_token(kLiveToken)), ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.status == TaskStatus::awaiting_acceptance);
  BOOST_TEST(t.task.verification == Verification::none);
  BOOST_TEST(t.task.acceptance_deadline == 0);
  BOOST_TEST(name_of(apply(t.task, AcceptanceTimeoutCmd{}, ctx_at(kNow + 1)).error) ==
             "invalid_transition");
}

BOOST_AUTO_TEST_CASE(the_verdict_is_recorded_and_a_pass_auto_accepts_when_asked) {
  Transition failed = apply(awaiting_acceptance(), VerificationDoneCmd{kVerifier, 1, false, "no tests"},
                            ctx_at(kNow));
  BOOST_REQUIRE(failed.ok());
  BOOST_TEST(failed.task.status == TaskStatus::awaiting_acceptance);
  BOOST_TEST(failed.task.verification == Verification::failed);
  BOOST_TEST(failed.task.verification_notes.value_or("") == "no tests");

  Task automatic = awaiting_acceptance();
  automatic.auto_accept = true;
  Transition passed = apply(automatic, VerificationDoneCmd{kVerifier, 1, true, "ok"}, ctx_at(kNow));
  BOOST_REQUIRE(passed.ok());
  BOOST_TEST(passed.task.status == TaskStatus::completed);
  BOOST_TEST(passed.task.verification == Verification::passed);
  BOOST_TEST(passed.task.completed_at == kNow);
  BOOST_TEST(passed.task.acceptance_deadline == 0);
}

BOOST_AUTO_TEST_CASE(accept_completes_and_rework_sends_it_back_for_a_new_verification) {
  Transition accepted = apply(awaiting_acceptance(), AcceptCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(accepted.ok());
  BOOST_TEST(accepted.task.status == TaskStatus::completed);
  BOOST_TEST(accepted.task.completed_at == kNow);

  Transition rework = apply(awaiting_acceptance(), ReworkCmd{"more pages"}, ctx_at(kNow));
  BOOST_REQUIRE(rework.ok());
  BOOST_TEST(rework.task.status == TaskStatus::pending);
  BOOST_TEST(rework.task.review_feedback.value_or("") == "more pages");
  BOOST_TEST(rework.task.verification == Verification::none);
  BOOST_TEST(rework.task.verification_task_id.empty());
  BOOST_TEST(rework.task.acceptance_deadline == 0);
  BOOST_TEST(is_claimable(rework.task, kNow));
  // The earlier round's verifier reporting late changes nothing.
  BOOST_TEST(apply(rework.task, VerificationDoneCmd{kVerifier, 1, true, std::nullopt}, ctx_at(kNow)).unchanged);
}

BOOST_AUTO_TEST_CASE(the_timeout_accepts_or_dead_letters_as_the_task_says) {
  Transition dead = apply(awaiting_acceptance_past_deadline(), AcceptanceTimeoutCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(dead.ok());
  BOOST_TEST(dead.task.status == TaskStatus::dead_letter);
  BOOST_TEST(dead.task.failure_reason.value_or("") == "acceptance_timeout");
  Task accepting = awaiting_acceptance_past_deadline();
  accepting.accept_on_timeout = true;
  Transition accepted = apply(accepting, AcceptanceTimeoutCmd{}, ctx_at(kNow));
  BOOST_REQUIRE(accepted.ok());
  BOOST_TEST(accepted.task.status == TaskStatus::completed);
}

BOOST_AUTO_TEST_CASE(a_verdict_before_the_link_counts_but_only_for_this_round) {
  Task unlinked = awaiting_acceptance();
  unlinked.verification_task_id.clear();
  Transition early = apply(unlinked, VerificationDoneCmd{kVerifier, 1, true, "ok"}, ctx_at(kNow));
  BOOST_REQUIRE(early.ok());
  BOOST_TEST(early.task.verification == Verification::passed);
  BOOST_TEST(early.task.verification_task_id == kVerifier);
  BOOST_TEST(apply(unlinked, VerificationDoneCmd{"tsk_old", 0, true, "ok"}, ctx_at(kNow)).unchanged);
}

BOOST_AUTO_TEST_CASE(the_verifier_is_linked_once) {
  Task unlinked = awaiting_acceptance();
  unlinked.verification_task_id.clear();
  Transition linked = apply(unlinked, LinkVerificationCmd{kVerifier}, ctx_at(kNow));
  BOOST_REQUIRE(linked.ok());
  BOOST_TEST(linked.task.verification_task_id == kVerifier);
  BOOST_TEST(apply(linked.task, LinkVerificationCmd{"tsk_other"}, ctx_at(kNow)).unchanged);
}

BOOST_AUTO_TEST_CASE(review_comes_before_the_gate) {
  Task task = awaiting_review();
  task.verification_type = "verify";
  Transition approved = apply(task, ReviewCmd{ReviewDecision::approve, ""}, ctx_at(kNow));
  BOOST_REQUIRE(approved.ok());
  BOOST_TEST(approved.task.status == TaskStatus::awaiting_acceptance);
  BOOST_TEST(approved.task.verification == Verification::pending);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Status names --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(status_names_round_trip_and_terminal_states_are_the_three_final_ones) {
  const char* names[] = {"pending",   "claimed", "completed",       "dead_letter",
                         "cancelled", "blocked", "awaiting_review", "awaiting_acceptance"};
  for (int i = 0; i < kTaskStatusCount; ++i) {
    auto status = static_cast<TaskStatus>(i);
    BOOST_TEST(to_string(status) == names[i]);
    BOOST_TEST((parse_task_status(names[i]) == status));
  }
  BOOST_TEST(!parse_task_status("Pending").has_value());
  BOOST_TEST(!parse_task_status("").has_value());
  BOOST_TEST(!parse_task_status("dead-letter").has_value());
  BOOST_TEST(!is_terminal(TaskStatus::pending));
  BOOST_TEST(!is_terminal(TaskStatus::claimed));
  BOOST_TEST(is_terminal(TaskStatus::completed));
  BOOST_TEST(is_terminal(TaskStatus::dead_letter));
  BOOST_TEST(is_terminal(TaskStatus::cancelled));
  BOOST_TEST(!is_terminal(TaskStatus::blocked));
  BOOST_TEST(!is_terminal(TaskStatus::awaiting_review));
}

// ---- The documented edges (lifecycle_edges, served by GET /v1/capabilities) ----------

namespace {

struct EdgeCommand {
  std::string_view by;
  Command command;
};

// Every public command, under the name an edge uses, in the variants that pick different
// edges (attempts left or not, retryable or not). ReleaseCmd is left out: it undoes a
// claim whose answer never reached its client, and is no edge of its own.
std::vector<EdgeCommand> public_commands() {
  FailCmd retry;
  FailCmd final_fail;
  final_fail.retryable = false;
  return {{"claim_task", ClaimCmd{"w2", kNewToken}},
          {"heartbeat", HeartbeatCmd{}},
          {"complete_task", CompleteCmd{}},
          {"fail_task", retry},
          {"fail_task", final_fail},
          {"lease_expired", ExpireLeaseCmd{}},
          {"cancel_task", CancelCmd{}},
          {"requeue_task", RequeueCmd{}},
          {"review_task", ReviewCmd{ReviewDecision::approve, ""}},
          {"review_task", ReviewCmd{ReviewDecision::reject, "no"}},
          {"review_task", ReviewCmd{ReviewDecision::revise, "again"}},
          {"dependency_done", DependencyDoneCmd{kDep, false}},
          {"dependency_done", DependencyDoneCmd{kDep, true}},
          {"accept_task", AcceptCmd{}},
          {"rework_task", ReworkCmd{"again"}},
          {"verification_done", VerificationDoneCmd{kVerifier, 1, true, std::nullopt}},
          {"verification_done", VerificationDoneCmd{kVerifier, 1, false, "no"}},
          {"acceptance_timeout", AcceptanceTimeoutCmd{}}};
}

std::vector<Task> every_state() {
  Task auto_accepting = awaiting_acceptance();
  auto_accepting.auto_accept = true;
  Task accepting_at_timeout = awaiting_acceptance_past_deadline();
  accepting_at_timeout.accept_on_timeout = true;
  Task review_then_gate = awaiting_review();
  review_then_gate.definition_of_done = "reviewed and accepted";
  Task claimed_last_attempt = claimed_live();
  claimed_last_attempt.attempt_count = 3;
  Task claimed_last_attempt_passed = claimed_lease_passed();
  claimed_last_attempt_passed.attempt_count = 3;
  return {pending_due(), pending_scheduled_later(), pending_previously_claimed(), claimed_live(),
          claimed_lease_passed(), claimed_last_attempt, claimed_last_attempt_passed, completed(),
          dead_letter(), cancelled_from_pending(), cancelled_from_pending_after_claim(),
          cancelled_from_claimed(), blocked_on_two(), blocked_on_last(), claimed_live_review(),
          awaiting_review(), claimed_live_gate(), awaiting_acceptance(),
          awaiting_acceptance_past_deadline(), auto_accepting, accepting_at_timeout,
          review_then_gate};
}

bool listed(TaskStatus from, TaskStatus to, std::string_view by) {
  for (const LifecycleEdge& edge : lifecycle_edges()) {
    if (edge.from == from && edge.to == to && edge.by == by) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(documented_edges)

BOOST_AUTO_TEST_CASE(every_transition_apply_makes_is_a_listed_edge) {
  int transitions = 0;
  for (const Task& task : every_state()) {
    for (const EdgeCommand& named : public_commands()) {
      Transition t = apply(task, named.command, ctx_at(kNow));
      if (!t.ok() || t.unchanged) continue;
      ++transitions;
      BOOST_TEST(listed(task.status, t.task.status, named.by),
                 to_string(task.status) << " -> " << to_string(t.task.status) << " by " << named.by
                                        << " is not in lifecycle_edges()");
    }
  }
  BOOST_TEST(transitions >= 10);
}

BOOST_AUTO_TEST_CASE(every_listed_edge_is_a_transition_apply_makes) {
  for (const LifecycleEdge& edge : lifecycle_edges()) {
    bool made = false;
    for (const Task& task : every_state()) {
      if (task.status != edge.from) continue;
      for (const EdgeCommand& named : public_commands()) {
        if (named.by != edge.by) continue;
        Transition t = apply(task, named.command, ctx_at(kNow));
        made = made || (t.ok() && !t.unchanged && t.task.status == edge.to);
      }
    }
    BOOST_TEST(made, to_string(edge.from) << " -> " << to_string(edge.to) << " by " << edge.by
                                          << " is listed but apply() never makes it");
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- History (core/task_history.hpp) ---------------------------------------------------

BOOST_AUTO_TEST_SUITE(history)

// Every transition but a heartbeat adds exactly one event, naming the edge it took.
BOOST_AUTO_TEST_CASE(every_transition_adds_one_event_naming_its_edge) {
  int events = 0;
  for (const Task& task : every_state()) {
    for (const EdgeCommand& named : public_commands()) {
      Transition t = apply(task, named.command, ctx_at(kNow));
      if (!t.ok() || t.unchanged) {
        BOOST_TEST((t.task.history == task.history));
        continue;
      }
      if (named.by == "heartbeat") {
        BOOST_TEST((t.task.history == task.history));
        continue;
      }
      BOOST_TEST_CONTEXT(to_string(task.status) << " by " << named.by) {
        BOOST_REQUIRE(t.task.history.events.size() == task.history.events.size() + 1);
        const TaskEvent& event = t.task.history.events.back();
        BOOST_TEST(to_string(event.kind) == named.by);
        BOOST_TEST(to_string(event.from) == to_string(task.status));
        BOOST_TEST(to_string(event.to) == to_string(t.task.status));
        BOOST_TEST(event.at == kNow);
        BOOST_TEST(event.attempt == t.task.attempt_count);
        // The claim's worker on the events that make or end one; nobody's on the others.
        bool claim_event = task.status == TaskStatus::claimed || t.task.status == TaskStatus::claimed;
        BOOST_TEST(event.worker == (claim_event ? t.task.claimed_by : std::string()));
        ++events;
      }
    }
  }
  BOOST_TEST(events >= 28);
}

BOOST_AUTO_TEST_CASE(a_lifecycle_reads_as_its_events) {
  Task task = base_task();
  record_creation(task, kCreated);
  Transition claim = apply(task, ClaimCmd{"w1", "lse_1"}, ctx_at(kNow));
  Transition heartbeat = apply(claim.task, HeartbeatCmd{by_token("lse_1"), {}}, ctx_at(kNow + 1));
  Transition fail = apply(heartbeat.task, fail_cmd(by_token("lse_1")), ctx_at(kNow + 2));
  Transition again = apply(fail.task, ClaimCmd{"w2", "lse_2"}, ctx_at(kNow + 20'000));
  Transition done = apply(again.task, complete_cmd(by_token("lse_2")), ctx_at(kNow + 20'001));
  BOOST_REQUIRE(done.ok());
  using K = TaskEventKind;
  using S = TaskStatus;
  const std::vector<TaskEvent> expected = {
      {kCreated, K::create_task, S::pending, S::pending, 0, "", ""},
      {kNow, K::claim_task, S::pending, S::claimed, 1, "w1", ""},
      {kNow + 2, K::fail_task, S::claimed, S::pending, 1, "w1", "tool crashed"},
      {kNow + 20'000, K::claim_task, S::pending, S::claimed, 2, "w2", ""},
      {kNow + 20'001, K::complete_task, S::claimed, S::completed, 2, "w2", ""}};
  BOOST_TEST((done.task.history.events == expected));
  BOOST_TEST(done.task.history.dropped == 0);
}

BOOST_AUTO_TEST_CASE(a_task_created_blocked_or_cancelled_says_so_in_its_first_event) {
  Task blocked = blocked_on_two();
  record_creation(blocked, kCreated);
  BOOST_REQUIRE(blocked.history.events.size() == 1u);
  BOOST_TEST(to_string(blocked.history.events[0].to) == "blocked");
  Task cancelled = base_task();
  cancelled.status = TaskStatus::cancelled;
  cancelled.failure_reason = "dependency_failed";
  record_creation(cancelled, kCreated);
  BOOST_TEST(cancelled.history.events[0].detail == "dependency_failed");
  BOOST_TEST(to_string(cancelled.history.events[0].kind) == "create_task");
}

BOOST_AUTO_TEST_CASE(a_released_claim_leaves_no_event) {
  Task task = base_task();
  record_creation(task, kCreated);
  Transition claim = apply(task, ClaimCmd{"w1", "lse_1"}, ctx_at(kNow));
  BOOST_REQUIRE(claim.task.history.events.size() == 2u);
  Transition released = apply(claim.task, ReleaseCmd{"lse_1", "", ""}, ctx_at(kNow + 1));
  BOOST_REQUIRE(released.ok());
  BOOST_TEST((released.task.history == task.history));
  // A released claim after an earlier one takes out only its own event.
  Transition fail = apply(claim.task, fail_cmd(by_token("lse_1")), ctx_at(kNow + 2));
  Transition second = apply(fail.task, ClaimCmd{"w2", "lse_2"}, ctx_at(kNow + 20'000));
  Transition undone = apply(second.task, ReleaseCmd{"lse_2", "w1", "lse_1"}, ctx_at(kNow + 20'001));
  BOOST_REQUIRE(undone.ok());
  BOOST_TEST((undone.task.history == fail.task.history));
}

BOOST_AUTO_TEST_CASE(the_history_keeps_the_latest_events_and_counts_the_dropped) {
  Task task = pending_due();
  record_creation(task, kCreated);
  TransitionContext ctx = ctx_at(kNow);
  ctx.history_kept = 3;
  task.max_attempts = 100;
  for (int i = 0; i < 5; ++i) {
    ctx.now = kNow + i * 100'000;
    Transition claim = apply(task, ClaimCmd{"w1", "lse_" + std::to_string(i)}, ctx);
    BOOST_REQUIRE(claim.ok());
    FailCmd fail = fail_cmd(by_token("lse_" + std::to_string(i)));
    fail.retry_after_seconds = 0;
    Transition failed = apply(claim.task, fail, ctx);
    BOOST_REQUIRE(failed.ok());
    task = failed.task;
  }
  // 1 create + 5 claims + 5 fails = 11 events, 3 kept.
  BOOST_REQUIRE(task.history.events.size() == 3u);
  BOOST_TEST(task.history.dropped == 8);
  BOOST_TEST(to_string(task.history.events.back().kind) == "fail_task");
  BOOST_TEST(task.history.events.back().attempt == 5);
  BOOST_TEST(to_string(task.history.events[1].kind) == "claim_task");
  BOOST_TEST(task.history.events[1].attempt == 5);
}

BOOST_AUTO_TEST_CASE(a_released_claim_at_the_bound_loses_no_older_event) {
  Task task = pending_due();
  record_creation(task, kCreated);
  task.max_attempts = 100;
  TransitionContext ctx = ctx_at(kNow);
  ctx.history_kept = 3;
  for (int i = 0; i < 2; ++i) {  // create + claim, fail, claim, fail: 5 events, 3 kept
    Transition claim = apply(task, ClaimCmd{"w1", "lse_a"}, ctx);
    FailCmd fail = fail_cmd(by_token("lse_a"));
    fail.retry_after_seconds = 0;
    task = apply(claim.task, fail, ctx).task;
  }
  BOOST_REQUIRE(task.history.events.size() == 3u);
  BOOST_REQUIRE(task.history.dropped == 2);
  Transition claim = apply(task, ClaimCmd{"w2", "lse_b"}, ctx);
  BOOST_TEST(claim.task.history.events.size() == 4u);  // the claim's, until the next event
  BOOST_TEST(claim.task.history.dropped == 2);
  Transition released = apply(claim.task, ReleaseCmd{"lse_b", "w1", "lse_a"}, ctx);
  BOOST_REQUIRE(released.ok());
  BOOST_TEST((released.task.history == task.history));
  // Kept, the claim is trimmed with the next event: back to the bound.
  FailCmd fail = fail_cmd(by_token("lse_b"));
  Transition failed = apply(claim.task, fail, ctx);
  BOOST_TEST(failed.task.history.events.size() == 3u);
  BOOST_TEST(failed.task.history.dropped == 4);
  BOOST_TEST(failed.task.history.events[1].worker == "w2");
}

BOOST_AUTO_TEST_CASE(a_long_worker_id_is_cut_like_a_detail) {
  Transition t = apply(pending_due(), ClaimCmd{std::string(300, 'w'), kNewToken}, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t.task.history.events.back().worker == std::string(200, 'w'));
  BOOST_TEST(t.task.claimed_by.size() == 300u);
}

BOOST_AUTO_TEST_CASE(an_event_detail_is_cut_on_a_character_boundary) {
  std::string euros;
  for (int i = 0; i < 100; ++i) euros += "\xe2\x82\xac";  // 3 bytes each, 300 in all
  FailCmd fail = fail_cmd(by_token(kLiveToken));
  fail.reason = euros;
  Transition t = apply(claimed_live(), fail, ctx_at(kNow));
  BOOST_REQUIRE(t.ok());
  const std::string& detail = t.task.history.events.back().detail;
  BOOST_TEST(detail.size() == 198u);  // 66 whole characters; the 67th would pass 200
  BOOST_TEST(detail == euros.substr(0, 198));
  BOOST_TEST(*t.task.failure_reason == euros);  // the task keeps the whole reason
  BOOST_TEST(cut_utf8("abc", 2) == "ab");
  BOOST_TEST(cut_utf8("abc", 3) == "abc");
  BOOST_TEST(cut_utf8("\xc3\xa9", 1) == "");
}

BOOST_AUTO_TEST_CASE(a_verification_verdict_and_its_notes_are_the_detail) {
  Transition passed = apply(awaiting_acceptance(), VerificationDoneCmd{kVerifier, 1, true, "ok"},
                            ctx_at(kNow));
  BOOST_REQUIRE(passed.ok());
  BOOST_TEST(passed.task.history.events.back().detail == "passed: ok");
  Transition failed = apply(awaiting_acceptance(),
                            VerificationDoneCmd{kVerifier, 1, false, std::nullopt}, ctx_at(kNow));
  BOOST_TEST(failed.task.history.events.back().detail == "failed");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(log_appends)

BOOST_AUTO_TEST_CASE(an_append_moves_the_log_counters_and_not_the_lease) {
  Task input = claimed_live();
  Transition first = apply(input, AppendLogCmd{by_token(kLiveToken), LogChange{3, 30, 0, 0}},
                           ctx_at(kNow));
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first.task.log_first_seq == 1);
  BOOST_TEST(first.task.log_last_seq == 3);
  BOOST_TEST(first.task.log_bytes == 30);
  BOOST_TEST(first.task.lease_expires_at == input.lease_expires_at);
  BOOST_TEST(first.task.status == TaskStatus::claimed);
  // Past the bound the oldest go: two dropped (25 bytes), one added.
  Transition second = apply(first.task, AppendLogCmd{by_token(kLiveToken), LogChange{1, 5, 2, 25}},
                            ctx_at(kNow + 1));
  BOOST_REQUIRE(second.ok());
  BOOST_TEST(second.task.log_first_seq == 3);
  BOOST_TEST(second.task.log_last_seq == 4);
  BOOST_TEST(second.task.log_bytes == 10);
  BOOST_TEST(second.task.log_dropped == 2);
}

BOOST_AUTO_TEST_SUITE_END()
