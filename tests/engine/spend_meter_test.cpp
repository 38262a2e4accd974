#define BOOST_TEST_MODULE spend_meter
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "engine/spend_meter.hpp"

// The monthly spend meter (engine/spend_meter.hpp): loaded once per month from storage,
// added to by the shards' reports, and no report lost to a load in progress.

using namespace baton;

BOOST_AUTO_TEST_CASE(reports_add_once_loaded_and_a_new_month_loads_again) {
  std::atomic<int> loads{0};
  SpendMeter meter([&](const std::string&, std::int64_t month) {
    ++loads;
    return month == 5 ? 100 : 1000;
  });
  meter.add("acct", 5, 40);  // not loaded yet: storage will have it
  BOOST_TEST(meter.spent("acct", 5) == 100);
  meter.add("acct", 5, 50);
  meter.add("other", 5, 7);  // an account never asked about costs nothing
  BOOST_TEST(meter.spent("acct", 5) == 150);
  BOOST_TEST(loads == 1);
  meter.add("acct", 4, 3);  // a late report of a past month changes this one nothing
  BOOST_TEST(meter.spent("acct", 5) == 150);
  BOOST_TEST(meter.spent("acct", 6) == 1000);
  BOOST_TEST(loads == 2);
  meter.forget();
  BOOST_TEST(meter.spent("acct", 6) == 1000);
  BOOST_TEST(loads == 3);
}

BOOST_AUTO_TEST_CASE(reports_during_a_load_are_kept) {
  std::promise<void> loading, release;
  auto release_future = release.get_future();
  SpendMeter meter([&](const std::string&, std::int64_t) {
    loading.set_value();
    release_future.wait();
    return std::int64_t{100};
  });
  std::int64_t seen = 0;
  std::thread reader([&] { seen = meter.spent("acct", 9); });
  loading.get_future().wait();
  std::thread reporters[4];
  for (auto& reporter : reporters) {
    reporter = std::thread([&] {
      for (int i = 0; i < 1000; ++i) meter.add("acct", 9, 1);
    });
  }
  for (auto& reporter : reporters) reporter.join();
  release.set_value();
  reader.join();
  BOOST_TEST(seen == 4100);
  BOOST_TEST(meter.spent("acct", 9) == 4100);
}

BOOST_AUTO_TEST_CASE(a_failed_load_is_tried_again) {
  int calls = 0;
  SpendMeter meter([&](const std::string&, std::int64_t) -> std::int64_t {
    if (++calls == 1) throw std::runtime_error("storage");
    return 5;
  });
  BOOST_CHECK_THROW(meter.spent("acct", 1), std::runtime_error);
  BOOST_TEST(meter.spent("acct", 1) == 5);
}
