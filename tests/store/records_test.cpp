#define BOOST_TEST_MODULE records
#include <boost/test/unit_test.hpp>

#include "support/task_diff.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "store/records.hpp"

// The binary record codec: every record round-trips, and a decoder given anything but a
// record it wrote (truncated, extended, another version, random bytes) says no, and never
// crashes.

using namespace baton;
using baton::test::task_diff;
using namespace baton::records;

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 r(424242);
  return r;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng()());
  return out;
}


Task full_task() {
  Task t;
  t.id = "tsk_01KDXK4M0000000000000000AB";
  t.account_id = "acct_01KDXK4M0000000000000000CD";
  t.type = "process_document";
  t.payload_json = R"({"doc":"a.pdf","nested":{"k":[1,2,3]},"text":"caf\u00e9 \ud83d\ude00"})";
  t.result_json = R"({"pages":3})";
  t.output_id = "s3://bucket/out-1";
  t.status = TaskStatus::cancelled;
  t.priority = 100;
  t.max_attempts = 100;
  t.attempt_count = 99;
  t.lease_duration_seconds = 3600;
  t.lease_expires_at = 1'767'225'900'000;
  t.claimed_by = "agent-7 \xe2\x82\xac";
  t.lease_token = "lse_0123456789abcdef0123456789abcdef";
  t.scheduled_at = 1'767'225'660'000;
  t.failure_reason = std::string(500, 'r');
  t.created_at = 1'767'225'600'000;
  t.updated_at = 1'767'225'601'000;
  t.completed_at = 1'767'225'602'000;
  t.cancelled_live_claim = true;
  t.depends_on = {"tsk_01KDXK4M0000000000000000D1", "tsk_01KDXK4M0000000000000000D2"};
  t.waiting_on = {"tsk_01KDXK4M0000000000000000D2"};
  t.run_on_dependency_failure = true;
  t.parent_task_id = "tsk_01KDXK4M0000000000000000P0";
  t.review_required = true;
  t.review_feedback = "add tests";
  t.definition_of_done = "CI passes";
  t.verification_type = "verify";
  t.auto_accept = true;
  t.acceptance_timeout_seconds = 3600;
  t.accept_on_timeout = true;
  t.acceptance_deadline = 1'767'229'200'000;
  t.verification = Verification::failed;
  t.verification_notes = "tests missing";
  t.verification_task_id = "tsk_01KDXK4M0000000000000000V1";
  t.verifies_task_id = "tsk_01KDXK4M0000000000000000V0";
  t.verifies_attempt = 2;
  t.claimed_at = 1'767'225'650'000;
  t.assign_to = "agent-7";
  t.assigned_until = 1'767'225'660'000;
  t.cost = TaskCost{2340, 890, 3230, 20'400'000, 4520, 12};
  t.budget_usd_nanos = 120 * kNanosPerUsd;
  t.log_first_seq = 3;
  t.log_last_seq = 40;
  t.log_bytes = 4000;
  t.log_dropped = 2;
  t.history.events = {
      {1'767'225'600'000, TaskEventKind::create_task, TaskStatus::pending, TaskStatus::pending, 0,
       "", ""},
      {1'767'225'650'000, TaskEventKind::fail_task, TaskStatus::claimed, TaskStatus::dead_letter,
       99, "agent-7 \xe2\x82\xac", "out of \"paper\""}};
  t.history.dropped = 3;
  return t;
}

Task minimal_task() {
  Task t;  // every optional null, every string but id empty, every time 0
  t.id = "tsk_01KDXK4M0000000000000000AB";
  t.payload_json = "{}";
  return t;
}

Account full_account() {
  return Account{"acct_01KDXK4M0000000000000000CD", "my \"label\" \xc3\xa9", "agency",
                 1'767'225'600'000};
}

ApiKey full_key() {
  std::string digest(32, '\0');
  for (int i = 0; i < 32; ++i) digest[i] = static_cast<char>(i * 8);  // includes 0x00 and 0xf8
  return ApiKey{"key_01KDXK4M0000000000000000EF", "acct_01KDXK4M0000000000000000CD", "ci",
                digest, 1'767'225'600'000};
}

StoredResponse full_response() {
  return StoredResponse{std::string(32, '\x01'), 201,
                        R"({"task":{"id":"tsk_1"},"agent_contract":{}})", 1'767'312'000'000};
}

