// POST /mcp (spec section 10, ext): the Streamable HTTP transport's rules (sessions,
// protocol versions, origins), JSON-RPC errors for malformed messages, tools that do
// exactly what their HTTP endpoints do, long polls, and hostile input.
#define BOOST_TEST_MODULE mcp
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <future>
#include <thread>

#include "integration/harness.hpp"

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

TestServer& server() {
  return shared_server("mcp", ServerOptions{}.with("mcp.allowed_origins", "[\"http://localhost:6274\"]"));
}

std::string str(const json::value& v) { return std::string(v.as_string()); }

json::object initialize_message(int id, std::string_view version = "2025-06-18") {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "initialize"},
          {"params", {{"protocolVersion", version}, {"capabilities", json::object{}},
                      {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}};
}

struct Mcp {
  TestServer& on;
  Client c;
  std::string key;
  std::string session;
  int next_id = 1;

  explicit Mcp(TestServer& s, std::string api_key = {})
      : on(s), c(s.client()), key(api_key.empty() ? c.register_key() : std::move(api_key)) {
    Response r = c.post("/mcp", key, js(initialize_message(next_id++)));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    session = r.header("Mcp-Session-Id");
    BOOST_REQUIRE(!session.empty());
  }

  Headers session_headers() const { return {{"Mcp-Session-Id", session}}; }

  Response send(const json::value& message, Headers headers) {
    return c.post("/mcp", key, js(message), headers);
  }
  Response rpc(std::string_view method, json::object params = {}) {
    return send(json::object{{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", method},
                             {"params", std::move(params)}},
                session_headers());
  }
  json::object call(std::string_view tool, json::object arguments) {
    Response r = rpc("tools/call", {{"name", tool}, {"arguments", std::move(arguments)}});
    BOOST_REQUIRE_MESSAGE(r.status == 200 && r.json.is_object() && r.json.as_object().contains("result"),
                          "tools/call " << tool << ": " << r.describe());
    return r.json.as_object().at("result").as_object();
  }
};

// The JSON-RPC error code of an answer, or 0.
std::int64_t rpc_error(const Response& r) {
  if (!r.json.is_object() || !r.json.as_object().contains("error")) return 0;
  return r.json.as_object().at("error").at("code").as_int64();
}

const json::object& content(const json::object& result) {
  return result.at("structuredContent").as_object();
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(transport)

BOOST_AUTO_TEST_CASE(initialize_agrees_on_a_version_and_hands_out_a_session) {
  Client c = server().client();
  std::string key = c.register_key();
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    Response r = c.post("/mcp", key, js(initialize_message(7, version)));
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_TEST(str(r.obj().at("result").at("protocolVersion")) == version);
    BOOST_TEST(r.obj().at("id").as_int64() == 7);
    BOOST_TEST(r.header("Mcp-Session-Id").size() > 16u);
    BOOST_TEST(r.obj().at("result").at("capabilities").as_object().contains("tools"));
    BOOST_TEST(str(r.obj().at("result").at("serverInfo").at("name")) == "baton");
  }
  Response other = c.post("/mcp", key, js(initialize_message(8, "1999-01-01")));
  BATON_REQUIRE_STATUS(other, 200);
  BOOST_TEST(str(other.obj().at("result").at("protocolVersion")) == "2025-11-25");
}

BOOST_AUTO_TEST_CASE(requests_after_initialize_need_a_live_session_of_the_same_account) {
  Mcp mcp(server());
  BOOST_TEST(rpc_error(mcp.rpc("ping")) == 0);
  json::object ping{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}};
  Response missing = mcp.send(ping, {});
  BOOST_TEST(missing.status == 400);
  BOOST_TEST(rpc_error(missing) != 0);
  Response unknown = mcp.send(ping, {{"Mcp-Session-Id", "mcp_00000000000000000000000000000000"}});
  BOOST_TEST(unknown.status == 404);
  // Another account's key with this session: as unknown.
  Client other = server().client();
  Response stolen = other.post("/mcp", other.register_key(), js(ping), mcp.session_headers());
  BOOST_TEST(stolen.status == 404);
  // No key at all: 401 with an agent_contract, as on /v1.
  Response anonymous = mcp.c.post("/mcp", "", js(ping), mcp.session_headers());
  BATON_CHECK_ERROR(anonymous, "missing_api_key");
  // DELETE ends the session.
  Response end = mcp.c.request("DELETE", "/mcp", "",
                               {{"Authorization", "Bearer " + mcp.key}, {"Mcp-Session-Id", mcp.session}});
  BOOST_TEST(end.status == 204);
  BOOST_TEST(mcp.send(ping, mcp.session_headers()).status == 404);
}

