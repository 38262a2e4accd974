#define BOOST_TEST_MODULE timer_wheel
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "engine/timer_wheel.hpp"

using baton::TimerWheel;
using baton::WheelTimer;

namespace {

constexpr std::int64_t kDay = 24LL * 3600 * 1000;
constexpr std::int64_t kT0 = 1'767'225'600'123;  // 2026-01-01, deliberately off tick boundaries

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - (a % b != 0 && a < 0); }

// Records the `kind` of every fired timer, in firing order.
struct Recorder {
  std::vector<std::uint32_t> ids;
  void operator()(WheelTimer& t) { ids.push_back(t.kind); }
};

std::vector<WheelTimer> make_timers(std::size_t n) {
  std::vector<WheelTimer> timers(n);
  for (std::size_t i = 0; i < n; ++i) timers[i].kind = static_cast<std::uint32_t>(i);
  return timers;
}

// Fires `t` alone at exactly `due`, and nothing at due - 1.
void expect_fires_exactly_at(TimerWheel& w, WheelTimer& t, std::int64_t due) {
  Recorder r;
  BOOST_TEST(w.advance(due - 1, r) == 0U);
  BOOST_TEST(t.armed());
  BOOST_TEST(w.advance(due, r) == 1U);
  BOOST_TEST(r.ids == std::vector<std::uint32_t>{t.kind});
  BOOST_TEST(!t.armed());
}

}  // namespace

BOOST_AUTO_TEST_CASE(fires_at_due_not_before) {
  WheelTimer t;
  TimerWheel w(kT0);
  w.schedule(t, kT0 + 1234);
  BOOST_TEST(t.armed());
  expect_fires_exactly_at(w, t, kT0 + 1234);
  BOOST_TEST(w.now_ms() == kT0 + 1234);
}

BOOST_AUTO_TEST_CASE(fires_inside_a_partly_elapsed_tick_only_what_is_due) {
  auto t = make_timers(2);
  TimerWheel w(1000);  // tick [1100, 1110) holds both timers
  w.schedule(t[0], 1103);
  w.schedule(t[1], 1108);
  Recorder r;
  BOOST_TEST(w.advance(1102, r) == 0U);
  BOOST_TEST(w.advance(1103, r) == 1U);
  BOOST_TEST(w.advance(1107, r) == 0U);
  BOOST_TEST(w.advance(1108, r) == 1U);
  BOOST_TEST(r.ids == (std::vector<std::uint32_t>{0, 1}));
}

BOOST_AUTO_TEST_CASE(cancelled_timer_never_fires) {
  WheelTimer t;
  TimerWheel w(kT0);
  w.schedule(t, kT0 + 50);
  w.cancel(t);
  BOOST_TEST(!t.armed());
  BOOST_TEST(w.size() == 0U);
  Recorder r;
  BOOST_TEST(w.advance(kT0 + 10 * kDay, r) == 0U);
}

BOOST_AUTO_TEST_CASE(cancel_of_unarmed_timer_is_a_noop) {
  auto t = make_timers(2);
  TimerWheel w(kT0);
  w.schedule(t[1], kT0 + 10);
  w.cancel(t[0]);
  w.cancel(t[0]);
  BOOST_TEST(w.size() == 1U);
  BOOST_TEST(t[1].armed());
}

BOOST_AUTO_TEST_CASE(rearm_moves_timer_and_old_time_does_not_fire) {
  WheelTimer t;
  TimerWheel w(kT0);
  w.schedule(t, kT0 + 100);
  w.schedule(t, kT0 + 300 * kDay);  // later: from level 0 to level 3
  BOOST_TEST(w.size() == 1U);
  Recorder r;
  BOOST_TEST(w.advance(kT0 + 200 * kDay, r) == 0U);
  w.schedule(t, kT0 + 200 * kDay + 5);  // earlier again, back to level 0
  BOOST_TEST(w.size() == 1U);
  expect_fires_exactly_at(w, t, kT0 + 200 * kDay + 5);
  BOOST_TEST(w.advance(kT0 + 400 * kDay, r) == 0U);
}

