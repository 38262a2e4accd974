// Plans and the counters limits are kept with: WindowCounter (core/rate_window.hpp) exact
// under threads and across window changes, PlanBook's lookups, and LeaseGate
// (engine/lease_gate.hpp) never passing a limit under concurrent takes.
#define BOOST_TEST_MODULE plans
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "core/plan.hpp"
#include "core/rate_window.hpp"
#include "core/usage.hpp"
#include "engine/lease_gate.hpp"

using namespace baton;

BOOST_AUTO_TEST_SUITE(window_counter)

BOOST_AUTO_TEST_CASE(counts_up_to_the_limit_and_refuses_past_it) {
  WindowCounter counter;
  constexpr std::int64_t kHour = 500'000;
  for (int i = 1; i <= 3; ++i) {
    auto taken = counter.take(kHour, 3);
    BOOST_TEST(taken.allowed);
    BOOST_TEST(taken.count == i);
  }
  auto refused = counter.take(kHour, 3);
  BOOST_TEST(!refused.allowed);
  BOOST_TEST(refused.count == 3);
  BOOST_TEST(counter.count(kHour) == 3);
  // Several at once: all or none.
  WindowCounter batch;
  BOOST_TEST(batch.take(kHour, 5, 4).allowed);
  BOOST_TEST(!batch.take(kHour, 5, 2).allowed);
  BOOST_TEST(batch.take(kHour, 5, 1).allowed);
  BOOST_TEST(batch.count(kHour) == 5);
}

BOOST_AUTO_TEST_CASE(a_new_window_starts_from_zero_and_an_old_one_never_reopens) {
  WindowCounter counter;
  BOOST_TEST(counter.take(10, 2).allowed);
  BOOST_TEST(counter.take(10, 2).allowed);
  BOOST_TEST(!counter.take(10, 2).allowed);
  BOOST_TEST(counter.take(11, 2).allowed);  // the next hour
  BOOST_TEST(counter.count(11) == 1);
  BOOST_TEST(counter.count(10) == 0);
  // A thread whose clock read lagged counts in the newer window.
  auto late = counter.take(10, 2);
  BOOST_TEST(late.allowed);
  BOOST_TEST(counter.count(11) == 2);
  BOOST_TEST(!counter.take(10, 2).allowed);
}

BOOST_AUTO_TEST_CASE(no_limit_still_counts_and_give_back_undoes_a_take) {
  WindowCounter counter;
  for (int i = 0; i < 10; ++i) BOOST_TEST(counter.take(7, 0).allowed);
  BOOST_TEST(counter.count(7) == 10);
  counter.give_back(7, 4);
  BOOST_TEST(counter.count(7) == 6);
  counter.give_back(6, 4);  // another window: no effect
  BOOST_TEST(counter.count(7) == 6);
  counter.give_back(7, 100);
  BOOST_TEST(counter.count(7) == 0);
}

