#pragma once
// Integration-test harness: starts the real `baton` binary (path from $BATON_BIN) on a
// free loopback port with its own temporary data directory and config, and talks to it
// over HTTP. Beast/Asio stay in harness.cpp (pimpl) so test files compile quickly; a
// test file includes this header, <boost/json.hpp> and <boost/test/unit_test.hpp> only.
//
// Threads: a TestServer is created, stopped and destroyed on the test's main thread (the
// child gets PR_SET_PDEATHSIG, which fires when the creating *thread* exits). A Client is
// one keep-alive connection and belongs to one thread at a time; give every thread its own.
//
// Failures of the harness itself (binary missing, server that does not start or does not
// exit cleanly, transport errors) throw std::runtime_error with the reason, which
// Boost.Test reports as a failed test.
#include <boost/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace baton::test {

namespace json = boost::json;
using namespace std::chrono_literals;
using WallClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

// Header names compare case-insensitively.
struct CaseLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};
using Headers = std::map<std::string, std::string, CaseLess>;

// ---------------------------------------------------------------------------------------
// Responses

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  json::value json;     // null when the body is empty or not JSON
  bool json_ok = false;  // the body parsed as JSON

  std::string header(std::string_view name) const;  // "" when absent
  bool has_header(std::string_view name) const;
  // "HTTP <status> <body (truncated)>" for failure messages.
  std::string describe() const;

  // Accessors that throw std::runtime_error (with describe()) when the shape is wrong.
  const json::object& obj() const;
  bool task_is_null() const;            // "task" present and null
  const json::object& task() const;     // "task" as an object
  std::string task_id() const;
  std::string task_str(std::string_view field) const;  // "" when null or absent
  std::int64_t task_int(std::string_view field) const;
  const json::object& contract() const;  // "agent_contract"
  std::string error() const;             // "error" or ""
  std::string recommended_action() const;
};

// ---------------------------------------------------------------------------------------
// Client: one persistent keep-alive HTTP/1.1 connection to 127.0.0.1:port. Reconnects
// only when the server closed the connection *before* a request is sent (never resends a
// request that may have reached the server). Every exchange has a timeout (default 10 s).

struct Account {
  std::string api_key;
  std::string account_id;
  std::string key_id;
};

class Client {
 public:
  explicit Client(int port, std::chrono::milliseconds timeout = 10s);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  void set_timeout(std::chrono::milliseconds timeout);
  int port() const;
  // Connections opened so far (1 after the first request if the server kept it alive).
  int connects() const;
  void close();

  // Sends `method target`; `body` is sent as is. Content-Type defaults to
  // application/json when the body is non-empty (set "Content-Type" to "" to send none).
  // Throws on transport errors (refused, reset, timeout).
  Response request(std::string_view method, std::string_view target,
                   std::string_view body = {}, const Headers& headers = {});

  // `key` empty: no Authorization header.
  Response get(std::string_view target, std::string_view key, const Headers& headers = {});
  Response post(std::string_view target, std::string_view key, std::string_view body = {},
                const Headers& headers = {});
  Response del(std::string_view target, std::string_view key, const Headers& headers = {});

  // POST /v1/keys/register; throws unless 201 with an apiKey.
  Account register_account(const Headers& headers = {}, std::string_view body = {});
  std::string register_key();

