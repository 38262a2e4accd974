// Hostile HTTP clients (issue 26, items 2-6): the exact bytes the issue reports, sent to
// the real binary. Each case checks the answer (status, error code, agent_contract), that
// the connection is closed where it must be, that memory stays bounded where a client
// could otherwise make it grow, and that other clients keep being served. Item 1
// (descriptor exhaustion) is not covered here.
#define BOOST_TEST_MODULE hostile_http
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
// 64 hex digits after the prefix: the shape of a real key (it need not exist).
const std::string kKeyLike = "orch_live_" + std::string(64, 'a');

// ---------------------------------------------------------------------------------------
// Memory of the server process (/proc/<pid>/status), in KiB; -1 when unreadable.
long status_kib(pid_t pid, std::string_view field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return -1;
}
long rss_kib(pid_t pid) { return status_kib(pid, "VmRSS"); }

// ---------------------------------------------------------------------------------------
// Raw socket helpers.

// Sends `bytes` on a non-blocking socket. Returns 0 when all went out, else the errno
// that stopped it (ETIMEDOUT: the peer stopped reading for `stall`). `sent` grows by what
// was accepted by the kernel.
int send_all(int fd, std::string_view bytes, std::size_t& sent, std::chrono::milliseconds stall) {
  auto deadline = SteadyClock::now() + stall;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      sent += static_cast<std::size_t>(n);
      deadline = SteadyClock::now() + stall;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (SteadyClock::now() > deadline) return ETIMEDOUT;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 20);
      continue;
    }
    return n < 0 ? errno : EPIPE;
  }
  return 0;
}

// Reads until `until` appears in what was read, the peer closes, or `timeout` passes.
std::string read_until(int fd, std::string_view until, std::chrono::milliseconds timeout) {
  std::string data;
  auto deadline = SteadyClock::now() + timeout;
  while (data.find(until) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

// A blocking TCP connection to 127.0.0.1:port from the source address `source` (e.g.
// 127.0.0.2: every 127/8 address is local on Linux), with 3 s send and receive timeouts.
class SourcedConnection {
 public:
  SourcedConnection(const char* source, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    timeval tv{3, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_port = 0;
    if (::inet_pton(AF_INET, source, &from.sin_addr) != 1) throw std::runtime_error("bad address");
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      throw std::runtime_error(std::string("bind ") + source + ": " + std::strerror(errno));
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      throw std::runtime_error(std::string("connect from ") + source + ": " + std::strerror(errno));
    }
  }
  ~SourcedConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  SourcedConnection(const SourcedConnection&) = delete;
  SourcedConnection& operator=(const SourcedConnection&) = delete;

  // Sends a request that asks for Connection: close and reads until the server closes.
  std::string exchange(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return {};
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string data;
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // closed, reset or the 3 s timeout
      data.append(buf, static_cast<std::size_t>(n));
    }
    return data;
  }

 private:
  int fd_ = -1;
};

// ---------------------------------------------------------------------------------------
// Requests as raw bytes.

std::string head(const std::string& method, const std::string& target, const std::string& key,
                 const std::string& extra_headers, const std::string& version = "HTTP/1.1") {
  std::string r = method + " " + target + " " + version + "\r\nHost: 127.0.0.1\r\n";
  if (!key.empty()) r += "Authorization: Bearer " + key + "\r\n";
  return r + extra_headers + "\r\n";
}

std::string chunked_body(std::string_view body) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", body.size());
  return std::string(size) + "\r\n" + std::string(body) + "\r\n0\r\n\r\n";
}

// Status lines ("HTTP/1.1 400 ") in what the server sent: how many answers it wrote.
int count_answers(const std::string& data) {
  int n = 0;
  for (std::size_t at = data.find("HTTP/1."); at != std::string::npos; at = data.find("HTTP/1.", at + 1)) {
    if (at + 13 <= data.size() && data[at + 8] == ' ' && std::isdigit(static_cast<unsigned char>(data[at + 9])) &&
        std::isdigit(static_cast<unsigned char>(data[at + 10])) &&
        std::isdigit(static_cast<unsigned char>(data[at + 11])) && data[at + 12] == ' ') {
      ++n;
    }
  }
  return n;
}

