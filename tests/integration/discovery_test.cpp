// The discovery documents (spec section 10) cannot drift from what the server does: every
// operation of the table is in the OpenAPI document and the tool manifest, every bound
// they list is the bound enforced (over HTTP and over MCP), and every error an operation
// answers is one it lists.
#define BOOST_TEST_MODULE discovery
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <map>
#include <set>

#include "integration/harness.hpp"
#include "integration/mcp_session.hpp"

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

// A server whose long polls are short, so a claim at the wait bound stays quick.
TestServer& server() {
  return shared_server("discovery", ServerOptions{}.with("claims.max_wait_seconds", "1"));
}

json::object get_document(Client& c, std::string_view path) {
  Response r = c.get(path, "");
  BOOST_REQUIRE_MESSAGE(r.status == 200, path << ": " << r.describe());
  BOOST_REQUIRE_MESSAGE(r.json.is_object(), path << " is not a JSON object");
  BOOST_CHECK_MESSAGE(!r.json.as_object().contains("agent_contract"),
                      path << " is a discovery document: no agent_contract");
  return r.json.as_object();
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// What an operation answered, reduced to what these tests compare.
struct Answer {
  int status = 0;
  std::string error;    // "" on success
  std::string message;
  std::string describe;
};

// The table, as GET /v1/capabilities lists it, with the tool manifest's input schemas.
struct Operation {
  std::string id, method, path;
  std::string auth;  // "bearer" (an API key), "admin" (the admin key) or "none"
  bool mcp_tool = false;
  std::set<std::string> errors;
  json::object input_schema;
};

std::map<std::string, Operation> read_table(Client& c) {
  std::map<std::string, Operation> table;
  const json::object capabilities = get_document(c, "/v1/capabilities");
  const json::object manifest = get_document(c, "/v1/tool");
  for (const json::value& row : capabilities.at("operations").as_array()) {
    const json::object& o = row.as_object();
    Operation op{str(o.at("id")), str(o.at("method")), str(o.at("path")), str(o.at("auth")),
                 o.at("mcp_tool").as_bool(), {}, {}};
    for (const json::value& code : o.at("errors").as_array()) op.errors.insert(str(code));
    table[op.id] = op;
  }
  for (const json::value& tool : manifest.at("tools").as_array()) {
    auto it = table.find(str(tool.at("name")));
    BOOST_REQUIRE_MESSAGE(it != table.end(), "tool " << tool.at("name") << " is no operation");
    it->second.input_schema = tool.at("inputSchema").as_object();
  }
  return table;
}

// Errors seen in answers, per operation: each must be one the operation lists.
std::map<std::string, std::set<std::string>> g_seen_errors;

void record(const Operation& op, const Answer& answer) {
  if (answer.error.empty()) return;
  g_seen_errors[op.id].insert(answer.error);
  BOOST_CHECK_MESSAGE(op.errors.count(answer.error),
                      op.id << " answered " << answer.error
                            << ", which /v1/capabilities does not list for it: " << answer.describe);
}

bool is_path_field(const Operation& op, std::string_view name) {
  std::string braced = "{";
  braced.append(name);
  braced.push_back('}');
  return op.path.find(braced) != std::string::npos;
}

std::string fill(const Operation& op, const json::object& args) {
  std::string path = op.path;
  for (;;) {
    std::size_t open = path.find('{');
    if (open == std::string::npos) return path;
    std::size_t close = path.find('}', open);
    std::string name = path.substr(open + 1, close - open - 1);
    path.replace(open, close - open + 1, url_encode(str(args.at(name))));
  }
}

// Calls `op` over HTTP: path fields into the path, the rest into the query (GET) or body.
Answer call_http(Client& c, const std::string& key, const Operation& op, const json::object& args) {
  const json::object& properties = op.input_schema.at("properties").as_object();
  std::string target = fill(op, args);
  json::object body;
  std::string query;
  for (const auto& [name, value] : args) {
    if (is_path_field(op, name)) continue;
    if (op.method == "GET") {
      BOOST_REQUIRE(properties.contains(name));
      query.push_back(query.empty() ? '?' : '&');
      query.append(name);
      query.push_back('=');
      query.append(url_encode(value.is_string() ? str(value) : js(value)));
    } else {
      body[name] = value;
    }
  }
  Headers auth;
  if (op.auth == "bearer") auth = {{"Authorization", "Bearer " + key}};
  Response r = c.request(op.method, target + query, op.method == "GET" ? "" : js(body), auth);
  Answer answer{r.status, r.error(), "", r.describe()};
  if (r.json.is_object() && r.json.as_object().contains("message")) {
    answer.message = str(r.json.as_object().at("message"));
  }
  record(op, answer);
  return answer;
}

Answer call_mcp(McpSession& mcp, const Operation& op, const json::object& args) {
  json::object result = mcp.call(op.id, args);
  const json::object& content = result.at("structuredContent").as_object();
  Answer answer;
  answer.status = result.at("isError").as_bool() ? 400 : 200;
  answer.describe = js(result);
  if (content.contains("error")) {
    answer.error = str(content.at("error"));
    answer.message = str(content.at("message"));
  }
  // The text content carries the same JSON as the structured content.
  BOOST_CHECK(parse_json(str(result.at("content").as_array().at(0).at("text"))) == json::value(content));
  BOOST_CHECK_EQUAL(result.at("isError").as_bool(), content.contains("error"));
  record(op, answer);
  return answer;
}

json::object minimal_task(const std::string& type) {
  return {{"type", type}, {"payload", {{"n", 1}}}};
}

// The least input `op` accepts, so a test can vary one field at a time.
json::object minimal_arguments(const Operation& op, const std::string& type) {
  json::object args;
  const json::object& schema = op.input_schema;
  if (!schema.contains("required")) return args;
  for (const json::value& name : schema.at("required").as_array()) {
    std::string field = str(name);
    if (field == "type") args["type"] = type;
    else if (field == "payload") args["payload"] = json::object{{"n", 1}};
    else if (field == "task_id") args["task_id"] = "tsk_01JXZK0000000000000000000A";
    else if (field == "key_id") args["key_id"] = "key_01JXZK0000000000000000000A";
    else if (field == "tasks") args["tasks"] = json::array{minimal_task(type)};
    else if (field == "decision") args["decision"] = "approve";
    else if (field == "feedback") args["feedback"] = "more";
    else if (field == "cost") args["cost"] = json::object{{"cpu_time_ms", 1}};
    else if (field == "lines") args["lines"] = json::array{json::object{{"message", "x"}}};
    else if (field == "cron") args["cron"] = "0 0 1 1 *";
    else if (field == "task") args["task"] = minimal_task(type);
    else if (field == "schedule_id") args["schedule_id"] = "sch_01JXZK0000000000000000000A";
    else if (field == "secret") args["secret"] = "whk_0";
    else if (field == "asset") args["asset"] = "app.js";
    else BOOST_FAIL("no minimal value known for required field " << field << " of " << op.id);
  }
  return args;
}

// One account on the shared server, driven over HTTP and over MCP, with the table read.
struct Driver {
  TestServer& s = server();
  Client c = s.client();
  std::string key = c.register_key();
  McpSession mcp{s, key};
  std::map<std::string, Operation> table = read_table(c);
};

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(documents)

BOOST_AUTO_TEST_CASE(the_agent_card_leads_to_every_other_document) {
  Client c = server().client();
  json::object card = get_document(c, "/.well-known/agent.json");
  BOOST_TEST(str(card.at("name")) == "Baton");
  BOOST_TEST(!str(card.at("version")).empty());
  const json::object& urls = card.at("urls").as_object();
  for (const char* name : {"capabilities", "tools", "openapi", "health"}) {
    BOOST_TEST_CONTEXT(name) { get_document(c, str(urls.at(name))); }
  }
  BOOST_TEST(str(urls.at("registration")) == "/v1/keys/register");
  BOOST_TEST(str(urls.at("mcp")) == "/mcp");
  BOOST_TEST(urls.contains("documentation"));
}

BOOST_AUTO_TEST_CASE(every_operation_is_in_the_openapi_document_and_the_tool_manifest) {
  Client c = server().client();
  auto table = read_table(c);
  BOOST_TEST(table.size() >= 20u);
  json::object openapi = get_document(c, "/v1/schema");
  BOOST_TEST(str(openapi.at("openapi")) == "3.1.0");
  const json::object& paths = openapi.at("paths").as_object();
  std::set<std::string> mcp_tools;
  for (const auto& [id, op] : table) {
    BOOST_TEST_CONTEXT(id) {
      BOOST_REQUIRE(paths.contains(op.path));
      const json::object& entry = paths.at(op.path).at(lower(op.method)).as_object();
      BOOST_TEST(str(entry.at("operationId")) == id);
      BOOST_TEST(entry.at("security").as_array().empty() == (op.auth == "none"));
      BOOST_TEST(!op.input_schema.empty());  // in the tool manifest
      // The responses list exactly the operation's errors, each under its own status.
      std::set<std::string> listed;
      for (const auto& [status, response] : entry.at("responses").as_object()) {
        const json::object& r = response.as_object();
        if (!r.contains("x-error-codes")) continue;
        for (const json::value& code : r.at("x-error-codes").as_array()) {
          listed.insert(str(code));
          BOOST_TEST(std::to_string(expected_status(str(code))) == std::string(status));
        }
      }
      BOOST_TEST(listed == op.errors, "OpenAPI and capabilities list other errors");
      if (op.mcp_tool) mcp_tools.insert(id);
    }
  }
  BOOST_TEST(paths.contains("/mcp"));
  // tools/list over MCP offers exactly the operations marked as MCP tools.
  McpSession mcp(server(), c.register_key());
  Response list = mcp.rpc("tools/list", {});
  BATON_REQUIRE_STATUS(list, 200);
  std::set<std::string> offered;
  for (const json::value& tool : list.obj().at("result").at("tools").as_array()) {
    offered.insert(str(tool.at("name")));
    BOOST_TEST(table.at(str(tool.at("name"))).input_schema == tool.at("inputSchema").as_object());
  }
  BOOST_TEST(offered == mcp_tools);
  for (const char* task_tool : {"create_task", "get_task", "list_tasks", "claim_task",
                                "claim_task_by_id", "heartbeat", "complete_task", "fail_task",
                                "cancel_task", "requeue_task"}) {
    BOOST_TEST(offered.count(task_tool) == 1u, task_tool << " is an MCP tool");
  }
}

BOOST_AUTO_TEST_CASE(capabilities_list_the_catalogs_and_the_lifecycle) {
  Client c = server().client();
  json::object caps = get_document(c, "/v1/capabilities");
  std::set<std::string> codes;
  for (const json::value& e : caps.at("errors").as_array()) {
    codes.insert(str(e.at("code")));
    BOOST_TEST(e.at("http_status").as_int64() == expected_status(str(e.at("code"))));
  }
  for (const char* code : {"task_not_found", "lease_expired", "task_cancelled", "rate_limited",
                           "idempotency_conflict", "unavailable"}) {
    BOOST_TEST(codes.count(code) == 1u, code);
  }
  std::set<std::string> actions;
  for (const json::value& a : caps.at("actions").as_array()) actions.insert(str(a));
  BOOST_TEST(actions.count("stop_work") == 1u);
  BOOST_TEST(actions.count("retry_after_wait") == 1u);
  const json::object& lifecycle = caps.at("lifecycle").as_object();
  BOOST_TEST(lifecycle.at("states").as_array().size() == 8u);
  std::set<std::string> edges;
  for (const json::value& t : lifecycle.at("transitions").as_array()) {
    edges.insert(str(t.at("from")) + ">" + str(t.at("to")) + ":" + str(t.at("by")));
  }
  BOOST_TEST(edges.count("dead_letter>pending:requeue_task") == 1u);
  BOOST_TEST(edges.count("claimed>pending:lease_expired") == 1u);
}

BOOST_AUTO_TEST_CASE(capabilities_show_the_limits_of_the_running_config) {
  TestServer custom(ServerOptions{}
                        .with("leases.min_seconds", "5")
                        .with("leases.max_seconds", "120")
                        .with("leases.default_seconds", "60")
                        .with("tasks.max_payload_bytes", "4096")
                        .with("tasks.max_depth", "7")
                        .with("claims.max_wait_seconds", "3")
                        .with("server.max_body_bytes", "8192")
                        .with("server.max_header_bytes", "4096")
                        .with("storage.sync", "batch"));
  Client c = custom.client();
  const json::object capabilities = get_document(c, "/v1/capabilities");
  const json::object& limits = capabilities.at("limits").as_object();
  BOOST_TEST(limits.at("lease_seconds").at("min").as_int64() == 5);
  BOOST_TEST(limits.at("lease_seconds").at("max").as_int64() == 120);
  BOOST_TEST(limits.at("lease_seconds").at("default").as_int64() == 60);
  BOOST_TEST(limits.at("payload_max_bytes").as_int64() == 4096);
  BOOST_TEST(limits.at("payload_max_depth").as_int64() == 7);
  BOOST_TEST(limits.at("claim_wait_max_seconds").as_int64() == 3);
  BOOST_TEST(limits.at("body_max_bytes").as_int64() == 8192);
  BOOST_TEST(limits.at("header_max_bytes").as_int64() == 4096);
  BOOST_TEST(str(limits.at("sync")) == "batch");
  // The tool manifest's bounds follow the same config.
  auto table = read_table(c);
  const json::object& claim = table.at("claim_task").input_schema.at("properties").as_object();
  BOOST_TEST(claim.at("wait_seconds").at("maximum").as_int64() == 3);
  const json::object& create = table.at("create_task").input_schema.at("properties").as_object();
  BOOST_TEST(create.at("leaseDurationSeconds").at("minimum").as_int64() == 5);
  BOOST_TEST(create.at("leaseDurationSeconds").at("maximum").as_int64() == 120);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(bounds)

// For every field with a bound in the manifest, over HTTP and over MCP: the bound itself is
// accepted (whatever else the answer says, it does not reject that field), one past it is
// 400 invalid_request naming the field.
BOOST_AUTO_TEST_CASE(every_listed_bound_is_the_bound_enforced) {
  Driver d;
  auto& [s, c, key, mcp, table] = d;
  std::string type = "bounds_" + unique_suffix();
  int checked = 0;
  for (const auto& [id, op] : table) {
    if (id == "register_account") continue;  // makes accounts; its label is checked below
    if (op.auth == "admin") continue;  // needs the admin key: backup_test checks its bound
    const json::object& properties = op.input_schema.at("properties").as_object();
    for (const auto& [name, schema_value] : properties) {
      const json::object& schema = schema_value.as_object();
      bool in_path = is_path_field(op, name);
      std::vector<std::pair<json::value, json::value>> cases;  // {at the bound, past it}
      std::string kind = str(schema.at("type"));
      if (kind == "integer") {
        if (schema.contains("maximum")) {
          std::int64_t max = schema.at("maximum").as_int64();
          cases.emplace_back(max, max + 1);
        }
        if (schema.contains("minimum")) {
          std::int64_t min = schema.at("minimum").as_int64();
          cases.emplace_back(min, min - 1);
        }
      } else if (kind == "array") {
        // A batch: as many minimal items as the bound allows, and one more or one fewer.
        const json::object& item_schema = schema.at("items").as_object();
        bool ids = item_schema.at("type").as_string() == "string";
        // Log lines need only a message; a batch's items are tasks.
        bool log_lines = name == "lines";
        auto items = [&](std::int64_t count) {
          json::array out;
          for (std::int64_t i = 0; i < count; ++i) {
            if (ids) {
              out.push_back(json::string("tsk_01JXZK" + std::string(19, '0') + std::to_string(i % 10)));
            } else if (log_lines) {
              out.push_back(json::object{{"message", "x"}});
            } else {
              out.push_back(minimal_task(type));
            }
          }
          return out;
        };
        if (schema.contains("maxItems")) {
          std::int64_t max = schema.at("maxItems").as_int64();
          cases.emplace_back(items(max), items(max + 1));
        }
        if (schema.contains("minItems") && schema.at("minItems").as_int64() > 0) {
          std::int64_t min = schema.at("minItems").as_int64();
          cases.emplace_back(items(min), items(min - 1));
        }
      } else if (kind == "string" && schema.contains("maxLength") && !schema.contains("enum") &&
                 name != "cron" && name != "timezone") {
        // (A cron expression or a zone name of 'a's is refused for its grammar, not its
        // length: schedules_test checks those bounds.)
        std::size_t max = static_cast<std::size_t>(schema.at("maxLength").as_int64());
        cases.emplace_back(std::string(max, 'a'), std::string(max + 1, 'a'));
      }
      for (auto& [at_bound, past_bound] : cases) {
        BOOST_TEST_CONTEXT(id << "." << name << " = " << js(at_bound).substr(0, 200) << " / "
                              << js(past_bound).substr(0, 200)) {
          json::object ok_args = minimal_arguments(op, type);
          ok_args[name] = at_bound;
          json::object bad_args = minimal_arguments(op, type);
          bad_args[name] = past_bound;
          std::vector<Answer> accepted, refused;
          if (op.mcp_tool) {  // a live stream's operations are HTTP only
            accepted.push_back(call_mcp(mcp, op, ok_args));
            refused.push_back(call_mcp(mcp, op, bad_args));
          }
          if (!in_path) {
            accepted.push_back(call_http(c, key, op, ok_args));
            refused.push_back(call_http(c, key, op, bad_args));
          }
          for (const Answer& a : accepted) {
            BOOST_CHECK_MESSAGE(a.error != "invalid_request" ||
                                    a.message.find(std::string(name)) == std::string::npos,
                                "the bound itself was refused: " << a.describe);
          }
          for (const Answer& a : refused) {
            BOOST_CHECK_MESSAGE(a.error == "invalid_request", "past the bound: " << a.describe);
            BOOST_CHECK_MESSAGE(a.message.find(std::string(name)) != std::string::npos,
                                "the message should name " << name << ": " << a.describe);
          }
          ++checked;
        }
      }
    }
  }
  // priority, maxAttempts, leaseDurationSeconds, delaySeconds, wait_seconds, limit,
  // retry_after_seconds, worker_id, reason, type, idempotencyKey, label, …
  BOOST_TEST(checked >= 25);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(declared_errors)

// Drives each task operation into the errors it can meet, over HTTP and MCP; record()
// checks each answer's error against the operation's list.
BOOST_AUTO_TEST_CASE(every_error_answered_is_one_the_operation_lists) {
  Driver d;
  auto& [s, c, key, mcp, table] = d;
  std::string type = "errors_" + unique_suffix();
  auto both = [&](const std::string& id, const json::object& args) {
    const Operation& op = table.at(id);
    Answer viaHttp = call_http(c, key, op, args);
    Answer viaMcp = call_mcp(mcp, op, args);
    return std::make_pair(viaHttp, viaMcp);
  };
  auto create = [&](json::object extra) {
    json::object args{{"type", type}, {"payload", json::object{{"n", 1}}}};
    for (auto& [k, v] : extra) args[k] = v;
    json::object result = mcp.call("create_task", args);
    return str(result.at("structuredContent").at("task").at("id"));
  };
  const std::string ghost = "tsk_01JXZK0000000000000000000A";
  for (const char* id : {"get_task", "heartbeat", "complete_task", "fail_task", "cancel_task",
                         "requeue_task", "claim_task_by_id"}) {
    auto [h, m] = both(id, {{"task_id", ghost}});
    BOOST_TEST(h.error == "task_not_found");
    BOOST_TEST(m.error == "task_not_found");
  }
  // A pending task: heartbeat/complete/fail are invalid_transition, requeue too.
  std::string pending = create({});
  BOOST_TEST(both("heartbeat", {{"task_id", pending}}).first.error == "invalid_transition");
  BOOST_TEST(both("requeue_task", {{"task_id", pending}}).second.error == "invalid_transition");
  // Claimed by someone: claim by id is task_currently_claimed, a stale token lease_expired.
  auto claimed = both("claim_task_by_id", {{"task_id", pending}});
  BOOST_TEST(claimed.first.error.empty());
  BOOST_TEST(claimed.second.error == "task_currently_claimed");
  BOOST_TEST(both("heartbeat", {{"task_id", pending}, {"lease_token", "lse_stale"}}).second.error ==
             "lease_expired");
  // Cancelled under its worker: task_cancelled.
  BOOST_TEST(both("cancel_task", {{"task_id", pending}}).first.error.empty());
  BOOST_TEST(both("complete_task", {{"task_id", pending}}).second.error == "task_cancelled");
  // Scheduled later: not_yet_claimable.
  std::string later = create({{"delaySeconds", 3600}});
  BOOST_TEST(both("claim_task_by_id", {{"task_id", later}}).first.error == "not_yet_claimable");
  // Too large a payload or result: payload_too_large.
  json::object big{{"blob", std::string(70000, 'x')}};
  auto too_big = both("create_task", {{"type", type}, {"payload", big}});
  BOOST_TEST(too_big.first.error == "payload_too_large");
  BOOST_TEST(too_big.second.error == "payload_too_large");
  // One idempotency key, two bodies: idempotency_conflict.
  std::string idem = "idem-" + unique_suffix();
  BOOST_TEST(both("create_task", {{"type", type}, {"payload", json::object{{"n", 1}}},
                                  {"idempotencyKey", idem}})
                 .second.error.empty());
  BOOST_TEST(both("create_task", {{"type", type}, {"payload", json::object{{"n", 2}}},
                                  {"idempotencyKey", idem}})
                 .first.error == "idempotency_conflict");
  // A cursor the server never gave, an unknown key.
  BOOST_TEST(both("list_tasks", {{"cursor", "nope"}}).first.error == "invalid_request");
  BOOST_TEST(both("revoke_key", {{"key_id", "key_nope"}}).second.error == "not_found");
  // Without a key, with a bad one (HTTP only: MCP authenticates the session).
  const Operation& get = table.at("get_task");
  for (const std::string& bad : {std::string(), std::string("orch_live_nope")}) {
    Response r = c.get("/v1/tasks/" + ghost, bad);
    Answer answer{r.status, r.error(), "", r.describe()};
    record(get, answer);
    BOOST_TEST(!answer.error.empty());
  }
  // Another method on a known path, and a body that is not JSON.
  Response wrong = c.request("PUT", "/v1/tasks", "{}", {{"Authorization", "Bearer " + key}});
  record(table.at("create_task"), {wrong.status, wrong.error(), "", wrong.describe()});
  BOOST_TEST(wrong.error() == "method_not_allowed");
  Response media = c.request("POST", "/v1/tasks", "{}",
                             {{"Authorization", "Bearer " + key}, {"Content-Type", "text/plain"}});
  record(table.at("create_task"), {media.status, media.error(), "", media.describe()});
  BOOST_TEST(media.error() == "unsupported_media_type");
  BOOST_TEST(g_seen_errors.size() >= 8u);
}

BOOST_AUTO_TEST_SUITE_END()
