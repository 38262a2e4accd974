#define BOOST_TEST_MODULE worker_stats
#include <boost/test/unit_test.hpp>

#include <vector>

#include "core/lifecycle.hpp"
#include "core/worker_stats.hpp"

// The roster's counts from real transitions (the state machine's), and the rank formula
// of docs/workflows.md, each expectation worked out by hand.

using namespace baton;

namespace {

constexpr Millis kNow = 1'767'225'600'000;

TransitionContext at(Millis now) {
  TransitionContext ctx;
  ctx.now = now;
  return ctx;
}

Task fresh(bool review = false) {
  Task t;
  t.id = "tsk_01KDXK4M000000000000000001";
  t.account_id = "acct_1";
  t.type = "code";
  t.payload_json = "{}";
  t.review_required = review;
  return t;
}

// Applies `command` and counts it into `stats`; returns the new task.
Task step(WorkerTypeStats& stats, const Task& task, const Command& command, Millis now) {
  Transition t = apply(task, command, at(now));
  BOOST_REQUIRE(t.ok());
  if (auto change = worker_change(&task, t.task, now)) add(stats, *change);
  return t.task;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_claim_and_a_completion_count_once_with_the_time_between) {
  WorkerTypeStats s;
  Task claimed = step(s, fresh(), ClaimCmd{"alice", "lse_1"}, kNow);
  step(s, claimed, HeartbeatCmd{}, kNow + 500);
  step(s, claimed, CompleteCmd{}, kNow + 2'000);
  BOOST_TEST(s.claims == 1u);
  BOOST_TEST(s.completed == 1u);
  BOOST_TEST(s.complete_ms_total == 2'000u);
  BOOST_TEST(s.last_seen == kNow + 2'000);
  BOOST_TEST(mean_complete_ms(s) == 2'000.0);
}

// A claim given back unanswered is taken back from the worker that made it, not from the
// one the task names again (the claim before it), and also when there was none before.
BOOST_AUTO_TEST_CASE(an_undone_claim_is_taken_back_from_its_own_worker) {
  Task task = fresh();
  task.max_attempts = 5;
  Transition first = apply(task, ClaimCmd{"ann", "lse_1"}, at(kNow));
  Transition released = apply(first.task, ReleaseCmd{"lse_1", "", ""}, at(kNow + 10));
  BOOST_REQUIRE(released.ok());
  auto change = worker_change(&first.task, released.task, kNow + 10);
  BOOST_REQUIRE(change.has_value());
  BOOST_TEST(change->worker == "ann");
  BOOST_TEST(change->undo_claim);

  Transition expired = apply(first.task, ExpireLeaseCmd{}, at(kNow + 400'000));
  Transition second = apply(expired.task, ClaimCmd{"bob", "lse_2"}, at(kNow + 400'010));
  Transition given_back = apply(second.task, ReleaseCmd{"lse_2", "ann", "lse_1"}, at(kNow + 400'020));
  BOOST_REQUIRE(given_back.ok());
  change = worker_change(&second.task, given_back.task, kNow + 400'020);
  BOOST_REQUIRE(change.has_value());
  BOOST_TEST(change->worker == "bob");
  BOOST_TEST(change->undo_claim);
}

BOOST_AUTO_TEST_CASE(failures_expiries_and_undone_claims_count_apart) {
  WorkerTypeStats s;
  Task task = fresh();
  task.max_attempts = 5;
  Task claimed = step(s, task, ClaimCmd{"bob", "lse_1"}, kNow);
  FailCmd fail;
  fail.retry_after_seconds = 0;
  Task retried = step(s, claimed, fail, kNow + 10);
  Task again = step(s, retried, ClaimCmd{"bob", "lse_2"}, kNow + 20);
  Task expired = step(s, again, ExpireLeaseCmd{}, kNow + 400'000);
  Task third = step(s, expired, ClaimCmd{"bob", "lse_3"}, kNow + 400'010);
  step(s, third, ReleaseCmd{"lse_3", "bob", "lse_2"}, kNow + 400'020);
  BOOST_TEST(s.claims == 2u);  // three claims, one given back unanswered
  BOOST_TEST(s.failed == 1u);
  BOOST_TEST(s.expired == 1u);
  BOOST_TEST(s.completed == 0u);
  // An expiry is not the worker showing up; the claim before it was.
  BOOST_TEST(s.last_seen == kNow + 400'010);
}

BOOST_AUTO_TEST_CASE(review_decisions_count_as_accepted_or_reworked_for_the_worker) {
  WorkerTypeStats s;
  Task claimed = step(s, fresh(true), ClaimCmd{"carol", "lse_1"}, kNow);
  Task in_review = step(s, claimed, CompleteCmd{}, kNow + 100);
  Task revised = step(s, in_review, ReviewCmd{ReviewDecision::revise, "again"}, kNow + 200);
  Task claimed_again = step(s, revised, ClaimCmd{"carol", "lse_2"}, kNow + 300);
  Task reviewed_again = step(s, claimed_again, CompleteCmd{}, kNow + 400);
  step(s, reviewed_again, ReviewCmd{ReviewDecision::approve, ""}, kNow + 500);
  BOOST_TEST(s.completed == 2u);
  BOOST_TEST(s.reworked == 1u);
  BOOST_TEST(s.accepted == 1u);
  BOOST_TEST(s.last_seen == kNow + 400);  // the reviewer's decisions are not the worker's
}

BOOST_AUTO_TEST_CASE(claims_without_a_worker_id_count_for_no_one) {
  Task task = fresh();
  Transition t = apply(task, ClaimCmd{"", "lse_1"}, at(kNow));
  BOOST_TEST(!worker_change(&task, t.task, kNow).has_value());
}

BOOST_AUTO_TEST_CASE(rank_follows_the_documented_formula) {
  WorkerTypeStats none;
  BOOST_TEST(rank(none, 0) == 50);  // 100 * (0.5*0.5 + 0.3*0.5 + 0.2*0.5)
  WorkerTypeStats good;
  good.completed = 8;
  good.failed = 0;
  good.accepted = 8;
  good.complete_ms_total = 8 * 1'000;
  // reliability 9/10, quality 9/10, speed min(1, 2000/1000) = 1
  BOOST_TEST(rank(good, 2'000) == 92);
  WorkerTypeStats slow = good;
  slow.complete_ms_total = 8 * 4'000;  // speed 2000/4000 = 0.5
  BOOST_TEST(rank(slow, 2'000) == 82);
  WorkerTypeStats bad;
  bad.failed = 6;
  bad.expired = 2;
  bad.reworked = 4;
  // reliability 1/10, quality 1/6, speed unknown 0.5
  BOOST_TEST(rank(bad, 2'000) == 20);
}

BOOST_AUTO_TEST_CASE(the_roster_ranks_against_each_types_mean_and_sorts_best_first) {
  std::vector<WorkerSummary> roster(2);
  roster[0].worker_id = "slow";
  roster[1].worker_id = "fast";
  WorkerTypeStats slow;
  slow.completed = 2;
  slow.complete_ms_total = 2 * 3'000;
  WorkerTypeStats fast;
  fast.completed = 2;
  fast.complete_ms_total = 2 * 1'000;
  roster[0].types.push_back({"code", slow, 0});
  roster[1].types.push_back({"code", fast, 0});
  rank_roster(roster);
  // The type's mean is 2000 ms: fast gets speed 1, slow 2/3.
  BOOST_TEST(roster[0].worker_id == "fast");
  BOOST_TEST(roster[0].rank == rank(fast, 2'000));
  BOOST_TEST(roster[1].rank == rank(slow, 2'000));
  BOOST_TEST(roster[0].rank > roster[1].rank);
}