// Every strict prefix, the record plus trailing bytes, and the record under every other
// version byte (but `same_layout`, an older version written the same way) must all be
// rejected.
template <typename Decode>
void expect_rejects_corruptions(const std::string& bytes, Decode decode, int same_layout = -1) {
  BOOST_REQUIRE(decode(bytes).has_value());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    BOOST_TEST_CONTEXT("truncated to " << n << " of " << bytes.size()) {
      BOOST_TEST(!decode(std::string_view(bytes).substr(0, n)).has_value());
    }
  }
  BOOST_TEST(!decode(bytes + '\0').has_value());
  BOOST_TEST(!decode(bytes + "trailing").has_value());
  BOOST_TEST(!decode(bytes + bytes).has_value());
  for (int version = 0; version < 256; ++version) {
    if (version == static_cast<unsigned char>(bytes[0]) || version == same_layout) continue;
    std::string other = bytes;
    other[0] = static_cast<char>(version);
    BOOST_TEST_CONTEXT("version " << version) { BOOST_TEST(!decode(other).has_value()); }
  }
}

// Random garbage, and records with random bits flipped: never a crash. Whatever is accepted
// must account for every byte given (re-encoding it gives as many bytes), and garbage that
// merely starts with the right version byte is accepted at most rarely.
template <typename Decode, typename Encode>
void expect_survives_garbage(const std::string& bytes, Decode decode, Encode encode) {
  int accepted = 0;
  for (int i = 0; i < 20'000; ++i) {
    std::string garbage = random_bytes(rng()() % 200);
    if (!garbage.empty() && i % 2) garbage[0] = bytes[0];  // right version, then noise
    auto decoded = decode(garbage);
    if (decoded) {
      ++accepted;
      // An older version's layout is re-encoded in the current one, with its new fields.
      if (garbage[0] == bytes[0]) BOOST_TEST(encode(*decoded).size() == garbage.size());
    }
  }
  BOOST_TEST(accepted <= 20);
  for (int i = 0; i < 20'000; ++i) {
    std::string flipped = bytes;
    int flips = 1 + static_cast<int>(rng()() % 3);
    for (int f = 0; f < flips; ++f) {
      flipped[rng()() % flipped.size()] ^= static_cast<char>(1 << (rng()() % 8));
    }
    auto decoded = decode(flipped);
    if (decoded && flipped[0] == bytes[0]) BOOST_TEST(encode(*decoded).size() == flipped.size());
  }
}

// Huge length fields must not make the decoder allocate or read past the end.
template <typename Decode>
void expect_rejects_huge_lengths(const std::string& bytes, Decode decode) {
  // The first field after the version byte is a string with an 8-byte length.
  for (std::uint64_t length : {std::uint64_t{1} << 62, ~std::uint64_t{0}, std::uint64_t{1} << 32,
                               static_cast<std::uint64_t>(bytes.size())}) {
    std::string evil = bytes;
    for (int i = 0; i < 8; ++i) evil[1 + i] = static_cast<char>(length >> (56 - 8 * i));
    BOOST_TEST(!decode(evil).has_value());
  }
}

}  // namespace

// ---- Task ----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(task_records)

BOOST_AUTO_TEST_CASE(task_with_every_field_set_round_trips) {
  Task t = full_task();
  auto back = decode_task(encode_task(t));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
}

BOOST_AUTO_TEST_CASE(minimal_task_with_null_optionals_round_trips) {
  Task t = minimal_task();
  auto back = decode_task(encode_task(t));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
  BOOST_TEST(!back->result_json.has_value());
  BOOST_TEST(!back->output_id.has_value());
  BOOST_TEST(!back->failure_reason.has_value());
}

BOOST_AUTO_TEST_CASE(empty_string_optionals_stay_distinct_from_null) {
  Task t = minimal_task();
  t.result_json = "";
  t.output_id = "";
  t.failure_reason = "";
  auto back = decode_task(encode_task(t));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->result_json.has_value());
  BOOST_TEST(back->output_id.has_value());
  BOOST_TEST(back->failure_reason.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
}

BOOST_AUTO_TEST_CASE(task_in_every_status_round_trips) {
  for (int s = 0; s < kTaskStatusCount; ++s) {
    Task t = full_task();
    t.status = static_cast<TaskStatus>(s);
    t.cancelled_live_claim = s % 2 == 0;
    auto back = decode_task(encode_task(t));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(task_diff(*back, t) == "");
  }
}