BOOST_AUTO_TEST_CASE(threads_taking_at_once_never_pass_the_limit) {
  WindowCounter counter;
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        if (counter.take(42, 12'345).allowed) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_TEST(allowed.load() == 12'345);
  BOOST_TEST(counter.count(42) == 12'345);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(plan_book)

BOOST_AUTO_TEST_CASE(unknown_or_empty_names_fall_back_to_the_default_plan) {
  PlanBook book;
  BOOST_TEST(book.default_plan == "unlimited");
  BOOST_TEST(book.of_account("").name == "unlimited");
  Plan small;
  small.name = "small";
  small.workers = 1;
  small.per_hour[static_cast<int>(RateClass::claim)] = 10;
  book.plans["small"] = small;
  BOOST_TEST(book.of_account("small").workers == 1);
  BOOST_TEST(book.of_account("small").hourly(RateClass::claim) == 10);
  BOOST_TEST(book.of_account("small").hourly(RateClass::create) == 0);
  BOOST_TEST(book.find("gone") == nullptr);
  BOOST_TEST(book.of_account("gone").name == "unlimited");  // removed by a reload
  book.default_plan = "small";
  BOOST_TEST(book.of_account("").name == "small");
  BOOST_TEST(book.of_account("gone").name == "small");
}

BOOST_AUTO_TEST_CASE(every_plan_key_names_its_own_value) {
  Plan plan;
  std::int64_t n = 1;
  for (const PlanKey& key : plan_keys()) plan_value(plan, key) = n++;
  n = 1;
  for (const PlanKey& key : plan_keys()) BOOST_TEST(plan_value(plan, key) == n++);
  BOOST_TEST(plan.workers == 1);
  BOOST_TEST(plan.retention_days == 8);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(lease_gate)

BOOST_AUTO_TEST_CASE(slots_are_taken_up_to_the_limit_and_given_back) {
  LeaseGate gate;
  BOOST_TEST(gate.try_take("a", 2));
  BOOST_TEST(gate.try_take("a", 2));
  BOOST_TEST(!gate.try_take("a", 2));
  BOOST_TEST(gate.try_take("b", 2));  // per account
  BOOST_TEST(gate.try_take("a", 0));  // no limit: counted all the same
  BOOST_TEST(gate.in_use("a") == 3);
  gate.give_back("a", 2);
  BOOST_TEST(gate.in_use("a") == 1);
  BOOST_TEST(gate.try_take("a", 2));
  gate.add("c", 5);
  BOOST_TEST(!gate.try_take("c", 5));
  BOOST_TEST(gate.in_use("nobody") == 0);
}

BOOST_AUTO_TEST_CASE(concurrent_takes_and_gives_never_pass_the_limit) {
  LeaseGate gate;
  std::atomic<int> held{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        if (!gate.try_take("acct", 3)) continue;
        int now = ++held;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        --held;
        gate.give_back("acct");
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_TEST(most.load() <= 3);
  BOOST_TEST(gate.in_use("acct") == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(usage)

Task task_in(TaskStatus status) {
  Task task;
  task.status = status;
  task.created_at = 1'000;
  task.attempt_count = status == TaskStatus::claimed ? 1 : 0;
  task.claimed_at = status == TaskStatus::claimed ? 5'000 : 0;
  return task;
}

BOOST_AUTO_TEST_CASE(each_transition_counts_what_happened) {
  Task pending = task_in(TaskStatus::pending);
  BOOST_TEST(usage_change(nullptr, pending, 1'000).created == 1);
  Task claimed = task_in(TaskStatus::claimed);
  UsageCounts claim = usage_change(&pending, claimed, 5'000);
  BOOST_TEST(claim.claimed == 1);
  BOOST_TEST(claim.wait_ms_total == 4'000);
  BOOST_TEST(usage_change(&claimed, claimed, 6'000).empty());  // a heartbeat

  Task completed = claimed;
  completed.status = TaskStatus::completed;
  UsageCounts done = usage_change(&claimed, completed, 8'000);
  BOOST_TEST(done.completed == 1);
  BOOST_TEST(done.runs == 1);
  BOOST_TEST(done.run_ms_total == 3'000);

  Task retry = claimed;
  retry.status = TaskStatus::pending;  // failed or expired, attempts left
  BOOST_TEST(usage_change(&claimed, retry, 8'000).failed == 1);
  Task dead = claimed;
  dead.status = TaskStatus::dead_letter;
  UsageCounts buried = usage_change(&claimed, dead, 8'000);
  BOOST_TEST(buried.failed == 1);
  BOOST_TEST(buried.dead_lettered == 1);
  Task cancelled = pending;
  cancelled.status = TaskStatus::cancelled;
  BOOST_TEST(usage_change(&pending, cancelled, 9'000).cancelled == 1);
  Task gated = claimed;
  gated.status = TaskStatus::awaiting_review;
  UsageCounts review = usage_change(&claimed, gated, 8'000);
  BOOST_TEST(review.runs == 1);
  BOOST_TEST(review.completed == 0);  // counted when approved
}

BOOST_AUTO_TEST_CASE(a_claim_given_back_is_taken_back_whole) {
  Task pending = task_in(TaskStatus::pending);
  Task claimed = task_in(TaskStatus::claimed);
  UsageCounts sum = usage_change(&pending, claimed, 5'000);
  Task released = pending;  // ReleaseCmd: the attempt count goes back
  sum.add(usage_change(&claimed, released, 5'100));
  BOOST_TEST(sum.empty());
}

BOOST_AUTO_TEST_CASE(months_and_their_first_hours) {
  BOOST_TEST(usage_month(0) == 0);
  // 2026-12-06T20:00Z: month 56 * 12 + 11.
  BOOST_TEST(usage_month(1'796'587'200'000) == 56 * 12 + 11);
  BOOST_TEST(month_first_hour(0) == 0);
  BOOST_TEST(month_first_hour(1) == 31 * 24);                 // February 1970
  BOOST_TEST(month_first_hour(56 * 12 + 11) * 3'600'000 == 1'796'083'200'000);  // 2026-12-01
  BOOST_TEST(month_first_hour(56 * 12 + 12) * 3'600'000 == 1'798'761'600'000);  // 2027-01-01
}

BOOST_AUTO_TEST_SUITE_END()
