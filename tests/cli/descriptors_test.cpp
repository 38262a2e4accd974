#define BOOST_TEST_MODULE descriptors
#include <boost/test/unit_test.hpp>

#include <sys/resource.h>

#include <limits>

#include "cli/descriptors.hpp"

// The open-file budget: storage and shards first, connections get what is left, never
// more than asked for.

using namespace baton;

BOOST_AUTO_TEST_CASE(connections_get_what_storage_and_shards_leave) {
  DescriptorBudget b = split_descriptors(1024, 10000, 256, 2);
  BOOST_TEST(b.reserved == 256 + kStorageFixedDescriptors + 2 * kShardDescriptors + kSpareDescriptors);
  BOOST_TEST(b.connections == static_cast<int>(1024 - b.reserved));
  BOOST_TEST(b.limit == 1024u);
}

BOOST_AUTO_TEST_CASE(a_large_limit_gives_every_connection_asked_for) {
  BOOST_TEST(split_descriptors(1 << 20, 10000, 256, 2).connections == 10000);
  BOOST_TEST(split_descriptors(std::numeric_limits<std::uint64_t>::max(), 7, 256, 64).connections == 7);
}

BOOST_AUTO_TEST_CASE(a_limit_below_what_storage_needs_leaves_no_connection) {
  BOOST_TEST(split_descriptors(100, 10000, 256, 2).connections == 0);
  DescriptorBudget exact = split_descriptors(1024, 10000, 256, 2);
  BOOST_TEST(split_descriptors(exact.reserved, 10000, 256, 2).connections == 0);
  BOOST_TEST(split_descriptors(exact.reserved + 1, 10000, 256, 2).connections == 1);
}

BOOST_AUTO_TEST_CASE(planning_raises_the_soft_limit_to_the_hard_one) {
  rlimit before{};
  BOOST_REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  rlimit lowered = before;
  lowered.rlim_cur = std::min<rlim_t>(before.rlim_max, 512);
  BOOST_REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  DescriptorBudget b = plan_descriptors(10, 16, 1);
  rlimit after{};
  BOOST_REQUIRE(getrlimit(RLIMIT_NOFILE, &after) == 0);
  BOOST_TEST(after.rlim_cur >= std::min<rlim_t>(before.rlim_max, 1 << 20));
  BOOST_TEST(b.limit == (after.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max()
                                                          : static_cast<std::uint64_t>(after.rlim_cur)));
  BOOST_TEST(b.connections == 10);
}
