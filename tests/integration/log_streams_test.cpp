// Live log streams over raw sockets (docs/api.md "Live log streams"): what the real
// clients in tests/node do not reach: the stream caps, refusals before a stream opens,
// HEAD, a cancelled task's end, and a server that shuts down with streams open.
#define BOOST_TEST_MODULE log_streams
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

ServerOptions stream_options() {
  ServerOptions options;
  options.extra_yaml = "task_logs:\n  max_streams: 6\n  max_streams_per_account: 3\n";
  return options;
}

TestServer& stream_server() { return shared_server("log_streams", stream_options()); }

struct Fresh : FreshAccount {
  std::string id, token;
  explicit Fresh(TestServer& on = stream_server()) : FreshAccount("streams_", on) {
    id = c.create_task_id(key, task_body(type));
    Response r = c.claim_id(key, id, js({{"worker_id", "w"}}));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    token = r.task_str("leaseToken");
  }
  std::string stream_request(const std::string& method = "GET", const std::string& extra = {}) {
    return method + " /v1/tasks/" + id + "/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           key + "\r\n" + extra + "\r\n";
  }
  // A stream whose head (and first field) has arrived.
  std::unique_ptr<RawConnection> open_stream() {
    auto conn = std::make_unique<RawConnection>(server.port());
    BOOST_REQUIRE(conn->send(stream_request()));
    return conn;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(streams_past_the_accounts_cap_are_refused_and_freed_when_closed) {
  Fresh f;
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(f.open_stream());
    BOOST_TEST(open.back()->read_until("retry:", std::chrono::seconds(5)).find("200 OK") !=
               std::string::npos);
  }
  Response refused = f.c.get("/v1/tasks/" + f.id + "/logs/stream", f.key);
  BATON_CHECK_ERROR(refused, "rate_limited");
  BOOST_TEST(refused.obj().at("message").as_string().find("max_streams") != json::string::npos);
  // Another account has room of its own.
  Fresh other;
  auto theirs = other.open_stream();
  BOOST_TEST(theirs->read_until("retry:", std::chrono::seconds(5)).find("200 OK") != std::string::npos);
  // A closed stream gives its slot back.
  open.back()->close();
  open.pop_back();
  BOOST_TEST(poll_until([&] {
    auto again = std::make_unique<RawConnection>(f.server.port());
    again->send(f.stream_request());
    std::string head = again->read_until("\r\n\r\n", std::chrono::seconds(2));
    if (head.find("200 OK") == std::string::npos) return false;
    open.push_back(std::move(again));
    return true;
  }, std::chrono::seconds(5), std::chrono::milliseconds(100)));
}

BOOST_AUTO_TEST_CASE(refusals_come_before_a_stream_opens) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.get("/v1/tasks/tsk_01JXZK0000000000000000000A/logs/stream", f.key),
                    "task_not_found");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks/" + f.id + "/logs/stream", ""), "missing_api_key");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks/" + f.id + "/logs/stream", f.key, {{"Last-Event-ID", "x1"}}),
                    "invalid_request");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks/" + f.id + "/logs/stream", f.key, {{"Upgrade", "h2c"}}),
                    "invalid_request");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks/" + f.id + "/logs/stream?stream_token=stk_forged", ""),
                    "invalid_api_key");
  Fresh stranger;
  BATON_CHECK_ERROR(stranger.c.get("/v1/tasks/" + f.id + "/logs/stream", stranger.key),
                    "task_not_found");
  BATON_CHECK_ERROR(stranger.c.post("/v1/tasks/" + f.id + "/logs/stream-token", stranger.key),
                    "task_not_found");
  // A WebSocket handshake without its key is answered by the WebSocket layer, not a hang.
  RawConnection bad(f.server.port());
  bad.send(f.stream_request("GET", "Upgrade: websocket\r\nConnection: Upgrade\r\n"));
  RawRead answer = bad.read_until_close(std::chrono::seconds(5));
  BOOST_TEST(answer.status() >= 400);
  BOOST_TEST(f.server.alive());
}

int open_streams(Client& c) {
  Response health = c.get("/health", "");
  return static_cast<int>(health.obj().at("log_streams").at("open").as_int64());
}

BOOST_AUTO_TEST_CASE(a_refused_websocket_handshake_holds_no_stream) {
  Fresh f;
  int before = open_streams(f.c);
  for (const char* headers : {"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
                              "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"}) {
    RawConnection conn(f.server.port());
    conn.send(f.stream_request("GET", headers));
    RawRead answer = conn.read_until_close(std::chrono::seconds(5));
    BOOST_TEST(answer.status() == 400);
    BOOST_TEST(answer.data.find("agent_contract") != std::string::npos);
  }
  BOOST_TEST(open_streams(f.c) == before);
}

BOOST_AUTO_TEST_CASE(head_answers_the_head_and_ends) {
  Fresh f;
  RawConnection conn(f.server.port());
  conn.send(f.stream_request("HEAD"));
  RawRead read = conn.read_until_close(std::chrono::seconds(5));
  BOOST_TEST(read.closed);
  BOOST_TEST(read.status() == 200);
  BOOST_TEST(read.data.find("text/event-stream") != std::string::npos);
  BOOST_TEST(read.data.find("retry:") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_cancelled_task_ends_its_stream) {
  Fresh f;
  auto conn = f.open_stream();
  conn->read_until("retry:", std::chrono::seconds(5));
  BATON_REQUIRE_STATUS(f.c.cancel(f.key, f.id), 200);
  std::string rest = conn->read_until("event: end", std::chrono::seconds(5));
  BOOST_TEST(rest.find("\"status\":\"cancelled\"") != std::string::npos, rest);
  BOOST_TEST(conn->read_until_close(std::chrono::seconds(5)).closed);
}

BOOST_AUTO_TEST_CASE(shutdown_tells_open_streams_and_exits) {
  TestServer server(stream_options());
  Fresh f(server);
  auto conn = f.open_stream();
  conn->read_until("retry:", std::chrono::seconds(5));
  server.stop();  // SIGTERM; fails the test unless baton exits 0 within its grace
  std::string rest = conn->read_until_close(std::chrono::seconds(5)).data;
  BOOST_TEST(rest.find("event: dropped") != std::string::npos, rest);
  BOOST_TEST(rest.find("shutting_down") != std::string::npos, rest);
}
