#pragma once
// Checks an operation's input against its FieldSpecs: types, bounds, required fields, and
// the two spellings of a field agreeing. The same check runs for an HTTP body, an HTTP
// query string and an MCP tool's arguments, so a bound is enforced wherever it is
// documented.
#include <string>
#include <string_view>

#include "api/operation.hpp"

namespace baton::api {

// "" when `values` is a valid input of `operation`, else the 400's message, naming the
// first field found wrong (fields are checked in the table's order).
std::string validate_input(const Operation& operation, const boost::json::object& values);

// The query string of a GET as input values: each of the operation's query fields that
// is present, integers converted where they read as one (so a bad one fails validation
// with the field's own message). Unknown parameters are ignored. False when the query is
// malformed.
bool query_input(const Operation& operation, std::string_view query, boost::json::object& out);

}  // namespace baton::api