BOOST_AUTO_TEST_CASE(task_with_binary_strings_and_extreme_numbers_round_trips) {
  Task t = full_task();
  t.payload_json = std::string("\0\xff\x01{}", 5);
  t.claimed_by = std::string(1, '\0');
  t.priority = 0;
  t.max_attempts = std::numeric_limits<int>::max();
  t.attempt_count = std::numeric_limits<int>::min();
  t.lease_expires_at = std::numeric_limits<Millis>::max();
  t.scheduled_at = std::numeric_limits<Millis>::min();
  t.created_at = -1;
  auto back = decode_task(encode_task(t));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
}

BOOST_AUTO_TEST_CASE(large_payload_round_trips) {
  Task t = full_task();
  t.payload_json = "{\"blob\":\"" + std::string(64 * 1024, 'x') + "\"}";
  t.result_json = t.payload_json;
  auto back = decode_task(encode_task(t));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
}

BOOST_AUTO_TEST_CASE(random_tasks_round_trip) {
  for (int i = 0; i < 2'000; ++i) {
    Task t;
    t.id = random_bytes(rng()() % 40);
    t.account_id = random_bytes(rng()() % 40);
    t.type = random_bytes(rng()() % 100);
    t.payload_json = random_bytes(rng()() % 300);
    if (rng()() % 2) t.result_json = random_bytes(rng()() % 100);
    if (rng()() % 2) t.output_id = random_bytes(rng()() % 30);
    t.status = static_cast<TaskStatus>(rng()() % kTaskStatusCount);
    t.priority = static_cast<int>(rng()() % 101);
    t.max_attempts = static_cast<int>(rng()());
    t.attempt_count = static_cast<int>(rng()());
    t.lease_duration_seconds = static_cast<int>(rng()());
    t.lease_expires_at = static_cast<Millis>(rng()());
    t.claimed_by = random_bytes(rng()() % 30);
    t.lease_token = random_bytes(rng()() % 40);
    t.scheduled_at = static_cast<Millis>(rng()());
    if (rng()() % 2) t.failure_reason = random_bytes(rng()() % 500);
    t.created_at = static_cast<Millis>(rng()());
    t.updated_at = static_cast<Millis>(rng()());
    t.completed_at = static_cast<Millis>(rng()());
    t.cancelled_live_claim = rng()() % 2;
    for (std::uint64_t n = rng()() % 4; n > 0; --n) t.depends_on.push_back(random_bytes(rng()() % 30));
    for (std::uint64_t n = rng()() % 3; n > 0; --n) t.waiting_on.push_back(random_bytes(rng()() % 30));
    t.run_on_dependency_failure = rng()() % 2;
    t.parent_task_id = random_bytes(rng()() % 30);
    t.review_required = rng()() % 2;
    if (rng()() % 2) t.review_feedback = random_bytes(rng()() % 100);
    if (rng()() % 2) t.definition_of_done = random_bytes(rng()() % 100);
    t.verification_type = random_bytes(rng()() % 20);
    t.acceptance_deadline = static_cast<Millis>(rng()());
    t.verification = static_cast<Verification>(rng()() % 4);
    t.verification_task_id = random_bytes(rng()() % 30);
    auto back = decode_task(encode_task(t));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(task_diff(*back, t) == "");
  }
}

BOOST_AUTO_TEST_CASE(task_encoding_starts_with_the_version_byte) {
  BOOST_TEST(encode_task(minimal_task())[0] == '\x05');
}

BOOST_AUTO_TEST_CASE(a_version_1_record_still_decodes_with_no_workflow_fields) {
  // Version 1 is version 3 without the workflow tail: two empty lists (8 bytes each),
  // a flag, an empty string (8), a flag, a null optional (1); then the gate's: a null
  // optional (1), an empty string (8), a flag, an integer (8), a flag, a time (8), a
  // state (1), a null optional (1), two empty strings (16), an integer (8), a time (8);
  // then the assignment's: an empty string (8), a time (8); then version 3's cost and
  // budget (seven integers), version 4's log counters (four), and version 5's empty
  // history (a count and the dropped count).
  Task t = minimal_task();
  t.result_json = R"({"ok":true})";
  t.status = TaskStatus::completed;
  std::string v2 = encode_task(t);
  constexpr std::size_t kTail = 27 + 1 + 8 + 1 + 8 + 1 + 8 + 1 + 1 + 16 + 8 + 8 + 8 + 8 + 7 * 8 + 4 * 8 + 2 * 8;
  std::string v1 = "\x01" + v2.substr(1, v2.size() - 1 - kTail);
  auto back = decode_task(v1);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
  // Its tail alone does not make a version 1 record valid.
  BOOST_TEST(!decode_task(v1 + std::string(kTail, '\0')).has_value());
}

