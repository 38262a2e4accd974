#define BOOST_TEST_MODULE input
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "api/input.hpp"
#include "api/operations.hpp"
#include "api/router.hpp"

// Input validation (spec sections 1, 3-5) as the operation table declares it: each field
// at its bounds, just inside and just outside, with the bounds taken from TaskLimits, and
// the router's choice of operation. validate_input returns "" when the input is fine,
// else a message naming the field.

using namespace baton;
using namespace baton::api;
namespace json = boost::json;

namespace {

const TaskLimits kDefaults{};

// Validates `fields` (over a minimal valid input) against the table row `id` built from
// `limits`.
std::string check(std::string_view id, json::object fields, const TaskLimits& limits = kDefaults) {
  static std::vector<Operation> table;
  table = operation_table(limits);
  const Operation* operation = find_operation(table, id);
  BOOST_REQUIRE(operation != nullptr);
  json::object input;
  if (id == "create_task") input = {{"type", "t"}, {"payload", json::object{}}};
  if (id != "create_task" && id != "claim_task" && id != "list_tasks") input["task_id"] = "tsk_x";
  for (auto& [k, v] : fields) input[k] = v;
  return validate_input(*operation, input);
}

bool ok(const std::string& message) { return message.empty(); }

bool names(const std::string& message, std::string_view field) {
  return message.find(field) != std::string::npos;
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.append(unit);
  return out;
}

constexpr std::int64_t kMin64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();

}  // namespace

// ---- integers ----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(integers)

BOOST_AUTO_TEST_CASE(priority_is_0_to_100) {
  for (std::int64_t good : {0, 1, 99, 100}) BOOST_TEST(ok(check("create_task", {{"priority", good}})));
  BOOST_TEST(names(check("create_task", {{"priority", -1}}), "priority"));
  BOOST_TEST(names(check("create_task", {{"priority", 101}}), "priority"));
  for (std::int64_t bad : {kMin64, kMax64, std::int64_t{255}, std::int64_t{256}}) {
    BOOST_TEST(!ok(check("create_task", {{"priority", bad}})));  // 256 would wrap to 0 in a byte
  }
  BOOST_TEST(!ok(check("create_task", {{"priority", std::numeric_limits<std::uint64_t>::max()}})));
}

BOOST_AUTO_TEST_CASE(integers_may_be_integral_floats_and_nothing_else) {
  BOOST_TEST(ok(check("create_task", {{"priority", 3.0}})));
  BOOST_TEST(ok(check("create_task", {{"priority", 1e1}})));
  BOOST_TEST(names(check("create_task", {{"priority", 3.5}}), "priority"));
  BOOST_TEST(names(check("create_task", {{"priority", "3"}}), "priority"));
  BOOST_TEST(names(check("create_task", {{"priority", true}}), "priority"));
  BOOST_TEST(names(check("create_task", {{"priority", 1e300}}), "priority"));
}

