#define BOOST_TEST_MODULE cost
#include <boost/test/unit_test.hpp>

#include <string>

#include "core/contract.hpp"
#include "core/cost.hpp"
#include "core/lifecycle.hpp"
#include "core/usage.hpp"

// Task costs (core/cost.hpp): exact sums in nano-dollars, saturating figures, their JSON
// form; what the lifecycle adds on heartbeat, complete and fail; the budget stop.

using namespace baton;

namespace {

constexpr Millis kNow = 1'767'225'600'000;  // 2026-01-01T00:00:00.000Z

std::string usd(std::int64_t nanos) {
  std::string out;
  append_usd(out, nanos);
  return out;
}

Task claimed_task() {
  Task t;
  t.id = "tsk_01KDXK4M000000000000000000";
  t.account_id = "acct_01KDXK4M000000000000000000";
  t.type = "render";
  t.payload_json = "{}";
  t.status = TaskStatus::claimed;
  t.attempt_count = 1;
  t.max_attempts = 3;
  t.claimed_by = "w1";
  t.lease_token = "lse_1";
  t.claimed_at = kNow - 1000;
  t.lease_expires_at = kNow + 300'000;
  return t;
}

TransitionContext at(Millis now) { return TransitionContext{now, {}, 1.0}; }

TaskCost dollars(double amount) {
  TaskCost cost;
  cost.usd_nanos = usd_to_nanos(amount);
  return cost;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dollars_print_with_the_decimals_they_need) {
  BOOST_TEST(usd(0) == "0");
  BOOST_TEST(usd(20'400'000) == "0.0204");
  BOOST_TEST(usd(1) == "0.000000001");
  BOOST_TEST(usd(kNanosPerUsd) == "1");
  BOOST_TEST(usd(12 * kNanosPerUsd + 500'000'000) == "12.5");
  BOOST_TEST(usd(kMaxCostFigure) == "9223372.036854775");
}

BOOST_AUTO_TEST_CASE(dollars_convert_to_the_nearest_nano_dollar) {
  BOOST_TEST(usd_to_nanos(0.0204) == 20'400'000);
  BOOST_TEST(usd_to_nanos(0.1) + usd_to_nanos(0.2) == usd_to_nanos(0.3));  // no float drift
  BOOST_TEST(usd_to_nanos(1e-10) == 0);
  BOOST_TEST(usd_to_nanos(-1) == 0);
  BOOST_TEST(usd_to_nanos(kMaxUsd) == 9'000'000 * kNanosPerUsd);
  BOOST_TEST(usd_to_nanos(1e300) == 9'000'000 * kNanosPerUsd);  // capped, never overflows
}

BOOST_AUTO_TEST_CASE(sums_saturate_instead_of_wrapping) {
  TaskCost big;
  big.input_tokens = kMaxCostFigure - 1;
  big.usd_nanos = kMaxCostFigure;
  TaskCost more;
  more.input_tokens = 5;
  more.usd_nanos = kMaxCostFigure;
  big.add(more);
  BOOST_TEST(big.input_tokens == kMaxCostFigure);
  BOOST_TEST(big.usd_nanos == kMaxCostFigure);
  TaskCost negative;
  negative.output_tokens = -7;  // never sent (the API refuses it); a sum ignores it
  TaskCost sum;
  sum.add(negative);
  BOOST_TEST(sum.output_tokens == 0);
}

BOOST_AUTO_TEST_CASE(cost_added_is_the_difference_figure_by_figure) {
  TaskCost before{1, 2, 3, 4, 5, 6};
  TaskCost after{11, 2, 13, 44, 5, 16};
  TaskCost added = cost_added(before, after);
  BOOST_TEST((added == TaskCost{10, 0, 10, 40, 0, 10}));
  BOOST_TEST(cost_added(after, before).empty());
}

BOOST_AUTO_TEST_CASE(heartbeat_complete_and_fail_add_their_reports) {
  Task t = claimed_task();
  Transition beat = apply(t, HeartbeatCmd{Caller{"lse_1", ""}, dollars(0.01)}, at(kNow));
  BOOST_REQUIRE(beat.ok());
  BOOST_TEST(beat.task.cost.usd_nanos == 10'000'000);
  Transition done =
      apply(beat.task, CompleteCmd{Caller{"lse_1", ""}, dollars(0.02), std::string("{}"), {}},
            at(kNow + 1));
  BOOST_REQUIRE(done.ok());
  BOOST_TEST(done.task.cost.usd_nanos == 30'000'000);
  // A retry of the completion changes nothing, its report included.
  Transition retry =
      apply(done.task, CompleteCmd{Caller{"lse_1", ""}, dollars(5), std::string("{}"), {}},
            at(kNow + 2));
  BOOST_TEST(retry.unchanged);
  BOOST_TEST(retry.task.cost.usd_nanos == 30'000'000);

  FailCmd fail;
  fail.caller = Caller{"lse_1", ""};
  fail.cost = dollars(0.5);
  Transition failed = apply(claimed_task(), fail, at(kNow));
  BOOST_REQUIRE(failed.ok());
  BOOST_TEST(failed.task.cost.usd_nanos == 500'000'000);
  // A stale token reports nothing.
  Transition stale = apply(claimed_task(), HeartbeatCmd{Caller{"lse_0", ""}, dollars(1)}, at(kNow));
  BOOST_TEST(!stale.ok());
  BOOST_TEST(stale.task.cost.empty());
}

BOOST_AUTO_TEST_CASE(usage_counts_the_cost_a_transition_adds) {
  Task before = claimed_task();
  before.cost = dollars(0.25);
  Task after = before;
  after.cost.add(dollars(0.5));
  after.cost.input_tokens = 9;
  UsageCounts change = usage_change(&before, after, kNow);
  BOOST_TEST(change.cost.usd_nanos == 500'000'000);
  BOOST_TEST(change.cost.input_tokens == 9);
  BOOST_TEST(usage_change(&before, before, kNow).empty());
}

BOOST_AUTO_TEST_CASE(past_its_budget_a_claimed_task_is_told_to_stop) {
  Task t = claimed_task();
  t.budget_usd_nanos = usd_to_nanos(0.05);
  t.cost = dollars(0.05);
  Contract at_budget = contract_for_task(t, kNow, ContractSite::other);
  BOOST_TEST(!at_budget.budget_context.has_value());

  t.cost = dollars(0.06);
  Contract over = contract_for_task(t, kNow, ContractSite::other);
  BOOST_REQUIRE(over.budget_context.has_value());
  BOOST_TEST((over.budget_context->scope == BudgetContext::Scope::task));
  BOOST_TEST(over.budget_context->spent_usd_nanos == 60'000'000);
  int recommended = 0;
  for (const NextAction& a : over.next_actions) {
    if (a.recommended) {
      ++recommended;
      BOOST_TEST(to_string(a.action) == "stop_work");
    }
  }
  BOOST_TEST(recommended == 1);

  // Finished, the state's own action stays recommended, and stop_work says why.
  t.status = TaskStatus::completed;
  Contract finished = contract_for_task(t, kNow, ContractSite::other);
  BOOST_REQUIRE(finished.budget_context.has_value());
  int stops = 0;
  recommended = 0;
  for (const NextAction& a : finished.next_actions) {
    stops += to_string(a.action) == "stop_work";
    if (a.recommended) {
      ++recommended;
      BOOST_TEST(to_string(a.action) == "create_task");
    }
  }
  BOOST_TEST(stops == 1);
  BOOST_TEST(recommended == 1);
}

BOOST_AUTO_TEST_CASE(the_month_budget_contract_says_when_it_resets) {
  BudgetContext budget{BudgetContext::Scope::month, kNanosPerUsd, 2 * kNanosPerUsd,
                       kNow + 3600 * 1000};
  Contract c = contract_for_month_budget(budget, kNow);
  BOOST_REQUIRE(c.next_actions.size() == 1u);
  BOOST_TEST(to_string(c.next_actions[0].action) == "retry_after_wait");
  BOOST_TEST(c.next_actions[0].retry_after_seconds.value_or(0) == 3600);
  BOOST_TEST(c.retryable);
}
