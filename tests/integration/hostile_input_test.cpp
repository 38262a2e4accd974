// Hostile and malformed input (spec sections 1 and 8): bad JSON, limits on payload,
// depth, body and headers, content types, routing errors, malformed HTTP, idle and
// excess connections. Each error carries the full error envelope, and afterwards the
// server still answers and works ("never crashes or stalls").
#define BOOST_TEST_MODULE hostile_input
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <cstdlib>
#include <future>
#include <random>

#include <sys/socket.h>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

// Small limits so that the tests can cross them cheaply.
constexpr int kMaxPayloadBytes = 1024;
constexpr int kMaxDepth = 8;
constexpr int kMaxBodyBytes = 8192;
constexpr int kMaxHeaderBytes = 4096;

TestServer& limited_server() {
  return shared_server("limited", ServerOptions{}
                                      .with("tasks.max_payload_bytes", std::to_string(kMaxPayloadBytes))
                                      .with("tasks.max_depth", std::to_string(kMaxDepth))
                                      .with("server.max_body_bytes", std::to_string(kMaxBodyBytes))
                                      .with("server.max_header_bytes", std::to_string(kMaxHeaderBytes)));
}

struct Fresh : FreshAccount {
  Fresh() : FreshAccount("hostile_", limited_server()) {}

  // The server still answers /health and serves a full create/claim/complete.
  void check_still_works() {
    BOOST_REQUIRE_MESSAGE(server.alive(), "baton died: " << server.exit_description());
    Client fresh = server.client();
    Response health = fresh.get("/health", "");
    BATON_REQUIRE_STATUS(health, 200);
    BOOST_TEST(health.obj().at("status").as_string() == "ok");
    std::string t = "after_" + unique_suffix();
    std::string id = fresh.create_task_id(key, task_body(t));
    Response claimed = fresh.claim(key, js({{"type", t}}));
    BATON_REQUIRE_STATUS(claimed, 200);
    BOOST_REQUIRE(!claimed.task_is_null());
    BOOST_TEST(claimed.task_id() == id);
    BATON_REQUIRE_STATUS(fresh.complete(key, id, js({{"lease_token", claimed.task_str("leaseToken")}})), 200);
  }
  std::size_t task_count() {
    Response r = c.list_tasks(key, "limit=100");
    BATON_REQUIRE_STATUS(r, 200);
    return r.obj().at("tasks").as_array().size();
  }
};

std::string nested_payload(int depth) {
  // {"type":T,"payload":{"a":{"a":...{}}}} with `depth` objects in the payload
  std::string p;
  for (int i = 1; i < depth; ++i) p += "{\"a\":";
  p += "{}";
  for (int i = 1; i < depth; ++i) p += "}";
  return p;
}

std::string http_request(const std::string& method, const std::string& target, const std::string& key,
                         const std::string& body, const std::string& extra_headers = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
  r += extra_headers;
  r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  return r + body;
}