  Response create_task(std::string_view key, std::string_view body,
                       const Headers& headers = {});
  // Creates and returns the id; throws unless 201.
  std::string create_task_id(std::string_view key, std::string_view body,
                             const Headers& headers = {});
  Response claim(std::string_view key, std::string_view body = {},
                 const Headers& headers = {});
  Response claim_id(std::string_view key, std::string_view id, std::string_view body = {});
  Response heartbeat(std::string_view key, std::string_view id, std::string_view body = {});
  Response complete(std::string_view key, std::string_view id, std::string_view body = {},
                    const Headers& headers = {});
  Response fail(std::string_view key, std::string_view id, std::string_view body = {});
  Response cancel(std::string_view key, std::string_view id, std::string_view body = {});
  Response requeue(std::string_view key, std::string_view id, std::string_view body = {});
  Response get_task(std::string_view key, std::string_view id);
  // GET /v1/tasks?<query>
  Response list_tasks(std::string_view key, std::string_view query = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------
// Raw TCP connection (plain POSIX sockets) for malformed HTTP, disconnects and connection
// limits. Nothing is parsed unless asked.

struct RawRead {
  std::string data;
  bool closed = false;     // peer closed (EOF or reset)
  bool timed_out = false;  // the deadline passed first
  int status() const;      // HTTP status of the first response in `data`, 0 if none
};

class RawConnection {
 public:
  // Throws when the TCP connect fails (refused or 2 s timeout).
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // False when the peer has closed or reset (no SIGPIPE).
  bool send(std::string_view bytes);
  // Reads until the peer closes or `timeout` passes.
  RawRead read_until_close(std::chrono::milliseconds timeout);
  // Reads until `text` has arrived, the peer closes or `timeout` passes; returns what was
  // read (a stream's events).
  std::string read_until(std::string_view text, std::chrono::milliseconds timeout);
  // Reads until one complete HTTP response (Content-Length framing) has arrived, the
  // peer closes, or `timeout` passes.
  RawRead read_response(std::chrono::milliseconds timeout);
  void close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read past the last response
};

// The first HTTP response in raw bytes as a Response (status 0 when there is none).
Response parse_raw_response(std::string_view data);
// One HTTP/1.1 request as raw bytes (Bearer `key`, JSON body with Content-Length), for
// pipelining several into one RawConnection::send.
std::string raw_request(std::string_view method, std::string_view target, std::string_view key,
                        std::string_view body = {});

// Connects, sends `bytes`, reads until close or timeout.
RawRead raw_exchange(int port, std::string_view bytes,
                     std::chrono::milliseconds timeout = 3s);

// A whole file's text ("" when it cannot be read).
std::string read_file(const std::string& path);
// This process's environment without BATON_* variables, for a child baton: the caller's
// own settings must not leak into the configuration under test.
std::vector<std::string> environment_without_baton();

// ---------------------------------------------------------------------------------------
// The server under test.

struct ServerOptions {
  // "section.key" -> raw YAML scalar, e.g. {"leases.require_token", "true"}; a key
  // without a dot is top level ("registration", "admin_key"). Applied over the defaults:
  //   server.shards 2, storage.sync none, leases.min_seconds 1, log.level warn.
  std::map<std::string, std::string> set;
  // Appended verbatim after the generated YAML: only for sections not generated above.
  std::string extra_yaml;
  // Extra environment for the server (the harness strips inherited BATON_* variables).
  std::map<std::string, std::string> env;
  // Keep the temp dir after the test (also: BATON_TEST_KEEP=1 in the environment).
  bool keep = false;
  // The server's RLIMIT_NOFILE, soft and hard (0: inherited).
  unsigned max_open_files = 0;
  // The data directory, made if missing ("": a fresh one in the test's temp dir).
  std::string data_dir;
  // The server speaks HTTPS (server.tls): ready once it refuses a plain-HTTP probe.
  bool https = false;

  ServerOptions& with(std::string key, std::string value) {
    set[std::move(key)] = std::move(value);
    return *this;
  }
};

class TestServer {
 public:
  explicit TestServer(ServerOptions options = {});
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& log_path() const { return log_path_; }
  // It runs on storage.engine: postgres (set by the test, or BATON_TEST_STORAGE).
  bool on_postgres() const {
    auto engine = options_.set.find("storage.engine");
    return engine != options_.set.end() && engine->second == "postgres";
  }
  std::string config_text() const;
  std::string log_tail(std::size_t lines = 60) const;

  // The child process still runs (reaps it if it exited; see exit_description()).
  bool alive();
  std::string exit_description() const;

  // SIGTERM, then waits: throws unless it exits with code 0 within 10 s (SIGKILLs it then).
  void stop();
  // SIGKILL and reap. The data dir stays for restart().
  void kill9();
  // Stops it if running (as stop()), then starts it again on the same port and data dir.
  void restart();
  // Starts it again (it must not be running) without waiting for GET /health, so that a
  // kill9() can land while it recovers; restart() then starts it for good.
  void start_unready();
  // When restart()/the constructor last saw GET /health answer 200.
  SteadyClock::time_point ready_at() const { return ready_at_; }
  WallClock::time_point ready_at_wall() const { return ready_at_wall_; }

  Client client(std::chrono::milliseconds timeout = 10s) const { return Client(port_, timeout); }

 private:
  void write_config();
  void start();
  void wait_ready();
  // Waits for the child to exit up to `timeout`; true when it did (status recorded).
  bool wait_exit(std::chrono::milliseconds timeout);

  ServerOptions options_;
  std::string dir_, data_dir_, config_path_, log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
  int exit_status_ = 0;  // waitpid status of the last exit
  bool exited_ = false;
  bool expected_exit_ = false;
  SteadyClock::time_point ready_at_{};
  WallClock::time_point ready_at_wall_{};
};

// One server with the default options per test process, started on first use and
// stopped (asserting a clean exit) by SharedServerGuard at the end of the run. The named
// form keeps one more server per name, started with `options` on first use.
TestServer& shared_server();
TestServer& shared_server(const std::string& name, const ServerOptions& options);
void release_shared_server();  // stops and forgets all of them
// Use as BOOST_TEST_GLOBAL_FIXTURE(baton::test::SharedServerGuard);
struct SharedServerGuard {
  SharedServerGuard() = default;
  ~SharedServerGuard() { release_shared_server(); }
};

// ---------------------------------------------------------------------------------------
// Helpers

std::string js(const json::value& value);  // serialize
// {"type": type, "payload": {"n": 1}} plus the fields of `extra` (which win).
std::string task_body(std::string_view type, const json::object& extra = {});
// A task field: absent and null both read as null.
bool field_is_null(const json::object& object, std::string_view field);
json::value parse_json(std::string_view text);  // throws on invalid JSON

WallClock::time_point parse_time(std::string_view rfc3339);  // throws on bad input
std::string format_time(WallClock::time_point t);           // "…T…:…:….mmmZ"
template <class Rep, class Period>
double seconds(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration<double>(d).count();
}

// Polls `condition` every `interval` until it holds (true) or `timeout` passes (false).
bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 50ms);

std::string unique_suffix();
// A loopback port free now (bound and released: free until someone else takes it).
int pick_free_port();

// A new account on a running server, with a client and a task type of its own, so tests
// sharing one server never see each other's tasks. Test files derive their fixtures from it.
struct FreshAccount {
  TestServer& server;
  Client c;
  std::string key;
  std::string type;
  explicit FreshAccount(std::string_view type_prefix, TestServer& on = shared_server())
      : server(on), c(on.client()), key(c.register_key()),
        type(std::string(type_prefix) + unique_suffix()) {}
};
std::string url_encode(std::string_view text);  // percent-encodes all but unreserved  // distinct per call and per process, for type names etc.

// agent_contract checks (spec section 7): "" when fine, else what is wrong.
std::string contract_problem(const json::value& contract);
std::string recommended_action(const json::value& contract);
bool offers_action(const json::value& contract, std::string_view action);
// The contract's next action named `action`, or null.
const json::object* find_action(const json::value& contract, std::string_view action);
// Error body checks (spec section 8): status and retryable/action from the catalog,
// "error", "message", "request_id" == X-Request-Id, a valid agent_contract, Retry-After on
// 429/503. "" when fine.
std::string error_problem(const Response& response, std::string_view code);
int expected_status(std::string_view code);

}  // namespace baton::test

