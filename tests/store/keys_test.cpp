#define BOOST_TEST_MODULE keys
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/task.hpp"
#include "core/ulid.hpp"
#include "store/keys.hpp"

// RocksDB key encoding: round trips, byte order = the order the engine relies on, and
// decoders that survive any input.

using namespace baton;
using namespace baton::keys;

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 r(20261122);
  return r;
}

Ulid random_ulid() {
  Ulid u;
  for (auto& b : u) b = static_cast<std::uint8_t>(rng()());
  return u;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng()());
  return out;
}

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string hex(const Ulid& u) {
  return hex(std::string_view(reinterpret_cast<const char*>(u.data()), u.size()));
}

// Byte-wise comparison as RocksDB's default comparator does it (unsigned bytes).
bool bytes_less(const std::string& a, const std::string& b) {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(),
      [](char x, char y) { return static_cast<unsigned char>(x) < static_cast<unsigned char>(y); });
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

const std::string kAccounts[] = {"acct_01KDXK4M00000000000000000A", "acct_01KDXK4M00000000000000000B",
                                 "acct_01KDXK4M00000000000000000C"};
const std::string kTypes[] = {"aaaa", "aaab", "bbbb", "zzzz"};  // equal lengths

}  // namespace

// ---- integers ------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(integers)

BOOST_AUTO_TEST_CASE(be16_and_be64_write_big_endian_and_read_back) {
  std::string out;
  put_be16(out, 0x1234);
  put_be64(out, 0x0102030405060708ULL);
  BOOST_TEST(hex(out) == "12340102030405060708");
  BOOST_TEST(get_be16(out, 0) == 0x1234);
  BOOST_TEST(get_be64(out, 2) == 0x0102030405060708ULL);
  std::string max;
  put_be16(max, 0xffff);
  put_be64(max, ~0ULL);
  BOOST_TEST(get_be16(max, 0) == 0xffff);
  BOOST_TEST(get_be64(max, 2) == ~0ULL);
}

BOOST_AUTO_TEST_CASE(be16_byte_order_is_numeric_order) {
  for (int i = 0; i < 5'000; ++i) {
    auto a = static_cast<std::uint16_t>(rng()());
    auto b = static_cast<std::uint16_t>(i % 3 == 0 ? a + 1 : rng()());
    std::string ea, eb;
    put_be16(ea, a);
    put_be16(eb, b);
    BOOST_TEST(bytes_less(ea, eb) == (a < b));
    BOOST_TEST(get_be16(ea, 0) == a);
  }
}

BOOST_AUTO_TEST_CASE(be64_byte_order_is_numeric_order) {
  for (int i = 0; i < 5'000; ++i) {
    std::uint64_t a = rng()();
    std::uint64_t b = i % 3 == 0 ? a + 1 : (i % 3 == 1 ? a >> (rng()() % 64) : rng()());
    std::string ea, eb;
    put_be64(ea, a);
    put_be64(eb, b);
    BOOST_TEST(bytes_less(ea, eb) == (a < b));
    BOOST_TEST(get_be64(ea, 0) == a);
  }
}

