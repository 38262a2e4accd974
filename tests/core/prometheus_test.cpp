#define BOOST_TEST_MODULE prometheus
#include <boost/test/unit_test.hpp>

#include "core/histogram.hpp"
#include "core/prometheus_text.hpp"
#include "core/queue.hpp"

// The Prometheus text writer, the lock-free histogram behind it, and the folding of task
// types that bounds /metrics' series.

using namespace baton;

BOOST_AUTO_TEST_CASE(histogram_counts_each_value_in_the_first_bound_at_or_over_it) {
  constexpr std::array<std::int64_t, 3> bounds = {10, 100, 1000};
  Histogram h(bounds);
  for (std::int64_t v : {0, 10, 11, 100, 999, 1000, 1001, 50'000}) h.add(v);
  HistogramSnapshot s = h.snapshot();
  BOOST_TEST(s.bounds == std::vector<std::int64_t>(bounds.begin(), bounds.end()));
  BOOST_TEST(s.counts == (std::vector<std::uint64_t>{2, 2, 2, 2}));
  BOOST_TEST(s.count == 8u);
  BOOST_TEST(s.sum == 0 + 10 + 11 + 100 + 999 + 1000 + 1001 + 50'000);
  HistogramSnapshot twice = s;
  twice.merge(s);
  BOOST_TEST(twice.counts == (std::vector<std::uint64_t>{4, 4, 4, 4}));
  BOOST_TEST(twice.count == 16u);
  HistogramSnapshot empty;
  empty.merge(s);
  BOOST_TEST(empty.count == 8u);
}

BOOST_AUTO_TEST_CASE(histograms_print_cumulative_buckets_in_seconds) {
  constexpr std::array<std::int64_t, 2> bounds = {100, 2500};
  Histogram h(bounds);
  h.add(50);
  h.add(2000);
  h.add(9000);
  std::string out;
  prometheus::histogram(out, "x_seconds", {{"route", "a"}}, h.snapshot(), 1e6);
  BOOST_TEST(out ==
             "x_seconds_bucket{route=\"a\",le=\"0.0001\"} 1\n"
             "x_seconds_bucket{route=\"a\",le=\"0.0025\"} 2\n"
             "x_seconds_bucket{route=\"a\",le=\"+Inf\"} 3\n"
             "x_seconds_sum{route=\"a\"} 0.01105\n"
             "x_seconds_count{route=\"a\"} 3\n");
}

BOOST_AUTO_TEST_CASE(label_values_and_help_are_escaped) {
  BOOST_TEST(prometheus::escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  std::string out;
  prometheus::family(out, "m", "gauge", "line\\one\ntwo \"quoted\"");
  BOOST_TEST(out == "# HELP m line\\\\one\\ntwo \"quoted\"\n# TYPE m gauge\n");
  out.clear();
  prometheus::sample(out, "m", {{"type", "x\"y"}}, 2.5);
  prometheus::sample(out, "m", {}, std::uint64_t{7});
  BOOST_TEST(out == "m{type=\"x\\\"y\"} 2.5\nm 7\n");
}

BOOST_AUTO_TEST_CASE(types_past_the_bound_fold_into_other) {
  auto queue = [](std::string type, std::int64_t pending, std::int64_t dead) {
    QueueStats q;
    q.type = std::move(type);
    q.pending = pending;
    q.dead_lettered = dead;
    q.created_last_minute = 1;
    return q;
  };
  std::vector<QueueStats> types = {queue("c", 1, 0), queue("a", 5, 0), queue("b", 0, 3),
                                   queue("d", 1, 1)};
  std::vector<QueueStats> kept = fold_types(types, 2);
  BOOST_REQUIRE(kept.size() == 3u);
  BOOST_TEST(kept[0].type == "a");  // the biggest two, by name
  BOOST_TEST(kept[1].type == "b");
  BOOST_TEST(kept[2].type == "other");
  BOOST_TEST(kept[2].pending == 2);
  BOOST_TEST(kept[2].dead_lettered == 1);
  BOOST_TEST(kept[2].created_last_minute == 2);
  // Within the bound: by name, nothing folded.
  std::vector<QueueStats> all = fold_types(types, 4);
  BOOST_REQUIRE(all.size() == 4u);
  BOOST_TEST(all[0].type == "a");
  BOOST_TEST(all[3].type == "d");
  BOOST_TEST(fold_types({}, 3).empty());
  // A type named "other" and a fold: one "other", holding both.
  std::vector<QueueStats> with_other = fold_types({queue("other", 9, 0), queue("a", 5, 0), queue("b", 4, 0), queue("c", 1, 0)}, 2);
  BOOST_REQUIRE(with_other.size() == 3u);
  BOOST_TEST(with_other[0].type == "a");
  BOOST_TEST(with_other[1].type == "b");
  BOOST_TEST(with_other[2].type == "other");
  BOOST_TEST(with_other[2].pending == 10);
  BOOST_TEST(fold_types({queue("other", 9, 0)}, 2).size() == 1u);  // no rest: itself
  BOOST_TEST(task_count(queue("x", 2, 3)) == 5);
}