BOOST_AUTO_TEST_CASE(protocol_version_header_is_checked_after_initialize) {
  Mcp mcp(server());
  json::object ping{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}};
  Headers h = mcp.session_headers();
  h["MCP-Protocol-Version"] = "2025-03-26";
  BOOST_TEST(mcp.send(ping, h).status == 200);
  h["MCP-Protocol-Version"] = "2024-01-01";
  Response bad = mcp.send(ping, h);
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(rpc_error(bad) != 0);
}

BOOST_AUTO_TEST_CASE(an_origin_not_listed_is_403_and_a_listed_one_passes) {
  Mcp mcp(server());
  json::object ping{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "ping"}};
  Headers h = mcp.session_headers();
  h["Origin"] = "http://evil.example";
  BOOST_TEST(mcp.send(ping, h).status == 403);
  h["Origin"] = "http://localhost:6274";
  BOOST_TEST(mcp.send(ping, h).status == 200);
}

BOOST_AUTO_TEST_CASE(notifications_and_client_responses_are_202_with_no_body) {
  Mcp mcp(server());
  Response note = mcp.send(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}},
                           mcp.session_headers());
  BOOST_TEST(note.status == 202);
  BOOST_TEST(note.body.empty());
  Response reply = mcp.send(json::object{{"jsonrpc", "2.0"}, {"id", 99}, {"result", json::object{}}},
                            mcp.session_headers());
  BOOST_TEST(reply.status == 202);
  BOOST_TEST(reply.body.empty());
}

BOOST_AUTO_TEST_CASE(get_on_mcp_is_405) {
  Mcp mcp(server());
  Response r = mcp.c.get("/mcp", mcp.key, mcp.session_headers());
  BATON_CHECK_ERROR(r, "method_not_allowed");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(malformed)

BOOST_AUTO_TEST_CASE(malformed_json_rpc_gets_the_json_rpc_error_codes) {
  Mcp mcp(server());
  Headers h = mcp.session_headers();
  struct Case {
    std::string body;
    std::int64_t code;
  };
  const std::vector<Case> cases = {
      {"{not json", -32700},
      {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600},  // a batch
      {"[]", -32600},
      {"42", -32600},
      {"{\"id\":1,\"method\":\"ping\"}", -32600},                        // no jsonrpc
      {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":\"" + std::string(100000, '9') + "\",\"method\":\"ping\"}", -32600},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no/such\"}", -32601},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":5}}", -32602},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}", -32602},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_task\","
       "\"arguments\":[1]}}", -32602},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.body.substr(0, 120)) {
      Response r = mcp.c.post("/mcp", mcp.key, c.body, h);
      BOOST_TEST(rpc_error(r) == c.code, r.describe());
      BOOST_TEST(r.status < 500);
      BOOST_TEST(str(r.obj().at("jsonrpc")) == "2.0");
    }
  }
  BOOST_TEST(rpc_error(mcp.rpc("ping")) == 0);  // the session still works
}