BOOST_AUTO_TEST_CASE(cascades_through_every_level_and_overflow) {
  const std::int64_t offsets[] = {1, 300, 70'000, 20'000'000, (1LL << 32) + 5, 3LL << 33};
  for (std::int64_t start : {std::int64_t{0}, kT0, std::int64_t{-7777}}) {
    BOOST_TEST_CONTEXT("start " << start) {
      auto t = make_timers(std::size(offsets));
      TimerWheel w(start);
      for (std::size_t i = 0; i < t.size(); ++i) w.schedule(t[i], start + offsets[i] * 10 + 3);
      for (std::size_t i = 0; i < t.size(); ++i) {
        BOOST_TEST(w.size() == t.size() - i);
        expect_fires_exactly_at(w, t[i], start + offsets[i] * 10 + 3);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(overflow_timers_are_released_across_the_top_level_boundary) {
  const std::int64_t start = ((1LL << 32) - 4) * 10;  // four ticks before a 2^32-tick boundary
  auto t = make_timers(3);
  TimerWheel w(start);
  w.schedule(t[0], start + 45);   // beyond the boundary, so parked in overflow
  w.schedule(t[1], start + 3000);
  w.schedule(t[2], start + 20);   // before the boundary
  expect_fires_exactly_at(w, t[2], start + 20);
  expect_fires_exactly_at(w, t[0], start + 45);
  expect_fires_exactly_at(w, t[1], start + 3000);
}

BOOST_AUTO_TEST_CASE(far_horizons_fire_on_time) {
  const std::int64_t dues[] = {kT0 + 730 * kDay, kT0 + 3650 * kDay + 7, kT0 + 100'000 * kDay};
  for (std::int64_t tick : {10, 1}) {  // at 1 ms the top level spans only ~50 days
    auto t = make_timers(3);
    TimerWheel w(kT0, tick);
    for (std::size_t i = 0; i < 3; ++i) w.schedule(t[i], dues[i]);
    Recorder r;
    for (std::int64_t now = kT0; now < dues[0]; now += 30 * kDay) BOOST_TEST(w.advance(now, r) == 0U);
    for (std::size_t i = 0; i < 3; ++i) expect_fires_exactly_at(w, t[i], dues[i]);
  }
}

BOOST_AUTO_TEST_CASE(ten_thousand_timers_at_one_tick_each_fire_exactly_once) {
  auto t = make_timers(10'000);
  TimerWheel w(kT0);
  for (auto& x : t) w.schedule(x, kT0 + 5000);
  BOOST_TEST(w.size() == 10'000U);
  std::vector<int> count(t.size());
  auto bump = [&](WheelTimer& x) { ++count[x.kind]; };
  BOOST_TEST(w.advance(kT0 + 4999, bump) == 0U);
  BOOST_TEST(w.advance(kT0 + 5000, bump) == 10'000U);
  BOOST_TEST(w.advance(kT0 + 9000, bump) == 0U);
  BOOST_TEST(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
  BOOST_TEST(w.size() == 0U);
}

BOOST_AUTO_TEST_CASE(large_jump_fires_everything_due_in_tick_order) {
  auto t = make_timers(5000);
  TimerWheel w(kT0);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> when(1, 3 * 365 * kDay);
  for (auto& x : t) w.schedule(x, kT0 + when(rng));
  for (std::int64_t now : {kT0 + 2 * 365 * kDay, kT0 + 3 * 365 * kDay}) {
    std::set<std::uint32_t> expected;
    for (auto& x : t) {
      if (x.armed() && x.due_ms <= now) expected.insert(x.kind);
    }
    std::int64_t last_tick = INT64_MIN;
    bool ordered = true;
    std::set<std::uint32_t> got;
    w.advance(now, [&](WheelTimer& x) {
      ordered = ordered && floor_div(x.due_ms, 10) >= last_tick;
      last_tick = floor_div(x.due_ms, 10);
      got.insert(x.kind);
    });
    BOOST_TEST(ordered);
    BOOST_TEST(got == expected);
    const auto armed = std::count_if(t.begin(), t.end(), [](auto& x) { return x.armed(); });
    BOOST_TEST(w.size() == static_cast<std::size_t>(armed));
  }
  BOOST_TEST(w.size() == 0U);
}

BOOST_AUTO_TEST_CASE(empty_wheel_jumps_centuries_instantly) {
  TimerWheel w(0, 1);
  Recorder r;
  BOOST_TEST(w.advance(1LL << 52, r) == 0U);  // ~142 000 years of 1 ms ticks
  BOOST_TEST(w.now_ms() == 1LL << 52);
}

BOOST_AUTO_TEST_CASE(timer_scheduled_in_the_past_fires_on_the_next_advance) {
  auto t = make_timers(3);  // declared first: timers must outlive the wheel or be disarmed
  TimerWheel w(kT0);
  Recorder r;
  w.advance(kT0 + 1000, r);
  w.schedule(t[0], kT0 - 5 * kDay);
  w.schedule(t[1], kT0 + 1000);   // exactly now
  w.schedule(t[2], kT0 + 1001);
  BOOST_TEST(w.advance(kT0 + 1000, r) == 2U);  // same now: only what is due
  BOOST_TEST(t[2].armed());
  BOOST_TEST(w.advance(kT0 + 1001, r) == 1U);
}

BOOST_AUTO_TEST_CASE(callback_rearming_into_the_past_fires_on_the_next_advance_only) {
  WheelTimer t;
  TimerWheel w(kT0);
  w.schedule(t, kT0 + 10);
  int fires = 0;
  auto periodic = [&](WheelTimer& x) {  // a heartbeat catching up after a long pause
    ++fires;
    BOOST_TEST(!x.armed());
    w.schedule(x, x.due_ms + 10);
  };
  BOOST_TEST(w.advance(kT0 + kDay, periodic) == 1U);
  BOOST_TEST(w.advance(kT0 + kDay, periodic) == 1U);
  BOOST_TEST(fires == 2);
  BOOST_TEST(t.due_ms == kT0 + 30);
  BOOST_TEST(w.size() == 1U);
}

BOOST_AUTO_TEST_CASE(callback_rearming_into_the_future_fires_at_the_new_time) {
  WheelTimer t;
  TimerWheel w(kT0);
  w.schedule(t, kT0 + 10);
  int fires = 0;
  auto later = [&](WheelTimer& x) {
    if (++fires == 1) w.schedule(x, kT0 + 10 * kDay);
  };
  BOOST_TEST(w.advance(kT0 + kDay, later) == 1U);
  BOOST_TEST(w.advance(kT0 + 10 * kDay - 1, later) == 0U);
  BOOST_TEST(w.advance(kT0 + 10 * kDay, later) == 1U);
}

BOOST_AUTO_TEST_CASE(callback_may_cancel_or_rearm_other_due_timers) {
  auto t = make_timers(5);
  TimerWheel w(kT0);
  w.schedule(t[0], kT0 + 10);
  w.schedule(t[1], kT0 + 500);   // cancelled by t[0] before its turn
  w.schedule(t[2], kT0 + 600);   // moved past now by t[0]
  w.schedule(t[3], kT0 + 700);   // moved earlier but still <= now: waits for the next advance
  Recorder r;
  auto cb = [&](WheelTimer& x) {
    r(x);
    if (x.kind != 0) return;
    w.cancel(t[1]);
    w.schedule(t[2], kT0 + 5000);
    w.schedule(t[3], kT0 + 20);
    w.schedule(t[4], kT0 + 30);  // a brand-new timer, also <= now
    w.cancel(x);                 // already disarmed: a no-op
  };
  BOOST_TEST(w.advance(kT0 + 1000, cb) == 1U);
  BOOST_TEST(w.size() == 3U);
  BOOST_TEST(w.advance(kT0 + 1000, cb) == 2U);
  BOOST_TEST(w.advance(kT0 + 5000, cb) == 1U);
  BOOST_REQUIRE(r.ids.size() == 4U);
  std::sort(r.ids.begin() + 1, r.ids.begin() + 3);  // same tick: either order
  BOOST_TEST(r.ids == (std::vector<std::uint32_t>{0, 3, 4, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(same_tick_timers_cancelling_each_other_fire_once) {
  auto t = make_timers(2);
  TimerWheel w(kT0);
  w.schedule(t[0], kT0 + 101);
  w.schedule(t[1], kT0 + 102);
  auto cb = [&](WheelTimer& x) { w.cancel(t[1 - x.kind]); };
  BOOST_TEST(w.advance(kT0 + 200, cb) == 1U);
  BOOST_TEST(w.size() == 0U);
}

BOOST_AUTO_TEST_CASE(size_counts_armed_timers) {
  auto t = make_timers(4);
  TimerWheel w(kT0);
  BOOST_TEST(w.size() == 0U);
  for (std::size_t i = 0; i < 4; ++i) w.schedule(t[i], kT0 + 100 * static_cast<std::int64_t>(i + 1));
  BOOST_TEST(w.size() == 4U);
  w.schedule(t[0], kT0 + 1000);
  BOOST_TEST(w.size() == 4U);
  w.cancel(t[3]);
  BOOST_TEST(w.size() == 3U);
  w.advance(kT0 + 250, [&](WheelTimer&) { BOOST_TEST(w.size() == 2U); });  // t[1] fired
  BOOST_TEST(w.size() == 2U);
}

BOOST_AUTO_TEST_CASE(destructor_disarms_every_timer) {
  auto t = make_timers(4);
  {
    TimerWheel w(kT0);
    const std::int64_t dues[] = {kT0 - 1, kT0 + 5, kT0 + 30 * kDay, kT0 + 5000 * kDay};
    for (std::size_t i = 0; i < 4; ++i) w.schedule(t[i], dues[i]);
  }
  BOOST_TEST(std::none_of(t.begin(), t.end(), [](auto& x) { return x.armed(); }));
  TimerWheel again(kT0);
  again.schedule(t[0], kT0 + 1);
  BOOST_TEST(again.size() == 1U);
}

BOOST_AUTO_TEST_CASE(earlier_now_neither_rewinds_nor_fires_early) {
  WheelTimer t;
  TimerWheel w(kT0);
  Recorder r;
  w.advance(kT0 + 1000, r);
  w.schedule(t, kT0 + 995);  // overdue, but later than the stale clock below
  BOOST_TEST(w.advance(kT0 + 990, r) == 0U);
  BOOST_TEST(w.now_ms() == kT0 + 1000);
  BOOST_TEST(w.advance(kT0 + 995, r) == 1U);
}

BOOST_AUTO_TEST_CASE(throwing_callback_leaves_the_wheel_consistent) {
  auto t = make_timers(3);
  TimerWheel w(kT0);
  for (auto& x : t) w.schedule(x, kT0 + 10);
  BOOST_CHECK_THROW(w.advance(kT0 + 20, [](WheelTimer&) { throw std::runtime_error("boom"); }),
                    std::runtime_error);
  BOOST_TEST(w.size() == 2U);
  Recorder r;
  BOOST_TEST(w.advance(kT0 + 20, r) == 2U);
  BOOST_TEST(w.size() == 0U);
}

BOOST_AUTO_TEST_CASE(rejects_a_non_positive_tick) {
  BOOST_CHECK_THROW(TimerWheel(0, 0), std::invalid_argument);
}

namespace {

// Differential test: a std::multimap of (due, id) says exactly which timers must fire at
// each advance; callbacks also re-arm and cancel, and the model follows them.
void run_against_reference(std::int64_t start, std::int64_t tick, std::uint64_t seed) {
  BOOST_TEST_CONTEXT("start " << start << " tick " << tick << " seed " << seed) {
    auto t = make_timers(300);
    TimerWheel w(start, tick);
    std::multimap<std::int64_t, std::uint32_t> ref;
    std::vector<std::multimap<std::int64_t, std::uint32_t>::iterator> pos(t.size(), ref.end());
    std::mt19937_64 rng(seed);
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    auto delta = [&] {  // spans every level, the overflow list and the past
      static constexpr std::int64_t spans[] = {0, 3, 40, 3000, 1'000'000, 300'000'000, 90'000'000'000};
      return pick(-20, spans[pick(0, 6)]);
    };
    auto ref_drop = [&](std::uint32_t id) {
      if (pos[id] != ref.end()) ref.erase(pos[id]);
      pos[id] = ref.end();
    };
    auto arm = [&](std::uint32_t id, std::int64_t due) {
      ref_drop(id);
      pos[id] = ref.emplace(due, id);
      w.schedule(t[id], due);
    };
    std::int64_t now = start;
    std::set<std::uint32_t> pending;
    for (int step = 0; step < 6000; ++step) {
      const auto id = static_cast<std::uint32_t>(pick(0, static_cast<std::int64_t>(t.size()) - 1));
      const int op = static_cast<int>(pick(0, 99));
      if (op < 40) {
        arm(id, now + delta());
      } else if (op < 55) {
        ref_drop(id);
        w.cancel(t[id]);
      } else {
        const std::int64_t jumps[] = {0, 15, 2000, 20'000'000, 60'000'000'000};
        now += pick(0, jumps[std::min<std::int64_t>(pick(0, 30), 4)]);
        const std::int64_t floor_tick = floor_div(w.now_ms(), tick);  // overdue ones count as now
        for (auto it = ref.begin(); it != ref.end() && it->first <= now; it = ref.begin()) {
          pending.insert(it->second);
          ref_drop(it->second);
        }
        std::int64_t last_tick = INT64_MIN;
        std::size_t errors = 0, calls = 0;
        const std::size_t fired = w.advance(now, [&](WheelTimer& x) {
          ++calls;
          const std::int64_t tk = std::max(floor_div(x.due_ms, tick), floor_tick);
          errors += (pending.erase(x.kind) != 1) + x.armed() + (x.due_ms > now) + (tk < last_tick);
          last_tick = tk;
          const int act = static_cast<int>(pick(0, 9));
          const auto other = static_cast<std::uint32_t>(pick(0, static_cast<std::int64_t>(t.size()) - 1));
          if (act < 2) arm(x.kind, now + delta());  // may be <= now: must wait for next advance
          if (act == 2 || act == 3) {
            pending.erase(other);
            if (act == 2) {
              ref_drop(other);
              w.cancel(t[other]);
            } else {
              arm(other, now + delta());
            }
          }
        });
        BOOST_TEST(errors == 0U);
        BOOST_TEST(pending.empty());
        BOOST_TEST(fired == calls);
        pending.clear();
      }
      std::size_t mismatched = 0;
      for (std::size_t i = 0; i < t.size(); ++i) mismatched += t[i].armed() != (pos[i] != ref.end());
      BOOST_TEST(mismatched == 0U);
      BOOST_TEST(w.size() == ref.size());
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(randomized_schedule_cancel_advance_matches_reference_model) {
  run_against_reference(kT0, 10, 1);
  run_against_reference(0, 1, 2);
  run_against_reference(-123'457, 7, 3);
  run_against_reference(((1LL << 32) - 50) * 10, 10, 4);  // starts next to an overflow boundary
}