BOOST_AUTO_TEST_CASE(order_time_round_trips_every_kind_of_time) {
  std::vector<Millis> times = {0, 1, -1, 1'767'225'600'000, -1'767'225'600'000,
                               std::numeric_limits<Millis>::min(), std::numeric_limits<Millis>::max()};
  for (int i = 0; i < 1'000; ++i) times.push_back(static_cast<Millis>(rng()()));
  for (Millis t : times) BOOST_TEST(unorder_time(order_time(t)) == t);
}

BOOST_AUTO_TEST_CASE(order_time_byte_order_is_numeric_order_including_negative_times) {
  std::vector<Millis> times = {std::numeric_limits<Millis>::min(), -1'000'000, -2, -1, 0, 1, 2,
                               1'767'225'600'000, std::numeric_limits<Millis>::max()};
  for (int i = 0; i < 500; ++i) {
    times.push_back(static_cast<Millis>(rng()()));
    times.push_back(static_cast<Millis>(rng()() % 2'000'000) - 1'000'000);
  }
  constexpr Millis kMin = std::numeric_limits<Millis>::min();
  constexpr Millis kMax = std::numeric_limits<Millis>::max();
  for (Millis a : times) {
    std::vector<Millis> others = {times[rng()() % times.size()]};
    if (a != kMax) others.push_back(a + 1);
    if (a != kMin) others.push_back(a - 1);
    if (a != kMin) others.push_back(-a);
    for (Millis b : others) {
      std::string ea, eb;
      put_be64(ea, order_time(a));
      put_be64(eb, order_time(b));
      BOOST_TEST_CONTEXT(a << " vs " << b) { BOOST_TEST(bytes_less(ea, eb) == (a < b)); }
    }
  }
}

BOOST_AUTO_TEST_CASE(put_string8_writes_a_length_byte_then_the_bytes) {
  std::string out;
  put_string8(out, "abc");
  BOOST_TEST(hex(out) == "03616263");
  out.clear();
  put_string8(out, "");
  BOOST_TEST(hex(out) == "00");
  out.clear();
  put_string8(out, std::string(255, 'x'));
  BOOST_TEST(out.size() == 256U);
  BOOST_TEST(static_cast<unsigned char>(out[0]) == 255U);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- task keys -----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(task_keys)

BOOST_AUTO_TEST_CASE(task_key_is_vnode_then_id_and_round_trips) {
  for (int i = 0; i < 2'000; ++i) {
    Ulid id = random_ulid();
    int vnode = static_cast<int>(rng()() % kVnodeCount);
    std::string key = task_key(vnode, id);
    BOOST_TEST(key.size() == 18U);
    BOOST_TEST(get_be16(key, 0) == vnode);
    auto back = task_key_id(key);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(hex(*back) == hex(id));
  }
}

BOOST_AUTO_TEST_CASE(task_key_of_an_id_uses_the_vnode_inside_the_id) {
  UlidGenerator gen(5);
  for (int vnode = 0; vnode < kVnodeCount; ++vnode) {
    Ulid id = gen.next(1'767'225'600'000 + vnode, vnode);
    std::string key = task_key(id);
    BOOST_TEST(get_be16(key, 0) == vnode);
    BOOST_TEST(key == task_key(vnode, id));
  }
}

BOOST_AUTO_TEST_CASE(task_keys_of_one_vnode_sort_by_id) {
  std::vector<Ulid> ids;
  for (int i = 0; i < 500; ++i) ids.push_back(random_ulid());
  for (int i = 0; i < 500; ++i) {
    const Ulid& a = ids[i];
    const Ulid& b = ids[(i * 7 + 1) % 500];
    BOOST_TEST(bytes_less(task_key(3, a), task_key(3, b)) == (a < b));
    BOOST_TEST(bytes_less(task_key(3, a), task_key(4, b)));
  }
}

BOOST_AUTO_TEST_CASE(task_key_id_rejects_wrong_sizes) {
  std::string key = task_key(7, random_ulid());
  for (std::size_t n = 0; n < key.size(); ++n) BOOST_TEST(!task_key_id(key.substr(0, n)).has_value());
  BOOST_TEST(!task_key_id(key + "x").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- active keys ---------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(active_keys)

BOOST_AUTO_TEST_CASE(active_key_round_trips) {
  for (int i = 0; i < 5'000; ++i) {
    std::string account = random_bytes(rng()() % 60);
    Ulid id = random_ulid();
    std::string key = active_key(account, id);
    BOOST_TEST(key.size() == 1 + account.size() + 16);
    auto back = decode_active_key(key);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->account == account);
    BOOST_TEST(hex(back->id) == hex(id));
  }
}

BOOST_AUTO_TEST_CASE(active_key_round_trips_at_the_extremes) {
  Ulid ones;
  ones.fill(0xff);
  for (const std::string& account : {std::string(), std::string(255, '\xff'), kAccounts[0]}) {
    for (const Ulid& id : {Ulid{}, ones}) {
      auto back = decode_active_key(active_key(account, id));
      BOOST_REQUIRE(back.has_value());
      BOOST_TEST(back->account == account);
      BOOST_TEST(hex(back->id) == hex(id));
    }
  }
}

BOOST_AUTO_TEST_CASE(active_prefix_is_a_prefix_of_the_account_keys_only) {
  const std::string accounts[] = {"", "a", "ab", "abc", "b"};
  for (const auto& a : accounts) {
    for (const auto& b : accounts) {
      std::string key = active_key(b, random_ulid());
      BOOST_TEST_CONTEXT("'" << a << "' vs '" << b << "'") {
        BOOST_TEST(starts_with(key, active_prefix(a)) == (a == b));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(active_keys_of_an_account_sort_by_id) {
  for (int i = 0; i < 2'000; ++i) {
    Ulid a = random_ulid();
    Ulid b = random_ulid();
    if (i % 2) b = a, b[15 - i % 16] ^= 0x80;
    BOOST_TEST(bytes_less(active_key(kAccounts[0], a), active_key(kAccounts[0], b)) == (a < b));
  }
}

BOOST_AUTO_TEST_CASE(active_keys_of_one_account_are_contiguous_among_other_accounts) {
  const std::string accounts[] = {"a", "ab", "abc", "b", "", "ba"};
  std::vector<std::pair<std::string, std::string>> keys;  // (encoded, account)
  for (int i = 0; i < 2'000; ++i) {
    const std::string& account = accounts[rng()() % 6];
    keys.emplace_back(active_key(account, random_ulid()), account);
  }
  std::sort(keys.begin(), keys.end(),
            [](const auto& x, const auto& y) { return bytes_less(x.first, y.first); });
  std::set<std::string> finished;
  for (std::size_t i = 1; i < keys.size(); ++i) {
    if (keys[i].second != keys[i - 1].second) {
      BOOST_TEST(finished.insert(keys[i - 1].second).second);
      BOOST_TEST(!finished.count(keys[i].second));
    }
  }
}

BOOST_AUTO_TEST_CASE(decode_active_key_rejects_every_truncation_and_extension) {
  for (int i = 0; i < 200; ++i) {
    std::string key = active_key(random_bytes(rng()() % 40), random_ulid());
    for (std::size_t n = 0; n < key.size(); ++n) {
      BOOST_TEST_CONTEXT("prefix " << n << " of " << key.size()) {
        BOOST_TEST(!decode_active_key(key.substr(0, n)).has_value());
      }
    }
    BOOST_TEST(!decode_active_key(key + '\0').has_value());
    BOOST_TEST(!decode_active_key(key + key).has_value());
  }
}

BOOST_AUTO_TEST_CASE(decode_active_key_survives_random_bytes) {
  int accepted = 0;
  for (int i = 0; i < 50'000; ++i) {
    std::string garbage = random_bytes(rng()() % 80);
    if (i % 2 && !garbage.empty()) {
      garbage[0] = static_cast<char>(garbage.size() >= 17 ? garbage.size() - 17 : 0);
    }
    auto key = decode_active_key(garbage);
    if (key) {
      ++accepted;
      BOOST_TEST(active_key(key->account, key->id) == garbage);  // accepted = canonical
    }
  }
  BOOST_TEST(accepted > 0);  // the length-fixed half is well-formed
}

BOOST_AUTO_TEST_SUITE_END()

// ---- listing keys ----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(listing_keys)

BOOST_AUTO_TEST_CASE(list_prefix_is_a_prefix_of_list_key_for_every_index_and_status) {
  ListIndex indexes[] = {ListIndex::all, ListIndex::by_status, ListIndex::by_type,
                         ListIndex::by_type_status};
  for (ListIndex index : indexes) {
    for (int s = 0; s < kTaskStatusCount; ++s) {
      auto status = static_cast<TaskStatus>(s);
      Ulid id = random_ulid();
      std::string prefix = list_prefix(index, kAccounts[0], "render", status);
      std::string key = list_key(index, kAccounts[0], "render", status, id);
      BOOST_TEST(starts_with(key, prefix));
      BOOST_TEST(key.size() == prefix.size() + 16);
      BOOST_TEST(key[0] == static_cast<char>(index));
      auto back = list_key_id(key);
      BOOST_REQUIRE(back.has_value());
      BOOST_TEST(hex(*back) == hex(id));
    }
  }
}

BOOST_AUTO_TEST_CASE(list_index_letters_are_the_documented_ones) {
  BOOST_TEST(static_cast<char>(ListIndex::all) == 'A');
  BOOST_TEST(static_cast<char>(ListIndex::by_status) == 'S');
  BOOST_TEST(static_cast<char>(ListIndex::by_type) == 'T');
  BOOST_TEST(static_cast<char>(ListIndex::by_type_status) == 'X');
}

BOOST_AUTO_TEST_CASE(list_prefix_includes_only_the_fields_of_its_index) {
  auto all_a = list_prefix(ListIndex::all, "acct", "t1", TaskStatus::pending);
  auto all_b = list_prefix(ListIndex::all, "acct", "t2", TaskStatus::claimed);
  BOOST_TEST(all_a == all_b);
  auto status_a = list_prefix(ListIndex::by_status, "acct", "t1", TaskStatus::pending);
  auto status_b = list_prefix(ListIndex::by_status, "acct", "t2", TaskStatus::pending);
  auto status_c = list_prefix(ListIndex::by_status, "acct", "t1", TaskStatus::claimed);
  BOOST_TEST(status_a == status_b);
  BOOST_TEST(status_a != status_c);
  auto type_a = list_prefix(ListIndex::by_type, "acct", "t1", TaskStatus::pending);
  auto type_b = list_prefix(ListIndex::by_type, "acct", "t1", TaskStatus::dead_letter);
  auto type_c = list_prefix(ListIndex::by_type, "acct", "t2", TaskStatus::pending);
  BOOST_TEST(type_a == type_b);
  BOOST_TEST(type_a != type_c);
  auto x_a = list_prefix(ListIndex::by_type_status, "acct", "t1", TaskStatus::pending);
  auto x_b = list_prefix(ListIndex::by_type_status, "acct", "t1", TaskStatus::completed);
  auto x_c = list_prefix(ListIndex::by_type_status, "acct", "t2", TaskStatus::pending);
  BOOST_TEST(x_a != x_b);
  BOOST_TEST(x_a != x_c);
}

BOOST_AUTO_TEST_CASE(list_prefix_of_one_account_or_type_never_matches_another) {
  // "a" vs "ab" and "t" vs "tt": length prefixes keep one scope from running into another.
  const std::string accounts[] = {"a", "ab", "b"};
  const std::string types[] = {"t", "tt", "u"};
  ListIndex indexes[] = {ListIndex::all, ListIndex::by_status, ListIndex::by_type,
                         ListIndex::by_type_status};
  for (ListIndex index : indexes) {
    for (const auto& acc1 : accounts) {
      for (const auto& type1 : types) {
        std::string prefix = list_prefix(index, acc1, type1, TaskStatus::pending);
        for (const auto& acc2 : accounts) {
          for (const auto& type2 : types) {
            for (int s = 0; s < kTaskStatusCount; ++s) {
              auto status = static_cast<TaskStatus>(s);
              std::string key = list_key(index, acc2, type2, status, random_ulid());
              bool same_scope = acc1 == acc2;
              if (index == ListIndex::by_type || index == ListIndex::by_type_status) {
                same_scope = same_scope && type1 == type2;
              }
              if (index == ListIndex::by_status || index == ListIndex::by_type_status) {
                same_scope = same_scope && status == TaskStatus::pending;
              }
              BOOST_TEST(starts_with(key, prefix) == same_scope);
            }
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(list_keys_of_one_scope_sort_by_id_so_newest_is_last) {
  UlidGenerator gen(3);
  std::string previous;
  for (int i = 0; i < 1'000; ++i) {
    Ulid id = gen.next(1'767'225'600'000 + i / 10, i % kVnodeCount);
    std::string key = list_key(ListIndex::by_type, kAccounts[1], "render", TaskStatus::pending, id);
    if (!previous.empty()) BOOST_TEST(bytes_less(previous, key));
    previous = key;
  }
}

BOOST_AUTO_TEST_CASE(list_key_id_rejects_keys_too_short_to_hold_an_id) {
  for (std::size_t n = 0; n <= 16; ++n) BOOST_TEST(!list_key_id(std::string(n, 'A')).has_value());
  BOOST_TEST(list_key_id(std::string(17, 'A')).has_value());
}

BOOST_AUTO_TEST_CASE(list_key_id_survives_random_bytes) {
  for (int i = 0; i < 20'000; ++i) {
    std::string garbage = random_bytes(rng()() % 64);
    auto id = list_key_id(garbage);
    BOOST_TEST(id.has_value() == (garbage.size() >= 17));
    if (id) BOOST_TEST(hex(*id) == hex(garbage.substr(garbage.size() - 16)));
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- idempotency and API keys ----------------------------------------------------------

BOOST_AUTO_TEST_SUITE(other_keys)

BOOST_AUTO_TEST_CASE(idempotency_keys_of_different_scopes_never_collide) {
  // The same bytes split differently between account, method, path and key differ.
  std::set<std::string> seen;
  const std::string parts[] = {"", "a", "ab", "b", "POST", "/v1/tasks"};
  int count = 0;
  for (const auto& account : parts) {
    for (const auto& method : parts) {
      for (const auto& path : parts) {
        for (const auto& key : parts) {
          seen.insert(idempotency_key(account, method, path, key));
          ++count;
        }
      }
    }
  }
  BOOST_TEST(seen.size() == static_cast<std::size_t>(count));
}

BOOST_AUTO_TEST_CASE(idempotency_key_keeps_a_255_char_key_whole) {
  std::string key(255, 'k');
  std::string a = idempotency_key("acct", "POST", "/v1/tasks", key);
  std::string b = idempotency_key("acct", "POST", "/v1/tasks", key.substr(0, 254) + "j");
  BOOST_TEST(a != b);
  BOOST_TEST(a.size() > key.size());
  BOOST_TEST(a.substr(a.size() - 255) == key);
}

BOOST_AUTO_TEST_CASE(key_by_hash_is_h_and_the_raw_digest) {
  std::string digest = random_bytes(32);
  std::string key = key_by_hash(digest);
  BOOST_TEST(key.size() == 33U);
  BOOST_TEST(key[0] == 'h');
  BOOST_TEST(key.substr(1) == digest);
}

BOOST_AUTO_TEST_CASE(key_by_account_starts_with_the_account_prefix_and_not_another) {
  std::string key = key_by_account("acct_1", "key_01");
  BOOST_TEST(starts_with(key, key_by_account_prefix("acct_1")));
  BOOST_TEST(key[0] == 'a');
  BOOST_TEST(!starts_with(key_by_account("acct_12", "key_01"), key_by_account_prefix("acct_1")));
  BOOST_TEST(!starts_with(key_by_account("acct_1", "2key"), key_by_account_prefix("acct_12")));
  BOOST_TEST(key_by_account("acct_1", "key_01") != key_by_account("acct_1", "key_02"));
}

BOOST_AUTO_TEST_CASE(worker_stats_keys_round_trip_long_worker_ids_whole) {
  // 200 characters of 4 UTF-8 bytes each: 800 bytes, more than a one-byte length holds.
  std::string worker;
  for (int i = 0; i < 200; ++i) worker += "\xf0\x9f\x98\x80";
  for (const std::string& id : {std::string("w-1"), std::string(), worker}) {
    std::string key = worker_stats_key("acct_1", id, "code");
    auto back = decode_worker_stats_key(key);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(back->account == "acct_1");
    BOOST_TEST(back->worker == id);
    BOOST_TEST(back->type == "code");
    BOOST_TEST(!decode_worker_stats_key(key.substr(0, key.size() - 1)).has_value());
    BOOST_TEST(!decode_worker_stats_key(key + "x").has_value());
  }
  BOOST_TEST(worker_stats_key("a", worker + "x", "t") != worker_stats_key("a", worker + "y", "t"));
}

BOOST_AUTO_TEST_CASE(usage_keys_round_trip_and_order_an_accounts_hours) {
  std::string key = usage_key("acct_1", 500'000, "code");
  auto back = decode_usage_key(key);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->account == "acct_1");
  BOOST_TEST(back->hour == 500'000);
  BOOST_TEST(back->type == "code");
  BOOST_TEST(!decode_usage_key(key.substr(0, key.size() - 1)).has_value());
  BOOST_TEST(!decode_usage_key(key + "x").has_value());
  BOOST_TEST(!decode_usage_key(worker_stats_key("acct_1", "w", "code")).has_value());
  // Hours in order, every type of an hour before the next hour, within the account's range.
  // (Double parentheses: Boost.Test would compare the keys as C strings, stopping at NUL.)
  BOOST_TEST((usage_key("acct_1", 7, "zzz") < usage_key("acct_1", 8, "a")));
  BOOST_TEST((usage_key_from("acct_1", 8) <= usage_key("acct_1", 8, "a")));
  BOOST_TEST((usage_key("acct_1", 8, "a") < usage_key_from("acct_1", 9)));
  BOOST_TEST(!starts_with(usage_key("acct_12", 8, "a"), usage_key_from("acct_1", 8).substr(0, 8)));
  BOOST_TEST((usage_key("acct_12", 1, "a") > usage_key_from("acct_1", 1'000'000)));
}

BOOST_AUTO_TEST_CASE(log_keys_order_a_tasks_lines_by_seq_and_keep_tasks_apart) {
  Ulid a{}, b{};
  a[15] = 1;
  b[15] = 2;
  BOOST_TEST(log_key_seq(log_key(a, 42)).value_or(-1) == 42);
  BOOST_TEST((log_key(a, 9) < log_key(a, 10)));
  BOOST_TEST((log_key(a, 255) < log_key(a, 256)));
  BOOST_TEST((log_key(a, INT64_MAX) < log_key(b, 0)));  // one task's lines, then the next's
  BOOST_TEST(!log_key_seq("short").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(queue_facts_keys_round_trip_and_group_an_accounts_queues) {
  std::string key = queue_facts_key("acct_1", "code");
  auto back = decode_queue_facts_key(key);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->account == "acct_1");
  BOOST_TEST(back->type == "code");
  BOOST_TEST(key.starts_with(queue_facts_prefix("acct_1")));
  BOOST_TEST(!key.starts_with(queue_facts_prefix("acct_")));  // the length byte differs
  BOOST_TEST(!decode_queue_facts_key(key.substr(0, key.size() - 1)).has_value());
  BOOST_TEST(!decode_queue_facts_key(key + "x").has_value());
  BOOST_TEST(!decode_queue_facts_key(usage_key("acct_1", 5, "code")).has_value());
  BOOST_TEST(!decode_queue_facts_key(queue_facts_prefix("acct_1")).has_value());
}

BOOST_AUTO_TEST_CASE(schedule_keys_round_trip_and_runs_sort_by_seq) {
  Ulid id = UlidGenerator(7).next(1'000, 0);
  std::string key = schedule_key(id);
  BOOST_TEST((schedule_key_id(key) == id));
  BOOST_TEST(!schedule_key_id(key + "x").has_value());
  BOOST_TEST(!schedule_key_id(queue_facts_key("a", "b")).has_value());
  std::string first = schedule_run_key(id, 2), later = schedule_run_key(id, 10);
  BOOST_TEST(first < later);  // big-endian seq: byte order is seq order
  BOOST_TEST(first.starts_with(schedule_runs_prefix(id)));
  BOOST_TEST(*schedule_run_seq(later) == 10);
  BOOST_TEST(!schedule_run_seq(key).has_value());
}