BOOST_AUTO_TEST_CASE(arguments_that_fail_validation_are_a_tool_error_with_the_http_body) {
  Mcp mcp(server());
  json::object result = mcp.call("create_task", {{"type", "x"}, {"payload", json::object{}},
                                                  {"priority", 101}});
  BOOST_TEST(result.at("isError").as_bool());
  BOOST_TEST(str(content(result).at("error")) == "invalid_request");
  BOOST_TEST(str(content(result).at("message")).find("priority") != std::string::npos);
  BATON_CHECK_CONTRACT(content(result).at("agent_contract"));
  result = mcp.call("heartbeat", {{"lease_token", "x"}});  // no task_id
  BOOST_TEST(str(content(result).at("error")) == "invalid_request");
  result = mcp.call("create_task", {{"type", 5}, {"payload", json::object{}}});
  BOOST_TEST(str(content(result).at("message")).find("type") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_body_at_the_size_limit_is_answered_and_one_byte_more_is_413) {
  const int limit = 65536;
  TestServer s(ServerOptions{}.with("server.max_body_bytes", std::to_string(limit))
                   .with("tasks.max_payload_bytes", "1024"));
  Mcp mcp(s);
  auto message_of_size = [&](std::size_t size) {
    json::object message{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
                         {"params", {{"name", "create_task"},
                                     {"arguments", {{"type", "big"}, {"payload", {{"blob", ""}}}}}}}};
    std::string text = js(message);
    std::size_t pad = size - text.size();
    message["params"].as_object()["arguments"].as_object()["payload"].as_object()["blob"] =
        std::string(pad, 'x');
    text = js(message);
    BOOST_REQUIRE_EQUAL(text.size(), size);
    return text;
  };
  Response at = mcp.c.post("/mcp", mcp.key, message_of_size(limit), mcp.session_headers());
  BATON_REQUIRE_STATUS(at, 200);
  BOOST_TEST(str(at.obj().at("result").at("structuredContent").at("error")) == "payload_too_large");
  Response past = mcp.c.post("/mcp", mcp.key, message_of_size(limit + 1), mcp.session_headers());
  BOOST_TEST(past.status == 413);
  Mcp again(s);  // the server still serves
  BOOST_TEST(rpc_error(again.rpc("ping")) == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(tools)

BOOST_AUTO_TEST_CASE(a_tool_answers_exactly_what_its_http_endpoint_answers) {
  Mcp mcp(server());
  std::string type = "same_" + unique_suffix();
  json::object created = mcp.call("create_task", {{"type", type}, {"payload", {{"n", 1}}}});
  BOOST_TEST(!created.at("isError").as_bool());
  std::string id = str(content(created).at("task").at("id"));
  Response http = mcp.c.get_task(mcp.key, id);
  BATON_REQUIRE_STATUS(http, 200);
  json::object viaMcp = mcp.call("get_task", {{"task_id", id}});
  BOOST_TEST(json::value(content(viaMcp)) == http.json);
  // And the text content is that JSON too.
  BOOST_TEST(parse_json(str(viaMcp.at("content").at(0).at("text"))) == http.json);
}

BOOST_AUTO_TEST_CASE(a_worker_loop_over_mcp_with_fencing) {
  Mcp mcp(server());
  std::string type = "loop_" + unique_suffix();
  json::object created = mcp.call("create_task", {{"type", type}, {"payload", {{"n", 1}}}});
  std::string id = str(content(created).at("task").at("id"));
  json::object claim = mcp.call("claim_task", {{"type", type}, {"worker_id", "w1"}});
  BOOST_TEST(str(content(claim).at("task").at("id")) == id);
  BOOST_TEST(recommended_action(content(claim).at("agent_contract")) == "heartbeat");
  std::string token = str(content(claim).at("task").at("leaseToken"));
  json::object beat = mcp.call("heartbeat", {{"task_id", id}, {"lease_token", token}});
  BOOST_TEST(!beat.at("isError").as_bool());
  json::object stale = mcp.call("complete_task", {{"task_id", id}, {"lease_token", "lse_0000"}});
  BOOST_TEST(stale.at("isError").as_bool());
  BOOST_TEST(str(content(stale).at("error")) == "lease_expired");
  BATON_CHECK_CONTRACT(content(stale).at("agent_contract"));
  json::object done = mcp.call("complete_task", {{"task_id", id}, {"lease_token", token},
                                                  {"result", {{"ok", true}}}});
  BOOST_TEST(str(content(done).at("task").at("status")) == "completed");
  BOOST_TEST(mcp.c.get_task(mcp.key, id).task_str("status") == "completed");
}

BOOST_AUTO_TEST_CASE(complete_task_chains_the_next_claim_with_claim_next) {
  Mcp mcp(server());
  std::string type = "chain_" + unique_suffix();
  Response tools = mcp.rpc("tools/list");
  BATON_REQUIRE_STATUS(tools, 200);
  bool described = false;
  for (const json::value& tool : tools.json.at("result").at("tools").as_array()) {
    if (str(tool.at("name")) != "complete_task") continue;
    const json::object& claim_next =
        tool.at("inputSchema").at("properties").at("claim_next").as_object();
    described = claim_next.at("properties").as_object().contains("wait_seconds");
  }
  BOOST_TEST(described);

  mcp.call("create_task", {{"type", type}, {"payload", {{"n", 1}}}});
  json::object second = mcp.call("create_task", {{"type", type}, {"payload", {{"n", 2}}}});
  json::object claim = mcp.call("claim_task", {{"type", type}, {"worker_id", "w1"}});
  std::string id = str(content(claim).at("task").at("id"));
  json::object done = mcp.call(
      "complete_task", {{"task_id", id},
                        {"lease_token", content(claim).at("task").at("leaseToken")},
                        {"claim_next", {{"type", type}, {"worker_id", "w1"}}}});
  BOOST_TEST(!done.at("isError").as_bool());
  BOOST_TEST(str(content(done).at("task").at("status")) == "completed");
  BOOST_TEST(str(content(done).at("next").at("task").at("id")) ==
             str(content(second).at("task").at("id")));
  json::object bad = mcp.call("complete_task", {{"task_id", id}, {"claim_next", 5}});
  BOOST_TEST(bad.at("isError").as_bool());
  BOOST_TEST(str(content(bad).at("error")) == "invalid_request");
}

BOOST_AUTO_TEST_CASE(an_idempotency_key_means_the_same_over_mcp_and_http) {
  Mcp mcp(server());
  std::string type = "idem_" + unique_suffix();
  std::string key = "k-" + unique_suffix();
  json::object viaMcp = mcp.call("create_task", {{"type", type}, {"payload", {{"n", 1}}},
                                                  {"idempotencyKey", key}});
  Response viaHttp = mcp.c.create_task(mcp.key, task_body(type), {{"Idempotency-Key", key}});
  BATON_REQUIRE_STATUS(viaHttp, 201);
  BOOST_TEST(viaHttp.task_id() == str(content(viaMcp).at("task").at("id")));
  BOOST_TEST(mcp.c.list_tasks(mcp.key, "type=" + type).obj().at("tasks").as_array().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_long_poll_claim_over_mcp_is_woken_by_a_create_over_http) {
  Mcp mcp(server());
  std::string type = "wake_" + unique_suffix();
  auto started = SteadyClock::now();
  auto claim = std::async(std::launch::async, [&] {
    return mcp.call("claim_task", {{"type", type}, {"wait_seconds", 10}});
  });
  std::this_thread::sleep_for(300ms);
  Client producer = mcp.on.client();
  std::string id = producer.create_task_id(mcp.key, task_body(type));
  json::object result = claim.get();
  BOOST_TEST(str(content(result).at("task").at("id")) == id);
  BOOST_TEST(seconds(SteadyClock::now() - started) < 5.0);
}

BOOST_AUTO_TEST_CASE(a_client_gone_during_an_mcp_long_poll_never_takes_the_task) {
  TestServer& s = server();
  Client c = s.client();
  std::string key = c.register_key();
  Mcp mcp(s, key);
  std::string type = "gone_" + unique_suffix();
  {
    RawConnection raw(s.port());
    std::string body = js(json::object{{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"},
                                       {"params", {{"name", "claim_task"},
                                                   {"arguments", {{"type", type}, {"wait_seconds", 10}}}}}});
    std::string request = "POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key +
                          "\r\nMcp-Session-Id: " + mcp.session +
                          "\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body;
    BOOST_REQUIRE(raw.send(request));
    std::this_thread::sleep_for(300ms);
  }  // closed while parked
  std::this_thread::sleep_for(300ms);
  std::string id = c.create_task_id(key, task_body(type));
  std::this_thread::sleep_for(300ms);
  Response task = c.get_task(key, id);
  BOOST_TEST(task.task_str("status") == "pending");
  BOOST_TEST(task.task_int("attemptCount") == 0);
  json::object claim = mcp.call("claim_task", {{"type", type}});
  BOOST_TEST(str(content(claim).at("task").at("id")) == id);
}

BOOST_AUTO_TEST_CASE(a_long_poll_claim_called_off_by_notifications_cancelled_takes_no_task) {
  Mcp mcp(server());
  std::string type = "off_" + unique_suffix();
  const int request_id = 4242;
  auto started = SteadyClock::now();
  auto claim = std::async(std::launch::async, [&] {
    return mcp.send(json::object{{"jsonrpc", "2.0"}, {"id", request_id}, {"method", "tools/call"},
                                 {"params", {{"name", "claim_task"},
                                             {"arguments", {{"type", type}, {"wait_seconds", 10}}}}}},
                    mcp.session_headers());
  });
  std::this_thread::sleep_for(300ms);
  Client other = mcp.on.client();  // another connection, maybe another shard
  Response cancelled = other.post(
      "/mcp", mcp.key,
      js(json::object{{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
                      {"params", {{"requestId", request_id}, {"reason", "user"}}}}),
      mcp.session_headers());
  BOOST_TEST(cancelled.status == 202);
  Response answer = claim.get();
  BATON_REQUIRE_STATUS(answer, 200);
  BOOST_TEST(seconds(SteadyClock::now() - started) < 5.0);
  BOOST_TEST(answer.obj().at("result").at("structuredContent").at("task").is_null());
  std::string id = other.create_task_id(mcp.key, task_body(type));
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(other.get_task(mcp.key, id).task_str("status") == "pending");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(sessions)

BOOST_AUTO_TEST_CASE(ten_thousand_sessions_fill_the_pool_and_others_keep_working) {
  TestServer s;  // mcp.max_sessions 10000, max_sessions_per_account 1000
  Mcp first(s);
  Client flood = s.client();
  int opened = 0, refused = 0;
  for (int account = 0; account < 11; ++account) {
    std::string key = flood.register_key();
    for (int i = 0; i < 1000; ++i) {
      Response r = flood.post("/mcp", key, js(initialize_message(i)));
      if (r.status == 200) {
        ++opened;
      } else {
        BOOST_REQUIRE_MESSAGE(r.status == 503, r.describe());
        BOOST_REQUIRE(rpc_error(r) != 0);
        BOOST_REQUIRE(!r.header("Retry-After").empty());
        ++refused;
      }
    }
  }
  BOOST_TEST(opened == 10000 - 1);  // `first` holds one place
  BOOST_TEST(refused == 11000 - opened);
  BOOST_TEST(rpc_error(first.rpc("ping")) == 0);  // an existing session is unaffected
  Client other = s.client();
  BATON_CHECK_STATUS(other.get("/health", ""), 200);
  BATON_CHECK_STATUS(other.create_task(other.register_key(), task_body("after_flood")), 201);
}

BOOST_AUTO_TEST_CASE(an_account_past_its_bound_loses_its_own_oldest_session) {
  TestServer s(ServerOptions{}.with("mcp.max_sessions_per_account", "3"));
  Mcp other(s);
  Mcp oldest(s);
  Client c = s.client();
  for (int i = 0; i < 3; ++i) {
    BATON_REQUIRE_STATUS(c.post("/mcp", oldest.key, js(initialize_message(i))), 200);
  }
  BOOST_TEST(oldest.rpc("ping").status == 404);  // evicted by its own account's fourth
  BOOST_TEST(rpc_error(other.rpc("ping")) == 0);
}

BOOST_AUTO_TEST_CASE(an_idle_session_expires_and_its_place_is_free_again) {
  TestServer s(ServerOptions{}.with("mcp.max_sessions", "2").with("mcp.session_idle_seconds", "1"));
  Mcp a(s);
  Mcp b(s);
  Client c = s.client();
  Response full = c.post("/mcp", a.key, js(initialize_message(1)));
  BOOST_TEST(full.status == 503);
  std::this_thread::sleep_for(1500ms);
  BOOST_TEST(a.rpc("ping").status == 404);  // expired
  Response room = c.post("/mcp", a.key, js(initialize_message(2)));
  BOOST_TEST(room.status == 200);
}

BOOST_AUTO_TEST_CASE(mcp_can_be_turned_off) {
  TestServer s(ServerOptions{}.with("mcp.enabled", "false"));
  Client c = s.client();
  Response r = c.post("/mcp", c.register_key(), js(initialize_message(1)));
  BATON_CHECK_ERROR(r, "not_found");
  Response card = c.get("/.well-known/agent.json", "");
  BOOST_TEST(!card.obj().at("urls").as_object().contains("mcp"));
}

BOOST_AUTO_TEST_SUITE_END()