// A raw exchange that must end in the 4xx answer `code` names (any 4xx when it is empty)
// with a JSON error body and a contract: never silence, a 5xx, or a bare close.
void check_rejected(const RawRead& read, const std::string& what, std::string_view code) {
  const int status = read.status();
  BOOST_TEST_MESSAGE(what << ": status " << status << (read.closed ? ", closed" : "")
                          << (read.timed_out ? ", timed out" : "") << ", " << read.data.size() << " bytes");
  BOOST_TEST_CONTEXT(what) {
    BOOST_REQUIRE_MESSAGE(status != 0, "expected an answer, got "
                                           << (read.timed_out ? "silence" : read.closed ? "a close" : "garbage")
                                           << ": " << read.data.substr(0, 200));
    Response r = parse_raw_response(read.data);
    if (code.empty()) {
      BOOST_CHECK_MESSAGE(status >= 400 && status < 500, "expected 4xx, got: " << read.data.substr(0, 500));
      BOOST_CHECK_MESSAGE(r.json_ok && r.json.is_object() && r.json.as_object().contains("agent_contract") &&
                              contract_problem(r.json.at("agent_contract")).empty(),
                          "expected a JSON error with an agent_contract: " << r.describe());
    } else {
      BATON_CHECK_ERROR(r, code);
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(malformed_bodies)

BOOST_AUTO_TEST_CASE(invalid_json_is_400_invalid_request) {
  Fresh f;
  for (const std::string& body : {std::string(R"({"type":)"), std::string(R"({type: "x", payload: {}})"),
                                 std::string(R"({"type":"x","payload":{},})"),
                                 std::string(R"({"type":"x","payload":{}} trailing)"),
                                 std::string(R"({"type":"x","payload":{"n":NaN}})"), std::string("\x01\x02"),
                                 std::string(R"({"type":"x","payload":{"s":"unterminated}})")}) {
    BOOST_TEST_CONTEXT("body " << body) { BATON_CHECK_ERROR(f.c.create_task(f.key, body), "invalid_request"); }
  }
  BOOST_TEST(f.task_count() == 0u);

  // Invalid bodies on other endpoints change nothing either.
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  BATON_CHECK_ERROR(f.c.claim(f.key, R"({"type":)"), "invalid_request");
  BATON_CHECK_ERROR(f.c.claim_id(f.key, id, "{oops"), "invalid_request");
  BOOST_TEST(f.c.get_task(f.key, id).task_str("status") == "pending");
  Response claimed = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  BATON_CHECK_ERROR(f.c.complete(f.key, id, R"({"result":)"), "invalid_request");
  BATON_CHECK_ERROR(f.c.fail(f.key, id, "[]"), "invalid_request");
  BATON_CHECK_ERROR(f.c.heartbeat(f.key, id, R"({"lease_token": 7})"), "invalid_request");
  BOOST_TEST(f.c.get_task(f.key, id).task_str("status") == "claimed");
  f.check_still_works();
}

// A worker's id and an assignment are compared as text (a column on PostgreSQL, where a
// NUL would end them): control characters are refused, and nothing is claimed or made.
BOOST_AUTO_TEST_CASE(control_characters_in_worker_ids_are_400) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  for (const std::string& worker : {std::string("w\\u0000x"), std::string("w\\u001b[31m"),
                                    std::string("tab\\there")}) {
    BOOST_TEST_CONTEXT("worker_id " << worker) {
      Response claimed = f.c.claim(f.key, R"({"type":")" + f.type + R"(","worker_id":")" + worker + R"("})");
      BATON_CHECK_ERROR(claimed, "invalid_request");
      BOOST_TEST(claimed.obj().at("message").as_string().find("worker_id") != std::string::npos);
      BATON_CHECK_ERROR(f.c.claim_id(f.key, id, R"({"worker_id":")" + worker + R"("})"), "invalid_request");
      BATON_CHECK_ERROR(f.c.create_task(f.key, R"({"type":")" + f.type +
                                                   R"(","payload":{},"assign_to":")" + worker + R"("})"),
                        "invalid_request");
    }
  }
  BOOST_TEST(f.c.get_task(f.key, id).task_str("status") == "pending");
  BOOST_TEST(f.task_count() == 1u);
  // Other Unicode is a name like any other.
  Response named = f.c.claim(f.key, R"({"type":")" + f.type + R"(","worker_id":"Zoë-🤖"})");
  BATON_REQUIRE_STATUS(named, 200);
  BOOST_TEST(named.task_str("claimedBy") == "Zoë-🤖");
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_an_object_is_400) {
  Fresh f;
  for (const char* body : {"[1,2]", "[]", "\"text\"", "42", "null", "true"}) {
    BOOST_TEST_CONTEXT("body " << body) { BATON_CHECK_ERROR(f.c.create_task(f.key, body), "invalid_request"); }
  }
  BOOST_TEST(f.task_count() == 0u);
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_400) {
  Fresh f;
  const std::string bad_value = "{\"type\":\"" + f.type + "\",\"payload\":{\"s\":\"\xff\xfe\"}}";
  const std::string overlong = "{\"type\":\"" + f.type + "\",\"payload\":{\"s\":\"\xc0\xaf\"}}";
  const std::string bad_key = "{\"type\":\"" + f.type + "\",\"payload\":{\"\xe2\x28\xa1\":1}}";
  const std::string truncated = "{\"type\":\"" + f.type + "\",\"payload\":{\"s\":\"\xe2\x82\"}}";
  for (const std::string& body : {bad_value, overlong, bad_key, truncated})
    BATON_CHECK_ERROR(f.c.create_task(f.key, body), "invalid_request");
  // Valid multi-byte UTF-8 is fine and round-trips.
  const std::string good = "{\"type\":\"" + f.type + "\",\"payload\":{\"s\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}}";
  Response r = f.c.create_task(f.key, good);
  BATON_REQUIRE_STATUS(r, 201);
  BOOST_TEST(std::string(r.task().at("payload").as_object().at("s").as_string()) ==
             "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");
  BOOST_TEST(f.task_count() == 1u);
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(nesting_deeper_than_max_depth_is_400) {
  Fresh f;
  const std::string shallow = "{\"type\":\"" + f.type + "\",\"payload\":" + nested_payload(kMaxDepth / 2) + "}";
  BATON_REQUIRE_STATUS(f.c.create_task(f.key, shallow), 201);
  const std::string deep = "{\"type\":\"" + f.type + "\",\"payload\":" + nested_payload(kMaxDepth * 3) + "}";
  BATON_CHECK_ERROR(f.c.create_task(f.key, deep), "invalid_request");
  // Deep arrays anywhere in the body, within the body size limit: rejected, no crash.
  const std::string arrays = "{\"type\":\"" + f.type + "\",\"payload\":{\"a\":" + std::string(3000, '[') +
                             std::string(3000, ']') + "}}";
  BATON_CHECK_ERROR(f.c.create_task(f.key, arrays), "invalid_request");
  const std::string unbalanced = std::string(4000, '[');
  BATON_CHECK_ERROR(f.c.create_task(f.key, unbalanced), "invalid_request");
  BOOST_TEST(f.task_count() == 1u);
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(a_payload_over_max_payload_bytes_is_413_payload_too_large) {
  Fresh f;
  Response small = f.c.create_task(f.key, task_body(f.type, {{"payload", json::object{{"s", std::string(kMaxPayloadBytes / 2, 'x')}}}}));
  BATON_REQUIRE_STATUS(small, 201);
  Response big = f.c.create_task(f.key, task_body(f.type, {{"payload", json::object{{"s", std::string(kMaxPayloadBytes * 2, 'x')}}}}));
  BATON_CHECK_ERROR(big, "payload_too_large");
  BOOST_TEST(f.task_count() == 1u);
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(a_body_over_max_body_bytes_is_413) {
  Fresh f;
  const std::string body = task_body(f.type, {{"payload", json::object{{"s", std::string(kMaxBodyBytes * 3, 'x')}}}});
  RawRead read = raw_exchange(f.server.port(), http_request("POST", "/v1/tasks", f.key, body), 5s);
  check_rejected(read, "content-length body over the limit", "payload_too_large");

  // The same as chunked transfer encoding.
  std::string chunked = "POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + f.key +
                        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += 1000) {
    std::string piece = body.substr(at, 1000);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunked += std::string(size) + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  read = raw_exchange(f.server.port(), chunked, 5s);
  check_rejected(read, "chunked body over the limit", "payload_too_large");

  // A declared length over the limit is refused without waiting for the body.
  RawConnection declared(f.server.port());
  declared.send("POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + f.key +
                "\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{");
  read = declared.read_until_close(3s);
  check_rejected(read, "declared length over the limit", "payload_too_large");

  BOOST_TEST(f.task_count() == 0u);
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(headers_over_max_header_bytes_are_431) {
  Fresh f;
  const std::string padding = "X-Padding: " + std::string(kMaxHeaderBytes * 2, 'p') + "\r\n";
  RawRead read = raw_exchange(f.server.port(), http_request("GET", "/v1/tasks", f.key, "", padding), 5s);
  check_rejected(read, "one huge header", "request_header_too_large");

  std::string many;
  for (int i = 0; i < kMaxHeaderBytes / 20 + 10; ++i) many += "X-H" + std::to_string(i) + ": vvvvvvvvvvvv\r\n";
  read = raw_exchange(f.server.port(), http_request("GET", "/v1/tasks", f.key, "", many), 5s);
  check_rejected(read, "many headers", "request_header_too_large");

  const std::string long_target = "/v1/tasks?type=" + std::string(kMaxHeaderBytes * 2, 't');
  read = raw_exchange(f.server.port(), http_request("GET", long_target, f.key, ""), 5s);
  check_rejected(read, "huge request target", "");
  f.check_still_works();
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(content_types)

BOOST_AUTO_TEST_CASE(other_content_types_are_415) {
  Fresh f;
  for (const char* type : {"text/plain", "application/xml", "multipart/form-data; boundary=x"}) {
    BOOST_TEST_CONTEXT(type) {
      BATON_CHECK_ERROR(f.c.create_task(f.key, task_body(f.type), {{"Content-Type", type}}),
                        "unsupported_media_type");
    }
  }
  // A content type that is not UTF-8 is quoted back as '?': the answer stays JSON.
  std::string raw = http_request("POST", "/v1/tasks", f.key, task_body(f.type), "Connection: close\r\n");
  std::size_t at = raw.find("application/json");
  BOOST_REQUIRE(at != std::string::npos);
  raw.replace(at, 16, "text/\xff\xfe");
  Response odd = parse_raw_response(raw_exchange(f.server.port(), raw, 5s).data);
  BOOST_TEST(odd.status == 415);
  BOOST_TEST(odd.json_ok);
  BOOST_TEST(odd.body.find("text/??") != std::string::npos);
  // A form body that is not JSON.
  BATON_CHECK_ERROR(f.c.create_task(f.key, "type=x&payload=y",
                                    {{"Content-Type", "application/x-www-form-urlencoded"}}),
                    "unsupported_media_type");
  BOOST_TEST(f.task_count() == 0u);
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(json_form_and_missing_content_types_are_accepted) {
  Fresh f;
  BATON_CHECK_STATUS(f.c.create_task(f.key, task_body(f.type), {{"Content-Type", "application/json"}}), 201);
  BATON_CHECK_STATUS(f.c.create_task(f.key, task_body(f.type), {{"Content-Type", "application/json; charset=utf-8"}}), 201);
  BATON_CHECK_STATUS(f.c.create_task(f.key, task_body(f.type), {{"Content-Type", "application/x-www-form-urlencoded"}}), 201);
  BATON_CHECK_STATUS(f.c.create_task(f.key, task_body(f.type), {{"Content-Type", ""}}), 201);
  BOOST_TEST(f.task_count() == 4u);
  // Empty bodies on all-optional endpoints mean {} whatever the content type.
  Response claim = f.c.claim(f.key, "", {{"Content-Type", "text/plain"}});
  BOOST_TEST((claim.status == 200 || claim.status == 415));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(routing_errors)

BOOST_AUTO_TEST_CASE(an_unknown_route_is_404_not_found) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.get("/v1/nothing-here", f.key), "not_found");
  BATON_CHECK_ERROR(f.c.post("/v1/tasks/tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV/explode", f.key, "{}"), "not_found");
  BATON_CHECK_ERROR(f.c.get("/v2/tasks", f.key), "not_found");
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(a_wrong_method_is_405_method_not_allowed) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.request("PUT", "/v1/tasks", task_body(f.type), {{"Authorization", "Bearer " + f.key}}),
                    "method_not_allowed");
  BATON_CHECK_ERROR(f.c.get("/v1/keys/register", f.key), "method_not_allowed");
  BATON_CHECK_ERROR(f.c.request("PATCH", "/v1/tasks/claim", "{}", {{"Authorization", "Bearer " + f.key}}),
                    "method_not_allowed");
  BOOST_TEST(f.task_count() == 0u);
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(malformed_http_gets_400) {
  Fresh f;
  const std::vector<std::string> inputs = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      std::string("\x00\x01\x02\x03\r\n\r\n", 8),
      "GET /health HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 18446744073709551616\r\n\r\n",
      "POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n\r\n",
      "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad\x01Name: x\r\n\r\n",
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    RawRead read = raw_exchange(f.server.port(), inputs[i], 3s);
    check_rejected(read, "malformed input #" + std::to_string(i), "invalid_request");
  }
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  Fresh f;
  RawConnection raw(f.server.port());
  std::string two = http_request("GET", "/health", "", "") + http_request("GET", "/v1/tasks?limit=1", f.key, "");
  BOOST_REQUIRE(raw.send(two));
  RawRead first = raw.read_response(3s);
  RawRead second = raw.read_response(3s);
  BOOST_TEST(first.status() == 200);
  BOOST_TEST(second.status() == 200);
  Response listed = parse_raw_response(second.data);
  BOOST_TEST(listed.json.is_object());
  BOOST_TEST((listed.json.is_object() && listed.json.as_object().contains("tasks")));
}

BOOST_AUTO_TEST_CASE(a_head_answer_carries_no_body_so_the_next_answer_frames_right) {
  Fresh f;
  std::string both = http_request("HEAD", "/health", "", "") +
                     http_request("GET", "/health", "", "", "Connection: close\r\n");
  RawRead read = raw_exchange(f.server.port(), both, 3s);
  const std::string& data = read.data;
  std::size_t first_end = data.find("\r\n\r\n");
  BOOST_REQUIRE(first_end != std::string::npos);
  BOOST_TEST(data.starts_with("HTTP/1.1 200 OK\r\n"));
  BOOST_TEST(data.substr(0, first_end).find("Content-Length: ") != std::string::npos);
  // The second answer starts right after the first one's headers: no body in between.
  BOOST_TEST(data.compare(first_end + 4, 17, "HTTP/1.1 200 OK\r\n") == 0);
  Response second = parse_raw_response(std::string_view(data).substr(first_end + 4));
  BOOST_TEST(second.status == 200);
  BOOST_TEST((second.json.is_object() && second.json.as_object().contains("status")));
}

BOOST_AUTO_TEST_CASE(seeded_mutations_of_valid_requests_get_an_answer_or_a_close_never_a_5xx) {
  // A small built-in fuzzer: valid requests with bytes flipped, inserted, dropped,
  // repeated or cut. The client half-closes after sending, so every exchange must end
  // (answer, then close) well within the deadline; no answer may be a 5xx, and every
  // 4xx carries a contract. The seed is fixed, so a failure reproduces; BATON_FUZZ_SEED
  // and BATON_FUZZ_ROUNDS explore further (fuzz/README.md).
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body("fz"));
  Response initialized = f.c.post(
      "/mcp", f.key,
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fz","version":"1"}}})");
  BATON_REQUIRE_STATUS(initialized, 200);
  const std::string mcp_session = initialized.header("Mcp-Session-Id");
  const std::vector<std::string> seeds = {
      http_request("POST", "/v1/tasks", f.key,
                   R"({"type":"fz","payload":{"a":[1,2.5,{"b":"c\u00e9"}],"n":null},"priority":5,"maxAttempts":2,"delaySeconds":0})"),
      http_request("POST", "/v1/tasks/claim", f.key, R"({"type":"fz","worker_id":"w1"})"),
      http_request("POST", "/v1/tasks/" + id + "/complete", f.key,
                   R"({"result":{"ok":true},"worker_id":"w1","lease_token":"lse_00"})"),
      http_request("POST", "/v1/tasks/" + id + "/fail", f.key, R"({"error":"x","retry_after_seconds":3})"),
      http_request("GET", "/v1/tasks?type=fz&status=pending&limit=5", f.key, ""),
      http_request("POST", "/v1/keys", f.key, R"({"label":"fz"})"),
      http_request("POST", "/v1/tasks", f.key, R"({"task_type":"fz","payload":{},"max_attempts":1})",
                   "Idempotency-Key: fz-1\r\nX-Request-Id: fz-req\r\n"),
      http_request("POST", "/v1/tasks/" + id + "/claim", f.key, R"({"worker_id":"w2","lease_seconds":30})"),
      http_request("POST", "/v1/tasks/" + id + "/heartbeat", f.key, R"({"lease_token":"lse_1"})"),
      http_request("POST", "/v1/tasks/" + id + "/cancel", f.key, ""),
      http_request("POST", "/v1/tasks/" + id + "/requeue", f.key, "{}"),
      http_request("GET", "/v1/tasks/" + id, f.key, ""),
      http_request("GET", "/v1/tasks?before=" + id + "&limit=2", f.key, ""),
      http_request("DELETE", "/v1/keys/key_00000000000000000000000000", f.key, ""),
      http_request("POST", "/v1/keys/register", "", "{}"),
      http_request("POST", "/mcp", f.key,
                   R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"fz","version":"1"}}})"),
      http_request("POST", "/mcp", f.key,
                   R"({"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"create_task","arguments":{"type":"fz","payload":{"n":[1e3,-2]},"priority":3}}})",
                   "Mcp-Session-Id: " + mcp_session + "\r\nMCP-Protocol-Version: 2025-06-18\r\n"),
      http_request("POST", "/mcp", f.key,
                   R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"heartbeat","arguments":{"task_id":")" + id + R"(","lease_token":"lse_0"}}})",
                   "Mcp-Session-Id: " + mcp_session + "\r\n"),
      "POST /v1/tasks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + f.key +
          "\r\nTransfer-Encoding: chunked\r\n\r\n10;ext=1\r\n{\"type\":\"fz\",\"pa\r\n"
          "12\r\nyload\":{\"k\":true}}\r\n0\r\n\r\n",
  };
  static constexpr char kInteresting[] = "\0\r\n\"{}[]\\:, 9-.eE\xff\xc3\x80%";
  const std::string interesting(kInteresting, sizeof kInteresting - 1);  // keeps the '\0'
  const char* seed_text = std::getenv("BATON_FUZZ_SEED");
  const char* rounds_text = std::getenv("BATON_FUZZ_ROUNDS");
  std::mt19937 rng(seed_text ? static_cast<unsigned>(std::stoul(seed_text)) : 20261123u);
  const int rounds = rounds_text ? std::stoi(rounds_text) : 1500;
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  int answered = 0;
  for (int round = 0; round < rounds; ++round) {
    std::string bytes = seeds[pick(seeds.size())];
    int edits = 1 + static_cast<int>(pick(4));
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      std::size_t at = pick(bytes.size());
      switch (pick(5)) {
        case 0: bytes[at] = static_cast<char>(pick(256)); break;
        case 1: bytes.insert(at, 1, interesting[pick(interesting.size())]); break;
        case 2: bytes.erase(at, 1 + pick(8)); break;
        case 3: bytes.insert(at, bytes.substr(at, 1 + pick(16))); break;
        default: bytes.resize(at); break;
      }
    }
    RawConnection raw(f.server.port());
    raw.send(bytes);
    ::shutdown(raw.fd(), SHUT_WR);
    RawRead read = raw.read_until_close(3s);
    BOOST_TEST_CONTEXT("round " << round) {
      BOOST_TEST(!read.timed_out);
      if (read.data.empty()) continue;  // closed without a word: allowed for broken framing
      int status = read.status();
      BOOST_TEST(status >= 200);
      BOOST_TEST(status < 500);
      if (status >= 400 && status < 500) {
        Response answer = parse_raw_response(read.data);
        // A Baton error body, or a JSON-RPC error (POST /mcp) whose data carries it.
        const json::value* contract = nullptr;
        if (answer.json.is_object()) {
          const json::object& body = answer.json.as_object();
          contract = body.if_contains("agent_contract");
          const json::value* error = body.if_contains("error");
          if (!contract && error && error->is_object()) {
            const json::value* data = error->as_object().if_contains("data");
            if (data && data->is_object()) contract = data->as_object().if_contains("agent_contract");
          }
        }
        BOOST_TEST(contract != nullptr,
                   "answer: " << read.data.substr(0, 600) << "\nrequest: " << bytes.substr(0, 400));
      }
      ++answered;
    }
  }
  BOOST_TEST(answered > rounds / 3);  // most mutations still parse as HTTP and get an answer
  f.check_still_works();
}