BOOST_AUTO_TEST_CASE(a_version_2_record_still_decodes_with_no_cost) {
  // Version 2 is version 5 without the cost (six integers), the budget (one), the log
  // counters (four) and the history (an empty one: two).
  Task t = full_task();
  t.cost = TaskCost{};
  t.budget_usd_nanos = 0;
  t.log_first_seq = 1;
  t.log_last_seq = 0;
  t.log_bytes = 0;
  t.log_dropped = 0;
  t.history = TaskHistory{};
  std::string v3 = encode_task(t);
  constexpr std::size_t kTail = 13 * 8;
  std::string v2 = "\x02" + v3.substr(1, v3.size() - 1 - kTail);
  auto back = decode_task(v2);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
  BOOST_TEST(!decode_task(v2 + std::string(kTail, '\0')).has_value());
}

BOOST_AUTO_TEST_CASE(a_version_4_record_still_decodes_with_an_empty_history) {
  Task t = full_task();
  t.history = TaskHistory{};
  std::string v5 = encode_task(t);
  std::string v4 = "\x04" + v5.substr(1, v5.size() - 1 - 2 * 8);
  auto back = decode_task(v4);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(task_diff(*back, t) == "");
  BOOST_TEST(!decode_task(v4 + std::string(2 * 8, '\0')).has_value());
}

BOOST_AUTO_TEST_CASE(decode_task_rejects_an_unknown_event_kind_or_state) {
  Task t = minimal_task();
  t.history.events.push_back({5, TaskEventKind::claim_task, TaskStatus::pending,
                              TaskStatus::claimed, 1, "w", ""});
  std::string good = encode_task(t);
  // The event's kind, from and to follow its 8-byte time, after the 8-byte count; the
  // event ends with attempt (8), worker (8 + 1), detail (8), then dropped (8).
  std::size_t kind_at = good.size() - (8 + 9 + 8 + 8) - 3;
  BOOST_REQUIRE(decode_task(good).has_value());
  for (std::size_t offset : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
    std::string bad = good;
    bad[kind_at + offset] = static_cast<char>(offset == 0 ? kTaskEventKindCount : kTaskStatusCount);
    BOOST_TEST_CONTEXT("byte " << offset) { BOOST_TEST(!decode_task(bad).has_value()); }
  }
  // An event count past what is left is refused before anything is read.
  std::string counted = good;
  std::size_t count_at = kind_at - 8 - 8;
  for (int i = 0; i < 8; ++i) counted[count_at + i] = static_cast<char>(i == 0 ? 0x10 : 0);
  BOOST_TEST(!decode_task(counted).has_value());
}

BOOST_AUTO_TEST_CASE(decode_task_rejects_truncation_trailing_bytes_and_other_versions) {
  expect_rejects_corruptions(encode_task(full_task()),
                             [](std::string_view b) { return decode_task(b); });
  expect_rejects_corruptions(encode_task(minimal_task()),
                             [](std::string_view b) { return decode_task(b); });
}

BOOST_AUTO_TEST_CASE(decode_task_rejects_an_unknown_status) {
  // Locate the status byte: it follows the two optionals after the four strings. Rather
  // than hard-coding offsets, encode two tasks that differ only in status.
  Task a = minimal_task();
  Task b = minimal_task();
  b.status = TaskStatus::cancelled;
  std::string ea = encode_task(a);
  std::string eb = encode_task(b);
  BOOST_REQUIRE_EQUAL(ea.size(), eb.size());
  std::size_t pos = 0;
  while (pos < ea.size() && ea[pos] == eb[pos]) ++pos;
  BOOST_REQUIRE(pos < ea.size());
  for (int status = kTaskStatusCount; status < 256; ++status) {
    std::string bad = ea;
    bad[pos] = static_cast<char>(status);
    BOOST_TEST_CONTEXT("status " << status) { BOOST_TEST(!decode_task(bad).has_value()); }
  }
  for (int status = 0; status < kTaskStatusCount; ++status) {
    std::string good = ea;
    good[pos] = static_cast<char>(status);
    auto t = decode_task(good);
    BOOST_REQUIRE(t.has_value());
    BOOST_TEST(static_cast<int>(t->status) == status);
  }
}