BOOST_AUTO_TEST_CASE(max_attempts_is_1_to_100_in_either_spelling) {
  BOOST_TEST(ok(check("create_task", {{"maxAttempts", 1}})));
  BOOST_TEST(ok(check("create_task", {{"max_attempts", 100}})));
  BOOST_TEST(names(check("create_task", {{"maxAttempts", 0}}), "maxAttempts"));
  BOOST_TEST(names(check("create_task", {{"max_attempts", 101}}), "maxAttempts"));
  BOOST_TEST(!ok(check("create_task", {{"maxAttempts", 4'294'967'297LL}})));  // 2^32 + 1
}

BOOST_AUTO_TEST_CASE(lease_range_and_attempts_range_follow_the_config) {
  TaskLimits limits;
  limits.lease_min_seconds = 1;
  limits.lease_max_seconds = 10;
  limits.min_max_attempts = 2;
  limits.max_max_attempts = 5;
  BOOST_TEST(ok(check("create_task", {{"leaseDurationSeconds", 1}}, limits)));
  BOOST_TEST(ok(check("create_task", {{"leaseDurationSeconds", 10}}, limits)));
  BOOST_TEST(!ok(check("create_task", {{"leaseDurationSeconds", 0}}, limits)));
  BOOST_TEST(!ok(check("create_task", {{"lease_duration_seconds", 11}}, limits)));
  BOOST_TEST(names(check("create_task", {{"leaseDurationSeconds", 29}}), "leaseDurationSeconds"));
  BOOST_TEST(ok(check("create_task", {{"maxAttempts", 2}}, limits)));
  BOOST_TEST(!ok(check("create_task", {{"maxAttempts", 6}}, limits)));
}

BOOST_AUTO_TEST_CASE(wait_delay_and_retry_after_follow_the_config) {
  BOOST_TEST(ok(check("claim_task", {{"wait_seconds", 30}})));
  BOOST_TEST(names(check("claim_task", {{"wait_seconds", 31}}), "wait_seconds"));
  BOOST_TEST(names(check("claim_task", {{"waitSeconds", -1}}), "wait_seconds"));
  std::int64_t ahead = kDefaults.max_schedule_ahead_seconds;
  BOOST_TEST(ok(check("create_task", {{"delaySeconds", ahead}})));
  BOOST_TEST(names(check("create_task", {{"delay_seconds", ahead + 1}}), "delaySeconds"));
  std::int64_t retry = kDefaults.max_retry_after_seconds;
  BOOST_TEST(ok(check("fail_task", {{"retry_after_seconds", retry}})));
  BOOST_TEST(names(check("fail_task", {{"retryAfterSeconds", retry + 1}}), "retry_after_seconds"));
  TaskLimits limits;
  limits.max_wait_seconds = 5;
  limits.max_schedule_ahead_seconds = 60;
  BOOST_TEST(ok(check("claim_task", {{"wait_seconds", 5}}, limits)));
  BOOST_TEST(!ok(check("claim_task", {{"wait_seconds", 6}}, limits)));
  BOOST_TEST(!ok(check("create_task", {{"delaySeconds", 61}}, limits)));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- strings, objects, spellings ---------------------------------------------------------

BOOST_AUTO_TEST_SUITE(fields)

BOOST_AUTO_TEST_CASE(worker_id_and_reason_lengths_count_code_points_not_bytes) {
  std::string euro = "\xe2\x82\xac";       // 3 bytes, 1 character
  std::string emoji = "\xf0\x9f\x98\x80";  // 4 bytes
  BOOST_TEST(ok(check("heartbeat", {{"worker_id", repeat(euro, 200)}})));
  BOOST_TEST(names(check("heartbeat", {{"workerId", repeat(euro, 201)}}), "worker_id"));
  BOOST_TEST(ok(check("fail_task", {{"reason", repeat(emoji, 500)}})));
  BOOST_TEST(names(check("fail_task", {{"reason", repeat(emoji, 501)}}), "reason"));
  TaskLimits limits;
  limits.max_worker_id_chars = 3;
  BOOST_TEST(ok(check("claim_task", {{"worker_id", "abc"}}, limits)));
  BOOST_TEST(!ok(check("claim_task", {{"worker_id", "abcd"}}, limits)));
}

BOOST_AUTO_TEST_CASE(a_number_that_is_no_finite_double_is_refused_wherever_it_is) {
  json::value inf = json::parse("1e999");
  BOOST_REQUIRE(inf.is_double());
  BOOST_TEST(names(check("create_task", {{"payload", {{"n", inf}}}}), "payload.n"));
  BOOST_TEST(names(check("create_task", {{"payload", {{"a", json::array{1, -inf.get_double()}}}}}),
                   "payload.a[1]"));
  BOOST_TEST(names(check("complete_task", {{"result", {{"deep", {{"x", inf}}}}}}), "result.deep.x"));
  BOOST_TEST(names(check("create_task", {{"unknownField", inf}}), "unknownField"));
  BOOST_TEST(ok(check("create_task", {{"payload", {{"n", 1e308}}}})));
}

BOOST_AUTO_TEST_CASE(type_is_checked_by_its_own_rule) {
  BOOST_TEST(ok(check("create_task", {{"type", std::string(100, 'x')}})));
  BOOST_TEST(names(check("create_task", {{"type", std::string(101, 'x')}}), "type"));
  BOOST_TEST(names(check("create_task", {{"type", "a b"}}), "type"));
  BOOST_TEST(names(check("create_task", {{"type", ""}}), "type"));
  BOOST_TEST(names(check("list_tasks", {{"type", "a/b"}}), "type"));
}

BOOST_AUTO_TEST_CASE(required_fields_and_null_as_absent) {
  const std::vector<Operation> table = operation_table(kDefaults);
  const Operation& create = *find_operation(table, "create_task");
  BOOST_TEST(names(validate_input(create, {{"payload", json::object{}}}), "type"));
  BOOST_TEST(names(validate_input(create, {{"type", "t"}}), "payload"));
  BOOST_TEST(names(validate_input(create, {{"type", "t"}, {"payload", nullptr}}), "payload"));
  BOOST_TEST(names(validate_input(create, {{"type", "t"}, {"payload", "text"}}), "payload"));
  BOOST_TEST(ok(validate_input(create, {{"type", "t"}, {"payload", json::object{}}, {"priority", nullptr}})));
  BOOST_TEST(names(validate_input(*find_operation(table, "heartbeat"), {}), "task_id"));
}

BOOST_AUTO_TEST_CASE(both_spellings_must_agree) {
  BOOST_TEST(!ok(check("create_task", {{"maxAttempts", 2}, {"max_attempts", 3}})));
  BOOST_TEST(ok(check("create_task", {{"maxAttempts", 4}, {"max_attempts", 4}})));
  BOOST_TEST(!ok(check("heartbeat", {{"lease_token", "a"}, {"leaseToken", "b"}})));
}

BOOST_AUTO_TEST_CASE(status_is_one_of_the_five_states) {
  for (const char* status : {"pending", "claimed", "completed", "dead_letter", "cancelled"}) {
    BOOST_TEST(ok(check("list_tasks", {{"status", status}})));
  }
  BOOST_TEST(names(check("list_tasks", {{"status", "Pending"}}), "status"));
  BOOST_TEST(names(check("list_tasks", {{"status", ""}}), "status"));
}

BOOST_AUTO_TEST_CASE(idempotency_key_is_1_to_255_printable_characters) {
  BOOST_TEST(ok(check("create_task", {{"idempotencyKey", std::string(255, 'k')}})));
  BOOST_TEST(names(check("create_task", {{"idempotency_key", std::string(256, 'k')}}), "idempotencyKey"));
  BOOST_TEST(names(check("complete_task", {{"idempotencyKey", ""}}), "idempotencyKey"));
  BOOST_TEST(names(check("cancel_task", {{"idempotencyKey", "a\tb"}}), "idempotencyKey"));
}

BOOST_AUTO_TEST_CASE(query_strings_become_typed_input) {
  const std::vector<Operation> table = operation_table(kDefaults);
  const Operation& list = *find_operation(table, "list_tasks");
  json::object values;
  BOOST_TEST(query_input(list, "limit=5&status=pending&unknown=1&type=a%5Fb", values));
  BOOST_TEST(values.at("limit").as_int64() == 5);
  BOOST_TEST(values.at("status").as_string() == "pending");
  BOOST_TEST(values.at("type").as_string() == "a_b");
  BOOST_TEST(!values.contains("unknown"));
  json::object bad;
  BOOST_TEST(query_input(list, "limit=abc", bad));
  BOOST_TEST(names(validate_input(list, bad), "limit"));
  json::object empty;
  BOOST_TEST(query_input(list, "limit=", empty));
  BOOST_TEST(!ok(validate_input(list, empty)));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- routing -----------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(routing)

BOOST_AUTO_TEST_CASE(the_most_literal_path_wins_and_fields_are_captured) {
  const std::vector<Operation> table = operation_table(kDefaults);
  Router router(table);
  RouteMatch claim = router.match("POST", "/v1/tasks/claim");
  BOOST_REQUIRE(claim.operation);
  BOOST_TEST(claim.operation->id == "claim_task");
  RouteMatch get_claim = router.match("GET", "/v1/tasks/claim");
  BOOST_TEST(!get_claim.operation);  // not the task "claim": 405
  BOOST_TEST(get_claim.path_known);
  RouteMatch beat = router.match("POST", "/v1/tasks/tsk_1/heartbeat");
  BOOST_REQUIRE(beat.operation);
  BOOST_TEST(beat.operation->id == "heartbeat");
  BOOST_REQUIRE(beat.path_fields.size() == 1u);
  BOOST_TEST(beat.path_fields[0].first == "task_id");
  BOOST_TEST(beat.path_fields[0].second == "tsk_1");
  BOOST_TEST(router.match("DELETE", "/v1/keys/register").path_known);
  BOOST_TEST(!router.match("DELETE", "/v1/keys/register").operation);
}

BOOST_AUTO_TEST_CASE(unknown_paths_are_not_known_and_head_follows_get) {
  const std::vector<Operation> table = operation_table(kDefaults);
  Router router(table);
  for (std::string_view path : {"/v1/task", "/v1/tasks/", "/v1/tasks//heartbeat", "/v1/tasks/x/fly",
                                "/", "", "v1/tasks", "/v1/tasks/x/heartbeat/more"}) {
    BOOST_TEST_CONTEXT(path) {
      RouteMatch m = router.match("POST", path);
      BOOST_TEST(!m.operation);
      BOOST_TEST(!m.path_known);
    }
  }
  RouteMatch head = router.match("HEAD", "/health");
  BOOST_REQUIRE(head.operation);
  BOOST_TEST(head.operation->id == "get_health");
  BOOST_TEST(!router.match("HEAD", "/v1/tasks/claim").operation);
}

BOOST_AUTO_TEST_CASE(fill_path_puts_input_fields_into_the_pattern) {
  const std::vector<Operation> table = operation_table(kDefaults);
  Input input(json::object{{"taskId", "tsk_9"}});
  BOOST_TEST(fill_path(*find_operation(table, "complete_task"), input) == "/v1/tasks/tsk_9/complete");
  BOOST_TEST(fill_path(*find_operation(table, "create_task"), input) == "/v1/tasks");
}

BOOST_AUTO_TEST_SUITE_END()
