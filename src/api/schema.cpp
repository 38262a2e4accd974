#include "api/schema.hpp"

#include <boost/json/parse.hpp>

#include <cctype>
#include <map>

namespace baton::api {

namespace json = boost::json;

namespace {

json::object field_schema(const FieldSpec& field);

// An object whose members are `fields` (any object when there are none).
json::object properties_schema(const std::vector<FieldSpec>& fields) {
  json::object schema{{"type", "object"}};
  if (fields.empty()) return schema;
  json::object properties;
  json::array required;
  for (const FieldSpec& inner : fields) {
    properties[inner.name] = field_schema(inner);
    if (inner.required) required.emplace_back(inner.name);
  }
  schema["properties"] = std::move(properties);
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json::object field_schema(const FieldSpec& field) {
  json::object schema;
  switch (field.type) {
    case FieldType::string:
      schema["type"] = "string";
      if (field.minimum) schema["minLength"] = *field.minimum;
      if (field.maximum) schema["maxLength"] = *field.maximum;
      if (!field.pattern.empty()) schema["pattern"] = field.pattern;
      if (!field.one_of.empty()) {
        json::array words;
        for (std::string_view word : field.one_of) words.emplace_back(word);
        schema["enum"] = std::move(words);
      }
      break;
    case FieldType::integer:
      schema["type"] = "integer";
      if (field.minimum) schema["minimum"] = *field.minimum;
      if (field.maximum) schema["maximum"] = *field.maximum;
      break;
    case FieldType::number:
      schema["type"] = "number";
      if (field.minimum) schema["minimum"] = *field.minimum;
      if (field.maximum) schema["maximum"] = *field.maximum;
      break;
    case FieldType::boolean:
      schema["type"] = "boolean";
      break;
    case FieldType::object:
      schema = properties_schema(field.properties);
      break;
    case FieldType::array:
      schema["type"] = "array";
      if (field.items == FieldType::string) {
        json::object item{{"type", "string"}};
        if (!field.pattern.empty()) item["pattern"] = field.pattern;
        schema["items"] = std::move(item);
      } else {
        schema["items"] = properties_schema(field.properties);
      }
      if (field.minimum) schema["minItems"] = *field.minimum;
      if (field.maximum) schema["maxItems"] = *field.maximum;
      break;
  }
  std::string description(field.description);
  if (!field.alias.empty()) {
    description += (description.empty() ? "" : " ") + std::string("Also accepted as ") +
                   std::string(field.alias) + ".";
  }
  if (!description.empty()) schema["description"] = description;
  return schema;
}

json::object object_schema(const Operation& operation, bool body_only) {
  json::object properties;
  json::array required;
  for (const FieldSpec& field : operation.fields) {
    if (body_only && field.in != FieldIn::body) continue;
    properties[field.name] = field_schema(field);
    if (field.required) required.emplace_back(field.name);
  }
  json::object schema{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json::object ref(std::string_view component) {
  return {{"$ref", "#/components/schemas/" + std::string(component)}};
}

json::object json_content(json::object schema) {
  return {{"application/json", {{"schema", std::move(schema)}}}};
}

std::string_view tag_of(const Operation& operation) {
  if (operation.path.starts_with("/v1/tasks")) return "tasks";
  if (operation.path.starts_with("/v1/workers")) return "workers";
  if (operation.path.starts_with("/v1/keys")) return "keys";
  if (operation.path.starts_with("/v1/admin")) return "admin";
  return "discovery";
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

json::object error_responses(const std::vector<ErrorCode>& codes, json::object responses) {
  std::map<int, json::array> by_status;
  for (ErrorCode code : codes) by_status[error_info(code).http_status].emplace_back(error_info(code).name);
  for (auto& [status, names] : by_status) {
    std::string description;
    for (const json::value& name : names) {
      description += (description.empty() ? "" : ", ") + std::string(name.as_string());
    }
    json::object response{{"description", description},
                          {"content", json_content(ref("Error"))},
                          {"x-error-codes", std::move(names)}};
    if (status == 429 || status == 503) {
      response["headers"] = json::object{
          {"Retry-After", {{"description", "Seconds to wait before retrying."},
                           {"schema", {{"type", "integer"}}}}}};
    }
    responses[std::to_string(status)] = std::move(response);
  }
  return responses;
}

json::object operation_object(const Operation& operation) {
  json::object out{{"operationId", operation.id},
                   {"summary", operation.summary},
                   {"description", operation.description},
                   {"tags", json::array{tag_of(operation)}}};
  switch (operation.auth) {
    case Auth::none: out["security"] = json::array{}; break;
    case Auth::api_key:
      out["security"] = json::array{json::object{{"bearer", json::array{}}}};
      break;
    case Auth::admin_key:
      out["security"] = json::array{json::object{{"admin_key", json::array{}}}};
      break;
  }
  json::array parameters;
  for (const FieldSpec& field : operation.fields) {
    if (field.in == FieldIn::body) continue;
    json::object parameter{{"name", field.name},
                           {"in", field.in == FieldIn::path ? "path" : "query"},
                           {"required", field.in == FieldIn::path || field.required},
                           {"schema", field_schema(field)}};
    if (!field.description.empty()) parameter["description"] = field.description;
    parameters.push_back(std::move(parameter));
  }
  if (!parameters.empty()) out["parameters"] = std::move(parameters);
  if (operation.has_body()) {
    json::object body = object_schema(operation, true);
    bool required = body.contains("required");
    out["requestBody"] = json::object{{"required", required},
                                      {"content", json_content(std::move(body))}};
  }
  json::object responses{{std::to_string(operation.success_status),
                          {{"description", operation.summary},
                           {"content", json_content(ref(operation.output))}}}};
  out["responses"] = error_responses(declared_errors(operation), std::move(responses));
  return out;
}

// POST /mcp is a transport, not an operation: it carries the operations as tools.
json::object mcp_path_item() {
  json::object responses{
      {"200", {{"description", "A JSON-RPC response; a tool's own failure is a result with "
                               "isError true."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"202", {{"description", "A notification or a client response was accepted."}}},
      {"400", {{"description", "Malformed JSON-RPC, a missing Mcp-Session-Id or an unsupported "
                               "MCP-Protocol-Version."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"401", {{"description", "missing_api_key, invalid_api_key"},
               {"content", json_content(ref("Error"))}}},
      {"403", {{"description", "An Origin header that is not allowed."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"404", {{"description", "An unknown or expired session."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"405", {{"description", "method_not_allowed (GET: no event stream is offered)"},
               {"content", json_content(ref("Error"))}}},
      {"413", {{"description", "payload_too_large: the body exceeds server.max_body_bytes"},
               {"content", json_content(ref("Error"))}}},
      {"415", {{"description", "A Content-Type other than JSON."},
               {"content", json_content(ref("JsonRpcMessage"))}}},
      {"503", {{"description", "Too many sessions, or the server is unavailable."},
               {"content", json_content(ref("JsonRpcMessage"))}}}};
  json::object post{{"operationId", "mcp"},
                    {"summary", "Model Context Protocol"},
                    {"description", "Streamable HTTP transport, JSON-RPC 2.0: initialize, ping, "
                                    "tools/list, tools/call. One tool per task operation."},
                    {"tags", json::array{"mcp"}},
                    {"security", json::array{json::object{{"bearer", json::array{}}}}},
                    {"requestBody", {{"required", true},
                                     {"content", json_content(ref("JsonRpcMessage"))}}},
                    {"responses", std::move(responses)}};
  json::object end{
      {"operationId", "mcp_end_session"},
      {"summary", "End an MCP session"},
      {"description", "Ends the session named by the Mcp-Session-Id header."},
      {"tags", json::array{"mcp"}},
      {"security", json::array{json::object{{"bearer", json::array{}}}}},
      {"parameters", json::array{json::object{{"name", "Mcp-Session-Id"},
                                              {"in", "header"},
                                              {"required", true},
                                              {"schema", {{"type", "string"}}}}}},
      {"responses",
       {{"204", {{"description", "The session ended."}}},
        {"400", {{"description", "No Mcp-Session-Id header."},
                 {"content", json_content(ref("JsonRpcMessage"))}}},
        {"401", {{"description", "missing_api_key, invalid_api_key"},
                 {"content", json_content(ref("Error"))}}},
        {"404", {{"description", "No such session of this account."},
                 {"content", json_content(ref("JsonRpcMessage"))}}}}}};
  return {{"post", std::move(post)}, {"delete", std::move(end)}};
}

}  // namespace

json::object input_schema(const Operation& operation) { return object_schema(operation, false); }

json::object tool_entry(const Operation& operation) {
  return {{"name", operation.id},
          {"title", operation.summary},
          {"description", operation.description},
          {"inputSchema", input_schema(operation)}};
}

json::object openapi_document(const std::vector<Operation>& table, std::string_view version,
                              bool with_mcp) {
  json::object components_schemas = json::parse(answer_components()).as_object();
  json::array codes, actions;
  for (const ErrorInfo& info : error_catalog()) codes.emplace_back(info.name);
  for (int a = 0; a <= static_cast<int>(kLastActionCode); ++a) {
    actions.emplace_back(to_string(static_cast<ActionCode>(a)));
  }
  components_schemas["Error"].as_object()["properties"].as_object()["error"].as_object()["enum"] =
      std::move(codes);
  components_schemas["NextAction"].as_object()["properties"].as_object()["action"].as_object()["enum"] =
      std::move(actions);

  json::object paths;
  for (const Operation& operation : table) {
    json::value& item = paths[operation.path];
    if (!item.is_object()) item = json::object{};
    item.as_object()[lower(operation.method)] = operation_object(operation);
  }
  json::array tags{json::object{{"name", "tasks"}, {"description", "The task lifecycle."}},
                   json::object{{"name", "workers"}, {"description", "The worker roster and rank."}},
                   json::object{{"name", "keys"}, {"description", "Accounts and API keys."}},
                   json::object{{"name", "admin"},
                                {"description", "The operator's operations, with the admin key."}},
                   json::object{{"name", "discovery"},
                                {"description", "What an agent reads first; no key needed."}}};
  if (with_mcp) {
    paths["/mcp"] = mcp_path_item();
    tags.push_back(json::object{{"name", "mcp"}, {"description", "The MCP endpoint."}});
  } else {
    components_schemas.erase("JsonRpcMessage");
  }

  return {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "Baton"},
        {"version", version},
        {"summary", "A self-hosted task server for autonomous agents."},
        {"description",
         "Producers create tasks; workers claim them by type, hold a lease renewed by "
         "heartbeats, and complete or fail them. Every answer of /v1 carries an agent_contract "
         "saying what to do next. Speaks the Orchestrion v1 API."},
        {"license", {{"name", "MIT"}, {"identifier", "MIT"}}}}},
      {"servers", json::array{json::object{{"url", "/"}, {"description", "This server."}}}},
      {"tags", std::move(tags)},
      {"paths", std::move(paths)},
      {"components",
       {{"schemas", std::move(components_schemas)},
        {"securitySchemes",
         {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                      {"description", "An API key from POST /v1/keys/register."}}},
          {"admin_key", {{"type", "http"}, {"scheme", "bearer"},
                         {"description", "The server's admin key (config admin_key), for the "
                                         "admin operations only."}}}}}}}};
}

}  // namespace baton::api