BOOST_AUTO_TEST_CASE(decode_task_rejects_huge_string_lengths) {
  expect_rejects_huge_lengths(encode_task(full_task()),
                              [](std::string_view b) { return decode_task(b); });
}

BOOST_AUTO_TEST_CASE(decode_task_survives_garbage) {
  expect_survives_garbage(
      encode_task(full_task()), [](std::string_view b) { return decode_task(b); },
      [](const Task& t) { return encode_task(t); });
}

BOOST_AUTO_TEST_SUITE_END()

// ---- ActiveEntry ---------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(active_entries)

BOOST_AUTO_TEST_CASE(active_entry_of_a_task_copies_its_queue_and_timer_fields) {
  Task t = full_task();
  t.status = TaskStatus::claimed;
  ActiveEntry e = active_entry_of(t);
  BOOST_TEST(static_cast<int>(e.status) == static_cast<int>(TaskStatus::claimed));
  BOOST_TEST(e.type == t.type);
  BOOST_TEST(e.priority == t.priority);
  BOOST_TEST(e.scheduled_at == t.scheduled_at);
  BOOST_TEST(e.lease_expires_at == t.lease_expires_at);
}

BOOST_AUTO_TEST_CASE(active_entry_round_trips) {
  for (int i = 0; i < 2'000; ++i) {
    ActiveEntry e;
    e.status = static_cast<TaskStatus>(rng()() % kTaskStatusCount);
    e.type = random_bytes(rng()() % 101);
    e.priority = static_cast<int>(rng()() % 101);
    e.scheduled_at = static_cast<Millis>(rng()());
    e.lease_expires_at = static_cast<Millis>(rng()());
    auto back = decode_active(encode_active(e));
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(static_cast<int>(back->status) == static_cast<int>(e.status));
    BOOST_TEST(back->type == e.type);
    BOOST_TEST(back->priority == e.priority);
    BOOST_TEST(back->scheduled_at == e.scheduled_at);
    BOOST_TEST(back->lease_expires_at == e.lease_expires_at);
  }
}

BOOST_AUTO_TEST_CASE(active_entries_keep_the_assignment_and_version_1_still_decodes) {
  ActiveEntry e{TaskStatus::pending, "render", 42, 0, 0, "agent-7", 1'767'225'660'000};
  auto back = decode_active(encode_active(e));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((*back == e));
  // Version 1 is version 2 without the assignment: an empty string (8), a time (8).
  ActiveEntry plain{TaskStatus::claimed, "render", 3, 0, 1'767'225'660'000, "", 0};
  std::string v2 = encode_active(plain);
  std::string v1 = "\x01" + v2.substr(1, v2.size() - 1 - 16);
  auto old = decode_active(v1);
  BOOST_REQUIRE(old.has_value());
  BOOST_TEST((*old == plain));
}

BOOST_AUTO_TEST_CASE(decode_active_rejects_corruption_and_survives_garbage) {
  ActiveEntry e{TaskStatus::pending, "render", 42, 1'767'225'660'000, 0, "agent-7", 5};
  std::string bytes = encode_active(e);
  expect_rejects_corruptions(bytes, [](std::string_view b) { return decode_active(b); });
  // The status is the byte after the version.
  for (int status = kTaskStatusCount; status < 256; ++status) {
    std::string bad = bytes;
    bad[1] = static_cast<char>(status);
    BOOST_TEST(!decode_active(bad).has_value());
  }
  expect_survives_garbage(
      bytes, [](std::string_view b) { return decode_active(b); },
      [](const ActiveEntry& a) { return encode_active(a); });
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Account, ApiKey, StoredResponse -------------------------------------------------

BOOST_AUTO_TEST_SUITE(other_records)

BOOST_AUTO_TEST_CASE(account_round_trips) {
  Account a = full_account();
  auto back = decode_account(encode_account(a));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->id == a.id);
  BOOST_TEST(back->label == a.label);
  BOOST_TEST(back->plan == "agency");
  BOOST_TEST(back->created_at == a.created_at);

  Account empty{"", "", "", 0};
  auto back_empty = decode_account(encode_account(empty));
  BOOST_REQUIRE(back_empty.has_value());
  BOOST_TEST(back_empty->id == "");
  BOOST_TEST(back_empty->plan == "");
}

