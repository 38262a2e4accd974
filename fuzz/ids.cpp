// Fuzz target: the parsers of identifiers clients send: task ids (tsk_ + ULID), bare
// ULIDs, and lease tokens as the lease_token field's check reads them.
//
// Properties: nothing crashes; an id that parses prints back as the canonical spelling
// of the same bytes, and that spelling parses to the same bytes.
#include <cstdint>
#include <string>

#include "api/input.hpp"
#include "api/operations.hpp"
#include "config/config.hpp"
#include "core/ulid.hpp"
#include "property.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace baton;
  using namespace baton::fuzz;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto ulid = decode_ulid(text)) {
    const std::string canonical = encode_ulid(*ulid);
    expect(decode_ulid(canonical) == ulid, "a ULID's canonical spelling parses to it", text);
  }
  if (auto id = parse_task_id(text)) {
    const std::string canonical = task_id_string(*id);
    expect(parse_task_id(canonical) == id, "a task id's canonical spelling parses to it", text);
  }
  // The lease token as heartbeat reads it from a body.
  static const std::vector<api::Operation> table = api::operation_table(Config{}.task_limits());
  static const api::Operation* heartbeat = api::find_operation(table, "heartbeat");
  expect(heartbeat != nullptr, "the table has heartbeat");
  boost::json::object body{{"task_id", text}, {"lease_token", text}};
  (void)api::validate_input(*heartbeat, body);
  return 0;
}