BOOST_AUTO_TEST_CASE(the_server_survives_a_burst_of_hostile_connections) {
  Fresh f;
  // Half-sent requests, abrupt closes, random bytes, all at once.
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 20; ++i) {
    conns.push_back(std::make_unique<RawConnection>(f.server.port()));
    switch (i % 5) {
      case 0: conns.back()->send("POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"type\""); break;
      case 1: conns.back()->send("GET /hea"); break;
      case 2: conns.back()->send(std::string(3000, '\xff')); break;
      case 3: conns.back()->send("GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n"); break;
      case 4: break;
    }
  }
  for (std::size_t i = 0; i < conns.size(); i += 2) conns[i]->close();
  f.check_still_works();
  conns.clear();
  f.check_still_works();
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(connection_limits)

BOOST_AUTO_TEST_CASE(an_idle_connection_is_closed_after_idle_timeout_while_others_keep_working) {
  TestServer server(ServerOptions{}.with("server.idle_timeout_seconds", "1"));
  const int port = server.port();

  // An active client: a request every 200 ms for 3 s on one connection.
  auto active = std::async(std::launch::async, [port] {
    std::vector<int> statuses;
    Client c(port);
    auto until = SteadyClock::now() + 3s;
    while (SteadyClock::now() < until) {
      statuses.push_back(c.get("/health", "").status);
      std::this_thread::sleep_for(200ms);
    }
    return std::make_pair(statuses, c.connects());
  });

  auto began = SteadyClock::now();
  RawConnection idle(port);
  RawConnection partial(port);
  BOOST_REQUIRE(partial.send("POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  RawRead idle_read = idle.read_until_close(4s);
  double idle_closed_after = seconds(SteadyClock::now() - began);
  BOOST_TEST(idle_read.closed);
  BOOST_TEST(idle_read.data.empty());
  BOOST_TEST(idle_closed_after >= 0.8);
  BOOST_TEST(idle_closed_after <= 3.0);

  RawRead partial_read = partial.read_until_close(4s);
  BOOST_TEST(partial_read.closed);
  BOOST_TEST((partial_read.data.empty() || partial_read.status() == 408 || partial_read.status() == 400));

  auto [statuses, connects] = active.get();
  BOOST_TEST(statuses.size() >= 5u);
  for (int s : statuses) BOOST_TEST(s == 200);
  BOOST_TEST(connects == 1);

  // A keep-alive connection idle after a request is closed too; the client reconnects.
  Client c(port);
  BATON_REQUIRE_STATUS(c.get("/health", ""), 200);
  std::this_thread::sleep_for(2000ms);
  BATON_REQUIRE_STATUS(c.get("/health", ""), 200);
  BOOST_TEST(c.connects() == 2);
}

// Slowloris: a request trickling in a byte at a time never completes within the idle
// timeout, so it is cut off however often bytes arrive.
BOOST_AUTO_TEST_CASE(a_request_trickling_in_is_cut_off_at_the_idle_timeout) {
  TestServer server(ServerOptions{}.with("server.idle_timeout_seconds", "1"));
  RawConnection slow(server.port());
  const std::string request = "POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " +
                              std::string(200, 'a') + "\r\n\r\n";
  auto began = SteadyClock::now();
  bool closed = false;
  for (std::size_t i = 0; i < request.size() && !closed; ++i) {
    if (!slow.send(request.substr(i, 1))) break;
    closed = slow.read_until_close(37ms).closed;
    if (SteadyClock::now() - began > 6s) break;
  }
  if (!closed) closed = slow.read_until_close(1s).closed;
  double after = seconds(SteadyClock::now() - began);
  BOOST_TEST(closed);
  BOOST_TEST(after >= 0.8);
  BOOST_TEST(after <= 3.0);

  // A body streamed in small writes back to back: reads keep completing, so a timeout
  // can land while one's completion is still queued; it must stick all the same.
  RawConnection steady(server.port());
  BOOST_REQUIRE(steady.send("POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n"));
  began = SteadyClock::now();
  bool cut = false;
  const std::string piece(8, ' ');
  while (SteadyClock::now() - began < 5s) {
    if (!steady.send(piece)) {
      cut = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  after = seconds(SteadyClock::now() - began);
  BOOST_TEST(cut);
  BOOST_TEST(after <= 3.0);
}

BOOST_AUTO_TEST_CASE(connections_past_max_connections_are_refused_or_closed) {
  TestServer server(ServerOptions{}.with("server.max_connections", "4").with("server.shards", "1"));
  const int port = server.port();

  // Four connections in use (retrying briefly while the harness's own health-check
  // connection is being torn down by the server).
  std::vector<Client> held;
  for (int i = 0; i < 4; ++i) {
    held.emplace_back(port, 2s);
    bool ok = poll_until(
        [&] {
          try {
            return held.back().get("/health", "").status == 200;
          } catch (const std::exception&) {
            return false;
          }
        },
        3000ms, 100ms);
    BOOST_REQUIRE_MESSAGE(ok, "connection " << i << " of 4 was not served");
  }

  // A fifth is refused or closed without being served.
  bool refused = false;
  RawRead fifth;
  try {
    RawConnection extra(port);
    extra.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    fifth = extra.read_until_close(3s);
  } catch (const std::exception&) {
    refused = true;
  }
  BOOST_TEST_MESSAGE("fifth connection: " << (refused ? "refused" : fifth.closed ? "closed" : "open")
                                          << ", answer: " << fifth.data.substr(0, 60));
  if (!refused) {
    BOOST_CHECK_MESSAGE(fifth.status() != 200, "the fifth connection was served: " << fifth.data.substr(0, 200));
    BOOST_CHECK_MESSAGE(fifth.closed, "the fifth connection was neither refused nor closed");
    if (fifth.status() != 0) {
      BOOST_TEST(fifth.status() == 503);
      // A full error answer: body, contract, and a Retry-After equal to its wait.
      BATON_CHECK_ERROR(parse_raw_response(fifth.data), "unavailable");
    }
  }

  // The four still work.
  for (auto& c : held) BATON_CHECK_STATUS(c.get("/health", ""), 200);

  // Freeing one makes room again.
  held.front().close();
  bool room = poll_until(
      [&] {
        try {
          Client again(port, 2s);
          return again.get("/health", "").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      3000ms, 100ms);
  BOOST_TEST(room);
  BOOST_TEST(server.alive());
}

BOOST_AUTO_TEST_SUITE_END()