std::set<std::string> allow_set(const std::string& allow) {
  std::set<std::string> out;
  std::stringstream in(allow);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.insert(item.substr(b, e - b + 1));
  }
  return out;
}

std::string message_of(const Response& r) {
  if (!r.json.is_object()) return {};
  const auto* m = r.json.as_object().if_contains("message");
  return m && m->is_string() ? std::string(m->as_string()) : std::string();
}

// ---------------------------------------------------------------------------------------
// Fixtures.

// Item 2's server: a long idle timeout, so a connection that closes promptly was closed by
// a refusal, not by the idle sweep.
TestServer& patient_server() {
  return shared_server("patient", ServerOptions{}.with("server.idle_timeout_seconds", "30"));
}

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = shared_server()) : FreshAccount("http_", on) {}

  // Other clients are still served: /health is 200 and a task can be created.
  void check_still_served() {
    BOOST_REQUIRE_MESSAGE(server.alive(), "baton died: " << server.exit_description());
    Client fresh = server.client();
    Response health = fresh.get("/health", "");
    BATON_CHECK_STATUS(health, 200);
    BATON_CHECK_STATUS(fresh.create_task(key, task_body("served_" + unique_suffix())), 201);
  }
  std::size_t count_of_type(const std::string& t) {
    Response r = c.list_tasks(key, "type=" + t + "&limit=100");
    BATON_REQUIRE_STATUS(r, 200);
    return r.obj().at("tasks").as_array().size();
  }
};

}  // namespace

// =======================================================================================
// Item 2: chunk extensions are bounded, and a refused request is answered from its head.
BOOST_AUTO_TEST_SUITE(item2_chunk_extensions)

// The bare-LF rule must not catch a valid chunked body that arrives a piece at a time
// (Beast leaves each chunk's closing CRLF for the next read).
BOOST_AUTO_TEST_CASE(a_chunked_body_sent_in_pieces_is_accepted) {
  Fresh f;
  RawConnection conn(f.server.port());
  std::string body = task_body(f.type);
  char size[32];
  std::snprintf(size, sizeof size, "%zx", body.size());
  const std::vector<std::string> pieces = {
      head("POST", "/v1/tasks", f.key, "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"),
      std::string(size) + "\r\n", body, "\r\n", "0\r\n", "\r\n"};
  for (const std::string& piece : pieces) {
    BOOST_REQUIRE(conn.send(piece));
    std::this_thread::sleep_for(30ms);
  }
  Response r = parse_raw_response(conn.read_response(3s).data);
  BATON_CHECK_STATUS(r, 201);
  BOOST_TEST(f.count_of_type(f.type) == 1u);
}

// Trailer fields after a chunked body never stand in for header fields.
BOOST_AUTO_TEST_CASE(trailer_fields_do_not_authenticate_or_name_the_request) {
  Fresh f;
  std::string body = task_body(f.type);
  char size[32];
  std::snprintf(size, sizeof size, "%zx", body.size());
  std::string bytes = head("POST", "/v1/tasks", "", "Transfer-Encoding: chunked\r\n") +
                      std::string(size) + "\r\n" + body + "\r\n0\r\n" +
                      "Authorization: Bearer " + f.key + "\r\nX-Request-Id: from-trailer\r\n\r\n";
  RawRead read = raw_exchange(f.server.port(), bytes, 3s);
  Response r = parse_raw_response(read.data);
  BATON_CHECK_ERROR(r, "missing_api_key");
  BOOST_TEST(r.header("X-Request-Id") != "from-trailer");
  BOOST_TEST(f.count_of_type(f.type) == 0u);
}

