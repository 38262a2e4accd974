// Fuzz target: a request body as every operation reads it. The bytes go through the body
// parser with the shipped limits (depth, UTF-8, size), then through every operation's
// input check (the same check MCP tool arguments get), then, where the check passes,
// through the step to the engine's typed request (api/commands.hpp); and as a query
// string through every operation that reads one.
//
// Properties: nothing crashes; a body's idempotency hash does not depend on the order of
// its members (a retry may send them in another order); an input that passes an
// operation's check has every field it names with the declared type; and the typed
// request it becomes stays inside the configured limits (priority, attempts, lease,
// schedule, wait, payload and result sizes), or is a 4xx problem with a message.
//
// Not a property: parse(serialize(body)) == body. Boost.JSON 1.81 reads a double to within
// an ulp, not exactly, so a number beyond int64 can differ in its last digit after a round
// trip (docs/reliability.md, known limits).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "api/body.hpp"
#include "api/commands.hpp"
#include "api/input.hpp"
#include "api/operations.hpp"
#include "config/config.hpp"
#include "property.hpp"

namespace baton::fuzz {
namespace {

namespace json = boost::json;

bool has_type(const json::value& value, api::FieldType type) {
  switch (type) {
    case api::FieldType::string: return value.is_string();
    case api::FieldType::integer:  // 2.0 is the integer 2 (input.cpp)
      return value.is_int64() || value.is_uint64() ||
             (value.is_double() && std::trunc(value.get_double()) == value.get_double());
    case api::FieldType::boolean: return value.is_bool();
    case api::FieldType::object: return value.is_object();
    case api::FieldType::array: return value.is_array();
    case api::FieldType::number: return value.is_number();
  }
  return false;
}

// A value of a field that is present and not null has the field's type.
void expect_typed(const api::Operation& operation, const json::object& values) {
  for (const api::FieldSpec& field : operation.fields) {
    for (std::string_view name : {field.name, field.alias}) {
      if (name.empty()) continue;
      const json::value* value = values.if_contains(name);
      if (value == nullptr || value->is_null()) continue;
      expect(has_type(*value, field.type), "a checked input has its fields' types",
             std::string(operation.id) + "." + std::string(name) + " = " + json::serialize(*value));
    }
  }
}

void expect_claim(const ClaimRequest& claim, const TaskLimits& limits, const std::string& what) {
  expect(claim.wait_ms >= 0 && claim.wait_ms <= limits.max_wait_seconds * 1000,
         "a claim waits within claims.max_wait_seconds", what);
  expect(!claim.type || !claim.type->empty(), "a claim's type is absent or not empty", what);
}

template <class T>
const T* built_or_problem(const api::Built<T>& built, const std::string& what) {
  if (const auto* problem = std::get_if<api::InputProblem>(&built)) {
    expect(!problem->message.empty() && error_info(problem->code).http_status >= 400 &&
               error_info(problem->code).http_status < 500,
           "an input the engine cannot take is a 4xx with a message", what);
    return nullptr;
  }
  return &std::get<T>(built);
}

// The typed request a checked input becomes, for the operations that take one.
void expect_command(const api::Operation& operation, const api::Input& input,
                    const TaskLimits& limits, const std::string& bytes) {
  constexpr Millis kNow = 1'800'000'000'000;  // a fixed clock: the same input, the same request
  std::string_view id = operation.id;
  if (id == "create_task") {
    auto built = api::create_request(input, limits, "acct", kNow);
    if (const CreateRequest* create = built_or_problem(built, bytes)) {
      expect(create->priority >= 0 && create->priority <= 100, "priority in 0-100", bytes);
      expect(create->max_attempts >= limits.min_max_attempts &&
                 create->max_attempts <= limits.max_max_attempts,
             "maxAttempts within its limits", bytes);
      expect(create->lease_duration_seconds >= limits.lease_min_seconds &&
                 create->lease_duration_seconds <= limits.lease_max_seconds,
             "the lease within its limits", bytes);
      expect(create->scheduled_at <= kNow + limits.max_schedule_ahead_seconds * 1000,
             "scheduled at most tasks.max_schedule_ahead_seconds ahead", bytes);
      expect(static_cast<std::int64_t>(create->payload_json.size()) <= limits.max_payload_bytes,
             "the payload within tasks.max_payload_bytes", bytes);
      json::parse_options deep;
      deep.max_depth = 1 << 20;  // the body parser's own depth limit already applied
      boost::system::error_code ec;
      json::value payload = json::parse(create->payload_json, ec, {}, deep);
      expect(!ec && payload.is_object(), "the payload is a JSON object", bytes);
      expect(!create->type.empty(), "a task has a type", bytes);
    }
  } else if (id == "create_tasks") {
    auto built = api::create_batch_request(input, limits, "acct", kNow);
    if (const auto* requests = built_or_problem(built, bytes)) {
      expect(!requests->empty() && static_cast<int>(requests->size()) <= limits.max_create_batch,
             "a batch holds 1 to tasks.max_batch tasks", bytes);
      for (const CreateRequest& create : *requests) {
        expect(static_cast<std::int64_t>(create.payload_json.size()) <= limits.max_payload_bytes,
               "each payload within tasks.max_payload_bytes", bytes);
      }
    }
  } else if (id == "claim_task") {
    expect_claim(api::claim_request(input, "acct"), limits, bytes);
    if (auto count = api::claim_count(input)) {
      expect(*count >= 1 && *count <= limits.max_claim_batch, "max_tasks within claims.max_batch",
             bytes);
    }
  } else if (id == "complete_task") {
    auto built = api::complete_command(input, limits, true);
    if (const CompleteCmd* complete = built_or_problem(built, bytes)) {
      expect(!complete->caller.lease_token.empty(), "require_token keeps a token", bytes);
      expect(!complete->result_json ||
                 static_cast<std::int64_t>(complete->result_json->size()) <= limits.max_payload_bytes,
             "the result within tasks.max_payload_bytes", bytes);
    }
    if (auto next = api::claim_next_request(input, "acct")) expect_claim(*next, limits, bytes);
  } else if (id == "fail_task") {
    auto built = api::fail_command(input, false);
    if (const FailCmd* fail = built_or_problem(built, bytes)) {
      expect(!fail->retry_after_seconds || (*fail->retry_after_seconds >= 0 &&
                                            *fail->retry_after_seconds <= limits.max_retry_after_seconds),
             "retry_after_seconds within its limit", bytes);
    }
    if (auto next = api::claim_next_request(input, "acct")) expect_claim(*next, limits, bytes);
  } else if (id == "heartbeat") {
    built_or_problem(api::heartbeat_command(input, true), bytes);
  }
}

struct Table {
  TaskLimits limits = Config{}.task_limits();
  std::vector<api::Operation> operations = api::operation_table(limits);
};

}  // namespace
}  // namespace baton::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace baton;
  using namespace baton::fuzz;
  static const Table table;
  std::string bytes(reinterpret_cast<const char*>(data), size);

  http::Request request;
  request.content_type = "application/json";
  request.body = bytes;
  json::object body;
  api::BodyError error = api::parse_body(request, table.limits, body);
  if (error.code == ErrorCode::none) {
    json::object reordered;
    for (auto member = body.end(); member != body.begin();) {
      --member;
      reordered.emplace(member->key(), member->value());
    }
    expect(api::canonical_body_hash(body) == api::canonical_body_hash(reordered),
           "a body's hash does not depend on the order of its members", bytes);
    for (const api::Operation& operation : table.operations) {
      if (!api::validate_input(operation, body).empty()) continue;
      expect_typed(operation, body);
      expect_command(operation, api::Input(body), table.limits, bytes);
    }
  }
  for (const api::Operation& operation : table.operations) {
    json::object query;
    if (!api::query_input(operation, bytes, query)) continue;
    if (api::validate_input(operation, query).empty()) expect_typed(operation, query);
  }
  return 0;
}
