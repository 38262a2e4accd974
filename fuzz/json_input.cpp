// Fuzz target: a request body as every operation reads it. The bytes go through the body
// parser with the shipped limits (depth, UTF-8, size), then through every operation's
// input check (the same check MCP tool arguments get), and as a query string through
// every operation that reads one.
//
// Properties: nothing crashes; a body's idempotency hash does not depend on the order of
// its members (a retry may send them in another order); an input that passes an
// operation's check has every field it names with the declared type.
//
// Not a property: parse(serialize(body)) == body. Boost.JSON 1.81 reads a double to within
// an ulp, not exactly, so a number beyond int64 can differ in its last digit after a round
// trip (docs/reliability.md, known limits).
#include <boost/json/serialize.hpp>

#include <cmath>
#include <cstdint>
#include <string>

#include "api/body.hpp"
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
      if (api::validate_input(operation, body).empty()) expect_typed(operation, body);
    }
  }
  for (const api::Operation& operation : table.operations) {
    json::object query;
    if (!api::query_input(operation, bytes, query)) continue;
    if (api::validate_input(operation, query).empty()) expect_typed(operation, query);
  }
  return 0;
}
