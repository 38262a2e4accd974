#pragma once
// The machine-readable descriptions of the API, all read off the operation table: an
// operation's input as JSON Schema, the tool manifest (GET /v1/tool, MCP tools/list) and
// the OpenAPI 3.1 document (GET /v1/schema).
#include <boost/json/value.hpp>

#include <string_view>
#include <vector>

#include "api/operation.hpp"

namespace baton::api {

// {"type": "object", "properties": …, "required": […]}: every field, path fields included
// (an MCP tool takes them as arguments).
boost::json::object input_schema(const Operation& operation);

// {"name", "title", "description", "inputSchema"} of one operation.
boost::json::object tool_entry(const Operation& operation);

// The answer bodies' schemas as JSON text, the OpenAPI document's components/schemas
// (schema_components.cpp).
std::string_view answer_components();

// `with_mcp`: whether POST /mcp is served (mcp.enabled).
boost::json::object openapi_document(const std::vector<Operation>& table, std::string_view version,
                                     bool with_mcp);

}  // namespace baton::api