BOOST_AUTO_TEST_CASE(account_decode_rejects_corruption_and_survives_garbage) {
  std::string bytes = encode_account(full_account());
  auto decode = [](std::string_view b) { return decode_account(b); };
  expect_rejects_corruptions(bytes, decode, 1);
  expect_rejects_huge_lengths(bytes, decode);
  expect_survives_garbage(bytes, decode, [](const Account& a) { return encode_account(a); });
}

// Version 1 wrote "free" for every account, which no admin had chosen: it reads as the
// default plan. Version 2 keeps what was assigned.
BOOST_AUTO_TEST_CASE(usage_counts_round_trip_with_negative_corrections) {
  UsageCounts u{1, 2, 3, 4, 5, 6, 7'000'000'000, 8, -9, TaskCost{10, 11, 21, 20'400'000, 12, 13}};
  auto back = decode_usage(encode_usage(u));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((*back == u));
  std::string bytes = encode_usage(u);
  auto decode = [](std::string_view b) { return decode_usage(b); };
  expect_rejects_corruptions(bytes, decode);
}

BOOST_AUTO_TEST_CASE(account_version_1_reads_as_the_default_plan) {
  Account a = full_account();
  a.plan = "free";
  a.cost_budget_usd_nanos = 5 * kNanosPerUsd;
  std::string v3 = encode_account(a);
  BOOST_TEST(decode_account(v3)->plan == "free");
  BOOST_TEST(decode_account(v3)->cost_budget_usd_nanos == 5 * kNanosPerUsd);
  // Versions 1 and 2 are version 3 without the budget (one integer): the plan's budget.
  std::string v2 = "\x02" + v3.substr(1, v3.size() - 9);
  auto middle = decode_account(v2);
  BOOST_REQUIRE(middle.has_value());
  BOOST_TEST(middle->plan == "free");
  BOOST_TEST(middle->cost_budget_usd_nanos == -1);
  std::string v1 = "\x01" + v3.substr(1, v3.size() - 9);
  auto old = decode_account(v1);
  BOOST_REQUIRE(old.has_value());
  BOOST_TEST(old->plan == "");
  BOOST_TEST(old->id == a.id);
}

BOOST_AUTO_TEST_CASE(api_key_round_trips_with_a_raw_binary_digest) {
  ApiKey k = full_key();
  auto back = decode_key(encode_key(k));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->id == k.id);
  BOOST_TEST(back->account_id == k.account_id);
  BOOST_TEST(back->label == "ci");
  BOOST_TEST(back->sha256.size() == 32U);
  BOOST_TEST(back->sha256 == k.sha256);
  BOOST_TEST(back->created_at == k.created_at);
}

BOOST_AUTO_TEST_CASE(api_key_decode_rejects_corruption_and_survives_garbage) {
  std::string bytes = encode_key(full_key());
  auto decode = [](std::string_view b) { return decode_key(b); };
  expect_rejects_corruptions(bytes, decode);
  expect_rejects_huge_lengths(bytes, decode);
  expect_survives_garbage(bytes, decode, [](const ApiKey& k) { return encode_key(k); });
}