// Assertion macros; they expand to Boost.Test macros in the test file. Each evaluates
// its response expression once.
#define BATON_CHECK_STATUS(r, expected)                                               \
  do {                                                                                \
    const ::baton::test::Response& baton_r_ = (r);                                    \
    BOOST_CHECK_MESSAGE(baton_r_.status == (expected),                                \
                        "expected HTTP " << (expected) << ", got " << baton_r_.describe()); \
  } while (0)
#define BATON_REQUIRE_STATUS(r, expected)                                             \
  do {                                                                                \
    const ::baton::test::Response& baton_r_ = (r);                                    \
    BOOST_REQUIRE_MESSAGE(baton_r_.status == (expected),                              \
                          "expected HTTP " << (expected) << ", got " << baton_r_.describe()); \
  } while (0)
#define BATON_CHECK_ERROR(r, code)                                                    \
  do {                                                                                \
    const std::string baton_problem_ = ::baton::test::error_problem((r), (code));     \
    BOOST_CHECK_MESSAGE(baton_problem_.empty(), baton_problem_);                      \
  } while (0)
#define BATON_CHECK_CONTRACT(contract_value)                                          \
  do {                                                                                \
    const std::string baton_problem_ =                                                \
        ::baton::test::contract_problem(contract_value);                              \
    BOOST_CHECK_MESSAGE(baton_problem_.empty(), baton_problem_);                      \
  } while (0)
