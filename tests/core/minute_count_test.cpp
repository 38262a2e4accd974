#define BOOST_TEST_MODULE minute_count
#include <boost/test/unit_test.hpp>

#include "core/minute_count.hpp"

// The last minute's events, in ten-second buckets.

using namespace baton;

BOOST_AUTO_TEST_CASE(counts_the_last_six_buckets) {
  MinuteCount count;
  constexpr Millis t = 1'767'225'600'000;  // on a bucket boundary
  BOOST_TEST(count.idle(t));
  count.add(t);
  count.add(t + 9'999, 2);
  BOOST_TEST(count.sum(t + 9'999) == 3);
  count.add(t + 10'000);
  BOOST_TEST(count.sum(t + 10'000) == 4);
  // The first bucket is counted until the sixth after it begins.
  BOOST_TEST(count.sum(t + 59'999) == 4);
  BOOST_TEST(count.sum(t + 60'000) == 1);
  BOOST_TEST(count.sum(t + 70'000) == 0);
  BOOST_TEST(count.idle(t + 70'000));
}

BOOST_AUTO_TEST_CASE(a_reused_slot_starts_from_zero) {
  MinuteCount count;
  constexpr Millis t = 1'767'225'600'000;
  count.add(t, 5);
  count.add(t + 60'000);  // the same slot, a minute on
  BOOST_TEST(count.sum(t + 60'000) == 1);
}

BOOST_AUTO_TEST_CASE(a_clock_stepped_back_counts_nothing_from_the_future) {
  MinuteCount count;
  constexpr Millis t = 1'767'225'600'000;
  count.add(t + 30'000);
  BOOST_TEST(count.sum(t) == 0);  // a bucket after now is not in the last minute
  BOOST_TEST(count.sum(t + 30'000) == 1);
}