// A refusal sent before a large body is read still reaches the client whole: the server
// reads and drops what follows for a moment before closing, instead of resetting.
BOOST_AUTO_TEST_CASE(a_refusal_before_a_large_body_arrives_whole) {
  Fresh f;
  RawConnection conn(f.server.port());
  std::string bytes = head("POST", "/v1/nowhere", f.key, "Content-Length: 200000\r\n") +
                      std::string(200000, 'x');
  conn.send(bytes);
  RawRead read = conn.read_until_close(3s);
  BOOST_TEST(read.closed);
  BATON_CHECK_ERROR(parse_raw_response(read.data), "not_found");
}

BOOST_AUTO_TEST_CASE(a_refused_route_is_answered_405_from_its_head_and_closed_before_the_body) {
  Fresh f(patient_server());
  const std::string attack_head =
      head("POST", "/health", "", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") + "1;";

  // One connection sends only the head and "1;": the 405 must come without any body.
  {
    RawConnection probe(f.server.port());
    BOOST_REQUIRE(probe.send(attack_head));
    auto began = SteadyClock::now();
    RawRead answer = probe.read_response(2s);
    BOOST_TEST_MESSAGE("405 after " << seconds(SteadyClock::now() - began) << " s");
    BOOST_CHECK_MESSAGE(answer.status() == 405,
                        "no 405 within 2 s of the head: " << answer.data.substr(0, 300)
                                                          << (answer.timed_out ? " (timed out)" : ""));
    Response r = parse_raw_response(answer.data);
    BATON_CHECK_ERROR(r, "method_not_allowed");
    BOOST_TEST((allow_set(r.header("Allow")) == std::set<std::string>{"GET", "HEAD"}),
               "Allow: " << r.header("Allow"));
    RawRead rest = probe.read_until_close(2s);
    BOOST_TEST(rest.closed);
    BOOST_TEST(rest.data.empty());
  }

  // Three connections send it blind, with up to 30 MB of extension bytes each, round
  // robin; the server must stop them early without buffering the bytes.
  const long rss_before = rss_kib(f.server.pid());
  BOOST_REQUIRE(rss_before > 0);
  long rss_peak = rss_before;
  constexpr std::size_t kPerConnection = 30 * kMiB;
  const std::string piece(kMiB, 'x');
  struct Attacker {
    std::unique_ptr<RawConnection> conn;
    std::size_t sent = 0;
    int error = 0;
    bool done = false;
  };
  std::vector<Attacker> attackers(3);
  for (auto& a : attackers) {
    a.conn = std::make_unique<RawConnection>(f.server.port());
    a.error = send_all(a.conn->fd(), attack_head, a.sent, 3s);
    a.done = a.error != 0;
  }
  auto began = SteadyClock::now();
  while (std::any_of(attackers.begin(), attackers.end(), [](const Attacker& a) { return !a.done; })) {
    for (auto& a : attackers) {
      if (a.done) continue;
      a.error = send_all(a.conn->fd(), piece, a.sent, 3s);
      if (a.error != 0 || a.sent >= kPerConnection) a.done = true;
    }
    rss_peak = std::max(rss_peak, rss_kib(f.server.pid()));
    if (SteadyClock::now() - began > 20s) break;
  }
  const double sending = seconds(SteadyClock::now() - began);
  const long rss_after = rss_kib(f.server.pid());
  rss_peak = std::max(rss_peak, rss_after);
  BOOST_TEST_MESSAGE("RSS " << rss_before << " KiB before, peak " << rss_peak << ", after " << rss_after
                            << "; sending took " << sending << " s");

  for (std::size_t i = 0; i < attackers.size(); ++i) {
    Attacker& a = attackers[i];
    BOOST_TEST_MESSAGE("attacker " << i << ": " << a.sent << " bytes sent, then "
                                   << (a.error ? std::strerror(a.error) : "no error"));
    BOOST_TEST_CONTEXT("attacker " << i << ": " << a.sent << " bytes sent, send error "
                                   << (a.error ? std::strerror(a.error) : "none")) {
      // The sends fail because the server closed the connection, long before 30 MB.
      BOOST_TEST((a.error == EPIPE || a.error == ECONNRESET));
      BOOST_TEST(a.sent < 10 * kMiB);
      RawRead read = a.conn->read_until_close(2s);
      BOOST_TEST(read.closed);
      BOOST_TEST(read.status() == 405, "answer: " << read.data.substr(0, 300));
      Response r = parse_raw_response(read.data);
      if (r.status == 405) {
        BATON_CHECK_ERROR(r, "method_not_allowed");
        BOOST_TEST(r.has_header("Allow"));
      }
      BOOST_TEST(count_answers(read.data) == 1);
    }
  }
  BOOST_TEST((rss_peak - rss_before) < 20 * 1024, "RSS grew by " << (rss_peak - rss_before) << " KiB");
  f.check_still_served();
}

BOOST_AUTO_TEST_CASE(a_chunk_extension_of_100_kb_on_an_accepted_route_is_400_and_closed) {
  Fresh f(patient_server());
  // A small extension is fine: the request is created.
  const std::string body = task_body(f.type);
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  RawConnection ok(f.server.port());
  BOOST_REQUIRE(ok.send(head("POST", "/v1/tasks", f.key,
                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
                        size + ";name=value\r\n" + body + "\r\n0\r\n\r\n"));
  RawRead created = ok.read_response(3s);
  BOOST_TEST(created.status() == 201, "answer: " << created.data.substr(0, 300));

  // 100 KB of extension on one chunk line: refused, closed, nothing created.
  const std::string bad = head("POST", "/v1/tasks", f.key,
                               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n") +
                          size + ";" + std::string(100 * 1024, 'e') + "\r\n" + body + "\r\n0\r\n\r\n";
  RawConnection conn(f.server.port());
  std::size_t sent = 0;
  send_all(conn.fd(), bad, sent, 2s);
  auto began = SteadyClock::now();
  RawRead read = conn.read_until_close(3s);
  BOOST_TEST_MESSAGE("closed after " << seconds(SteadyClock::now() - began) << " s, " << sent << " bytes sent");
  BOOST_TEST(read.closed);
  Response r = parse_raw_response(read.data);
  BATON_CHECK_ERROR(r, "invalid_request");
  BOOST_TEST(message_of(r).find("chunk") != std::string::npos, "message: " << message_of(r));
  BOOST_TEST(count_answers(read.data) == 1);
  BOOST_TEST(f.count_of_type(f.type) == 1u);
  f.check_still_served();
}

BOOST_AUTO_TEST_CASE(a_chunk_line_ending_in_a_bare_lf_is_400_and_closed_well_before_the_idle_timeout) {
  Fresh f(patient_server());  // idle timeout 30 s
  const std::string chunked_head =
      head("POST", "/v1/tasks", f.key, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n");
  const std::string body = task_body(f.type);
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  for (const std::string& tail : {std::string("5\n"), std::string(size) + "\n" + body + "\n0\n\n"}) {
    BOOST_TEST_CONTEXT("chunked body " << tail.substr(0, 8) << "...") {
      RawConnection conn(f.server.port());
      BOOST_REQUIRE(conn.send(chunked_head + tail));
      auto began = SteadyClock::now();
      RawRead read = conn.read_until_close(5s);
      const double after = seconds(SteadyClock::now() - began);
      BOOST_TEST_MESSAGE("bare LF: closed after " << after << " s");
      BOOST_TEST(read.closed);
      BOOST_TEST(after < 2.0);
      BATON_CHECK_ERROR(parse_raw_response(read.data), "invalid_request");
    }
  }
  BOOST_TEST(f.count_of_type(f.type) == 0u);
  f.check_still_served();
}

BOOST_AUTO_TEST_SUITE_END()

// =======================================================================================
// Item 3: no request smuggling through Transfer-Encoding.
BOOST_AUTO_TEST_SUITE(item3_transfer_encoding_smuggling)

BOOST_AUTO_TEST_CASE(chunked_then_gzip_is_400_closed_and_the_smuggled_create_never_runs) {
  Fresh f;
  const std::string smuggled = "smuggled_" + unique_suffix();
  const std::string bytes =
      head("POST", "/v1/tasks/claim", f.key,
           "Content-Type: application/json\r\nTransfer-Encoding: chunked, gzip\r\n") +
      "0\r\n\r\n" + raw_request("POST", "/v1/tasks", f.key, task_body(smuggled));
  RawRead read = raw_exchange(f.server.port(), bytes, 3s);
  BOOST_TEST(read.closed);
  BOOST_TEST(count_answers(read.data) == 1, "answers: " << read.data.substr(0, 600));
  BATON_CHECK_ERROR(parse_raw_response(read.data), "invalid_request");
  // Let any smuggled request that slipped through land before looking.
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(f.count_of_type(smuggled) == 0u);
  f.check_still_served();
}

BOOST_AUTO_TEST_CASE(an_unknown_coding_with_a_content_length_is_400_and_closed) {
  Fresh f;
  const std::string body = task_body(f.type);
  const std::string bytes =
      head("POST", "/v1/tasks", f.key,
           "Content-Type: application/json\r\nTransfer-Encoding: xchunked\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n") +
      body + head("GET", "/health", "", "");
  RawRead read = raw_exchange(f.server.port(), bytes, 3s);
  BOOST_TEST(read.closed);
  BOOST_TEST(count_answers(read.data) == 1, "answers: " << read.data.substr(0, 600));
  BATON_CHECK_ERROR(parse_raw_response(read.data), "invalid_request");
  BOOST_TEST(f.count_of_type(f.type) == 0u);
  f.check_still_served();
}

BOOST_AUTO_TEST_CASE(transfer_encoding_in_http_1_0_is_400_and_closed) {
  Fresh f;
  const std::string bytes =
      head("POST", "/v1/tasks", f.key,
           "Connection: keep-alive\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
           "HTTP/1.0") +
      chunked_body(task_body(f.type)) + head("GET", "/health", "", "");
  RawRead read = raw_exchange(f.server.port(), bytes, 3s);
  BOOST_TEST(read.closed);
  BOOST_TEST(count_answers(read.data) == 1, "answers: " << read.data.substr(0, 600));
  BATON_CHECK_ERROR(parse_raw_response(read.data), "invalid_request");
  BOOST_TEST(f.count_of_type(f.type) == 0u);
  f.check_still_served();
}

BOOST_AUTO_TEST_SUITE_END()

// =======================================================================================
// Item 4: numbers that do not fit a finite double are refused, naming the field.
BOOST_AUTO_TEST_SUITE(item4_non_finite_numbers)

BOOST_AUTO_TEST_CASE(an_infinite_number_in_a_payload_is_400_naming_its_path) {
  Fresh f;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"type":"poison","payload":{"n":1e999}})", "payload.n"},
      {R"({"type":"poison","payload":{"n":-1e999}})", "payload.n"},
      {R"({"type":"poison","payload":{"list":[1,{"deep":1E+400}]}})", "payload.list[1].deep"},
  };
  for (const auto& [body, path] : cases) {
    BOOST_TEST_CONTEXT("body " << body) {
      Response r = f.c.create_task(f.key, body);
      BATON_CHECK_ERROR(r, "invalid_request");
      BOOST_TEST(message_of(r).find(path) != std::string::npos, "message: " << message_of(r));
    }
  }
  // A large but finite number is fine.
  BATON_CHECK_STATUS(f.c.create_task(f.key, R"({"type":")" + f.type + R"(","payload":{"n":1e308}})"), 201);

  Response listed = f.c.list_tasks(f.key, "limit=100");
  BATON_CHECK_STATUS(listed, 200);
  BOOST_TEST(listed.json_ok, "list answer is not JSON: " << listed.body.substr(0, 300));
  BOOST_TEST(f.count_of_type("poison") == 0u);
  Response claimed = f.c.claim(f.key, R"({"type":"poison"})");
  BATON_CHECK_STATUS(claimed, 200);
  BOOST_TEST(claimed.json_ok, "claim answer is not JSON: " << claimed.body.substr(0, 300));
  BOOST_TEST(claimed.task_is_null());
  f.check_still_served();
}

BOOST_AUTO_TEST_CASE(an_infinite_number_in_a_result_is_400_naming_its_path_and_the_task_stays_claimed) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));
  Response claimed = f.c.claim(f.key, js({{"type", f.type}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  BOOST_REQUIRE(!claimed.task_is_null());
  const std::string token = claimed.task_str("leaseToken");
  Response r = f.c.complete(f.key, id, R"({"result":{"x":1e999},"lease_token":")" + token + "\"}");
  BATON_CHECK_ERROR(r, "invalid_request");
  BOOST_TEST(message_of(r).find("result.x") != std::string::npos, "message: " << message_of(r));
  Response got = f.c.get_task(f.key, id);
  BOOST_TEST(got.json_ok);
  BOOST_TEST(got.task_str("status") == "claimed");

  Response listed = f.c.list_tasks(f.key, "limit=100");
  BOOST_TEST(listed.json_ok, "list answer is not JSON: " << listed.body.substr(0, 300));
  BATON_CHECK_STATUS(f.c.complete(f.key, id, js({{"result", json::object{{"x", 1}}}, {"lease_token", token}})), 200);
  Response done = f.c.get_task(f.key, id);
  BOOST_TEST(done.json_ok);
  BOOST_TEST(done.task_str("status") == "completed");
  BOOST_TEST(f.count_of_type("poison") == 0u);
  f.check_still_served();
}

BOOST_AUTO_TEST_SUITE_END()

// =======================================================================================
// Item 5: server.max_connections_per_ip bounds one client address.
BOOST_AUTO_TEST_SUITE(item5_connections_per_address)

namespace {
const std::string kHealth = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
const std::string kHealthClose = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

// A connection from 127.0.0.1 that got 200 on /health and stays open, retrying briefly
// while connections closed just before are still counted; null if none is served in time.
std::unique_ptr<RawConnection> served_connection(int port, std::chrono::milliseconds within = 3000ms) {
  std::unique_ptr<RawConnection> out;
  poll_until(
      [&] {
        auto c = std::make_unique<RawConnection>(port);
        if (!c->send(kHealth)) return false;
        if (c->read_response(2s).status() != 200) return false;
        out = std::move(c);
        return true;
      },
      within, 100ms);
  return out;
}

void check_refused_for_the_address(int port) {
  RawConnection extra(port);
  extra.send(kHealth);
  RawRead read = extra.read_until_close(3s);
  BOOST_TEST(read.closed);
  BOOST_TEST(read.status() == 503, "answer: " << read.data.substr(0, 300));
  Response r = parse_raw_response(read.data);
  BATON_CHECK_ERROR(r, "unavailable");
  BOOST_TEST(message_of(r).find("max_connections_per_ip") != std::string::npos, "message: " << message_of(r));
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_21st_connection_from_one_address_is_503_while_another_address_is_served) {
  TestServer server(ServerOptions{}.with("server.max_connections_per_ip", "20"));
  const int port = server.port();
  std::string key;
  {
    Client c = server.client();
    key = c.register_key();
  }

  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(served_connection(port));
    BOOST_REQUIRE_MESSAGE(held.back(), "connection " << i + 1 << " of 20 was not served");
  }
  check_refused_for_the_address(port);

  // Another address is served meanwhile: /health and a create.
  {
    SourcedConnection other("127.0.0.2", port);
    Response health = parse_raw_response(other.exchange(kHealthClose));
    BATON_CHECK_STATUS(health, 200);
  }
  {
    SourcedConnection other("127.0.0.2", port);
    std::string create = raw_request("POST", "/v1/tasks", key, task_body("other_" + unique_suffix()));
    create.insert(create.find("\r\n") + 2, "Connection: close\r\n");
    Response created = parse_raw_response(other.exchange(create));
    BATON_CHECK_STATUS(created, 201);
  }

  // The held ones still work.
  for (auto& c : held) {
    BOOST_REQUIRE(c->send(kHealth));
    BOOST_TEST(c->read_response(2s).status() == 200);
  }

  // Five closed: exactly five new ones from 127.0.0.1 are served, the next is refused.
  for (int i = 0; i < 5; ++i) held[static_cast<std::size_t>(i)]->close();
  for (int i = 0; i < 5; ++i) {
    held.push_back(served_connection(port));
    BOOST_REQUIRE_MESSAGE(held.back(), "new connection " << i + 1 << " of 5 was not served after 5 closed");
  }
  check_refused_for_the_address(port);
  BOOST_TEST(server.alive());
}

BOOST_AUTO_TEST_CASE(max_connections_per_ip_0_means_no_bound) {
  TestServer server(ServerOptions{}.with("server.max_connections_per_ip", "0"));
  std::vector<std::unique_ptr<RawConnection>> held;
  int served = 0;
  for (int i = 0; i < 40; ++i) {
    held.push_back(std::make_unique<RawConnection>(server.port()));
    if (held.back()->send(kHealth) && held.back()->read_response(2s).status() == 200) ++served;
  }
  BOOST_TEST(served == 40);
  BOOST_TEST(server.alive());
}

BOOST_AUTO_TEST_SUITE_END()

// =======================================================================================
// Item 6: smaller protocol and validation gaps.
BOOST_AUTO_TEST_SUITE(item6_protocol_and_validation)

BOOST_AUTO_TEST_CASE(expect_100_continue_gets_100_continue_before_the_body) {
  Fresh f;
  const std::string body = task_body(f.type);
  RawConnection conn(f.server.port());
  BOOST_REQUIRE(conn.send(head("POST", "/v1/tasks", f.key,
                               "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n")));
  auto began = SteadyClock::now();
  std::string interim = read_until(conn.fd(), "\r\n\r\n", 1000ms);
  BOOST_TEST_MESSAGE("100 Continue after " << seconds(SteadyClock::now() - began) << " s");
  BOOST_TEST(interim == "HTTP/1.1 100 Continue\r\n\r\n");
  BOOST_REQUIRE(conn.send(body));
  RawRead read = conn.read_response(3s);
  BOOST_TEST(read.status() == 201, "answer: " << read.data.substr(0, 300));
  BOOST_TEST(f.count_of_type(f.type) == 1u);
}

BOOST_AUTO_TEST_CASE(http_1_1_without_host_or_with_two_is_400_and_closed) {
  Fresh f;
  for (const std::string& bytes :
       {std::string("GET /health HTTP/1.1\r\n\r\n"),
        std::string("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: example.com\r\n\r\n")}) {
    BOOST_TEST_CONTEXT("request " << bytes.substr(0, 60)) {
      RawRead read = raw_exchange(f.server.port(), bytes, 3s);
      BOOST_TEST(read.closed);
      BATON_CHECK_ERROR(parse_raw_response(read.data), "invalid_request");
    }
  }
  // HTTP/1.0 needs no Host.
  BOOST_TEST(raw_exchange(f.server.port(), "GET /health HTTP/1.0\r\n\r\n", 3s).status() == 200);
  f.check_still_served();
}

BOOST_AUTO_TEST_CASE(an_absolute_form_target_is_read_as_its_path) {
  Fresh f;
  const std::string authority = "127.0.0.1:" + std::to_string(f.server.port());
  RawRead read = raw_exchange(f.server.port(),
                              "GET http://" + authority + "/health HTTP/1.1\r\nHost: " + authority +
                                  "\r\nConnection: close\r\n\r\n",
                              3s);
  Response health = parse_raw_response(read.data);
  BATON_CHECK_STATUS(health, 200);
  BOOST_TEST((health.json.is_object() && health.json.as_object().contains("status")));
  read = raw_exchange(f.server.port(),
                      "GET http://" + authority + "/v1/tasks?limit=1 HTTP/1.1\r\nHost: " + authority +
                          "\r\nAuthorization: Bearer " + f.key + "\r\nConnection: close\r\n\r\n",
                      3s);
  Response listed = parse_raw_response(read.data);
  BATON_CHECK_STATUS(listed, 200);
  BOOST_TEST((listed.json.is_object() && listed.json.as_object().contains("tasks")));
}

BOOST_AUTO_TEST_CASE(a_405_names_the_allowed_methods_in_allow) {
  Fresh f;
  Response tasks = f.c.request("DELETE", "/v1/tasks", "", {{"Authorization", "Bearer " + f.key}});
  BATON_CHECK_ERROR(tasks, "method_not_allowed");
  BOOST_TEST((allow_set(tasks.header("Allow")) == std::set<std::string>{"GET", "HEAD", "POST"}),
             "Allow: " << tasks.header("Allow"));
  Response mcp = f.c.get("/mcp", f.key);
  BATON_CHECK_ERROR(mcp, "method_not_allowed");
  BOOST_TEST((allow_set(mcp.header("Allow")) == std::set<std::string>{"POST", "DELETE"}),
             "Allow: " << mcp.header("Allow"));
  Response claim = f.c.get("/v1/tasks/claim", f.key);
  BATON_CHECK_ERROR(claim, "method_not_allowed");
  BOOST_TEST((allow_set(claim.header("Allow")) == std::set<std::string>{"POST"}), "Allow: " << claim.header("Allow"));
}

BOOST_AUTO_TEST_CASE(head_on_a_get_route_is_200_with_a_content_length_and_no_body) {
  Fresh f;
  f.c.create_task_id(f.key, task_body(f.type));
  RawRead read = raw_exchange(f.server.port(), head("HEAD", "/v1/tasks", f.key, "Connection: close\r\n"), 3s);
  BOOST_TEST(read.closed);
  BOOST_TEST(read.status() == 200, "answer: " << read.data.substr(0, 300));
  const std::size_t end = read.data.find("\r\n\r\n");
  BOOST_REQUIRE(end != std::string::npos);
  BOOST_TEST(read.data.size() == end + 4, "bytes after the head: " << read.data.substr(end + 4, 200));
  Response r = parse_raw_response(read.data);
  BOOST_TEST(r.has_header("Content-Length"));
  BOOST_TEST(std::strtol(r.header("Content-Length").c_str(), nullptr, 10) > 0);
}

BOOST_AUTO_TEST_CASE(a_nul_in_a_query_number_is_400_naming_the_parameter) {
  Fresh f;
  Response r = f.c.list_tasks(f.key, "limit=2%00junk");
  BATON_CHECK_ERROR(r, "invalid_request");
  BOOST_TEST(message_of(r).find("limit") != std::string::npos, "message: " << message_of(r));
  BATON_CHECK_STATUS(f.c.list_tasks(f.key, "limit=2"), 200);
}

BOOST_AUTO_TEST_CASE(a_null_alias_counts_as_absent) {
  Fresh f;
  Response r = f.c.create_task(f.key, R"({"type":")" + f.type + R"(","payload":{},"maxAttempts":5,"max_attempts":null})");
  BATON_REQUIRE_STATUS(r, 201);
  BOOST_TEST(r.task_int("maxAttempts") == 5);
}

BOOST_AUTO_TEST_CASE(a_key_as_a_query_parameter_name_or_after_a_blank_is_400) {
  Fresh f;
  for (const std::string& query : {kKeyLike, "foo=%20" + kKeyLike, "limit=1&" + kKeyLike + "=1",
                                   "foo=%09%20" + kKeyLike}) {
    BOOST_TEST_CONTEXT("query " << query) {
      Response r = f.c.list_tasks(f.key, query);
      BATON_CHECK_ERROR(r, "invalid_request");
    }
  }
  // A harmless parameter is ignored; a value that only contains the prefix later is not a key.
  BATON_CHECK_STATUS(f.c.list_tasks(f.key, "foo=bar"), 200);
  BATON_CHECK_STATUS(f.c.list_tasks(f.key, "foo=x_orch_live"), 200);
  f.check_still_served();
}

BOOST_AUTO_TEST_SUITE_END()