BOOST_AUTO_TEST_CASE(stored_response_round_trips_byte_for_byte) {
  StoredResponse r = full_response();
  auto back = decode_response(encode_response(r));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->request_hash == r.request_hash);
  BOOST_TEST(back->status == 201);
  BOOST_TEST(back->body == r.body);
  BOOST_TEST(back->expires_at == r.expires_at);

  StoredResponse big{std::string(32, '\0'), 200, std::string(100'000, '\xff'), -1};
  auto back_big = decode_response(encode_response(big));
  BOOST_REQUIRE(back_big.has_value());
  BOOST_TEST(back_big->body == big.body);
  BOOST_TEST(back_big->expires_at == -1);
}

BOOST_AUTO_TEST_CASE(stored_response_decode_rejects_corruption_and_survives_garbage) {
  std::string bytes = encode_response(full_response());
  auto decode = [](std::string_view b) { return decode_response(b); };
  expect_rejects_corruptions(bytes, decode);
  expect_rejects_huge_lengths(bytes, decode);
  expect_survives_garbage(bytes, decode,
                          [](const StoredResponse& r) { return encode_response(r); });
}

BOOST_AUTO_TEST_CASE(records_of_one_kind_are_not_read_as_another) {
  // A task record is never a valid account / key / response, and vice versa.
  std::string task = encode_task(full_task());
  std::string account = encode_account(full_account());
  std::string key = encode_key(full_key());
  std::string response = encode_response(full_response());
  BOOST_TEST(!decode_account(task).has_value());
  BOOST_TEST(!decode_key(task).has_value());
  BOOST_TEST(!decode_response(task).has_value());
  BOOST_TEST(!decode_task(account).has_value());
  BOOST_TEST(!decode_task(key).has_value());
  BOOST_TEST(!decode_task(response).has_value());
  BOOST_TEST(!decode_key(account).has_value());
  BOOST_TEST(!decode_account(key).has_value());
}

BOOST_AUTO_TEST_CASE(empty_input_is_rejected_by_every_decoder) {
  BOOST_TEST(!decode_task("").has_value());
  BOOST_TEST(!decode_active("").has_value());
  BOOST_TEST(!decode_account("").has_value());
  BOOST_TEST(!decode_key("").has_value());
  BOOST_TEST(!decode_response("").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(log_lines_round_trip_and_reject_corruption) {
  LogLine line{7, 1'767'225'600'123, "warn", "disk \"almost\" full\n", R"({"free":12})", "w-1"};
  auto back = decode_log_line(encode_log_line(line));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->seq == 7);
  BOOST_TEST(back->at == line.at);
  BOOST_TEST(back->message == line.message);
  BOOST_TEST(back->data_json == line.data_json);
  BOOST_TEST(back->worker_id == "w-1");
  std::string bytes = encode_log_line(line);
  BOOST_TEST(!decode_log_line(bytes.substr(0, bytes.size() - 1)).has_value());
  BOOST_TEST(!decode_log_line(bytes + "x").has_value());
  BOOST_TEST(!decode_log_line("").has_value());
}

BOOST_AUTO_TEST_CASE(queue_facts_round_trip) {
  QueueFacts facts{12, true, 1'767'225'600'000};
  auto back = decode_queue_facts(encode_queue_facts(facts));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((*back == facts));
  std::string bytes = encode_queue_facts(facts);
  auto decode = [](std::string_view b) { return decode_queue_facts(b); };
  expect_rejects_corruptions(bytes, decode);
  bytes[9] = 2;  // the paused flag is 0 or 1
  BOOST_TEST(!decode_queue_facts(bytes).has_value());
}

BOOST_AUTO_TEST_CASE(schedules_and_their_runs_round_trip) {
  Schedule s;
  s.id = "sch_01M9769X7KXQ8WMZBAKYTB2000";
  s.account = "acct_1";
  s.name = "nightly";
  s.cron = "0 3 * * *";
  s.timezone = "Europe/Berlin";
  s.enabled = false;
  s.missed = MissedPolicy::run_once;
  s.task_type = "report";
  s.template_json = R"({"type":"report","payload":{}})";
  s.webhook_secret_sha256 = std::string(64, 'a');
  s.created_at = 1;
  s.updated_at = 2;
  s.next_due = 3;
  s.runs = 4;
  s.last_fired_at = 5;
  s.last_task_id = "tsk_x";
  auto back = decode_schedule(encode_schedule(s));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->cron == s.cron);
  BOOST_TEST(back->timezone == s.timezone);
  BOOST_TEST(back->enabled == false);
  BOOST_TEST((back->missed == MissedPolicy::run_once));
  BOOST_TEST(back->template_json == s.template_json);
  BOOST_TEST(back->webhook_secret_sha256 == s.webhook_secret_sha256);
  BOOST_TEST(back->next_due == 3);
  BOOST_TEST(back->runs == 4);
  BOOST_TEST(back->last_task_id == "tsk_x");
  std::string bytes = encode_schedule(s);
  expect_rejects_corruptions(bytes, [](std::string_view b) { return decode_schedule(b); });

  ScheduleRun run{7, RunTrigger::webhook, 10, 11, "tsk_y", ErrorCode::none};
  BOOST_TEST((*decode_schedule_run(encode_schedule_run(run)) == run));
  ScheduleRun failed{8, RunTrigger::missed, 12, 13, "", ErrorCode::quota_exceeded};
  BOOST_TEST((*decode_schedule_run(encode_schedule_run(failed)) == failed));
  expect_rejects_corruptions(encode_schedule_run(failed),
                             [](std::string_view b) { return decode_schedule_run(b); });
}
