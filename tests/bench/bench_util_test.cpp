#define BOOST_TEST_MODULE bench_util
#include <boost/test/included/unit_test.hpp>

#include "bench_util.hpp"

// The load generator reads claim answers with a fast path for Baton's own layout and a
// full JSON parse for anything else; both must agree.

namespace {

const std::string kClaimed =
    R"({"task":{"id":"tsk_01M83CFH2B0Z65MXZEM1CVM0J5","type":"bench","status":"claimed",)"
    R"("payload":{"n":1},"leaseToken":"lse_1f912fb3d8b0fd4abd99a7f5664fd826","claimedBy":"w1"},)"
    R"("agent_contract":{"version":"1","retryable":false,"next_actions":[]}})";

}  // namespace

BOOST_AUTO_TEST_CASE(fast_path_reads_id_and_token) {
  bench::Claimed c;
  BOOST_TEST(bench::parse_claim_fast(kClaimed, c));
  BOOST_TEST(c.id == "tsk_01M83CFH2B0Z65MXZEM1CVM0J5");
  BOOST_TEST(c.token == "lse_1f912fb3d8b0fd4abd99a7f5664fd826");
  bench::Claimed full = bench::parse_claim(kClaimed);
  BOOST_TEST(full.ok);
  BOOST_TEST(full.id == c.id);
  BOOST_TEST(full.token == c.token);
}

BOOST_AUTO_TEST_CASE(other_layouts_fall_back_to_the_full_parse) {
  const std::string reordered =
      R"({"agent_contract":{},"task":{"leaseToken":"lse_ab","id":"tsk_X1"}})";
  bench::Claimed c;
  BOOST_TEST(!bench::parse_claim_fast(reordered, c));
  bench::Claimed full = bench::parse_claim(reordered);
  BOOST_TEST(full.ok);
  BOOST_TEST(full.id == "tsk_X1");
  BOOST_TEST(full.token == "lse_ab");

  const std::string spaced = R"({ "task": { "id": "tsk_X2" } })";
  BOOST_TEST(!bench::parse_claim_fast(spaced, c));
  BOOST_TEST(bench::parse_claim(spaced).id == "tsk_X2");
}

BOOST_AUTO_TEST_CASE(an_empty_claim_is_empty_and_garbage_is_not_ok) {
  bench::Claimed empty = bench::parse_claim(R"({"task":null,"agent_contract":{}})");
  BOOST_TEST(empty.ok);
  BOOST_TEST(empty.empty);
  for (std::string bad : {std::string(R"({"task":{"id":"tsk_\"x"}})"),
                          std::string(R"({"task":{"id":"tsk_x)"), std::string("not json"),
                          std::string(R"({"task":{"id":"a b"}})")}) {
    bench::Claimed c = bench::parse_claim(bad);
    BOOST_TEST(!c.ok, bad);
  }
  bench::Claimed c;
  BOOST_TEST(!bench::parse_claim_fast(R"({"task":{"id":"tsk_1","leaseToken":"lse_)", c));
}
