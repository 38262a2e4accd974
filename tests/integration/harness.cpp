// The integration-test harness (see harness.hpp). The only test file that includes
// Beast/Asio. Process control is plain POSIX: fork/exec, waitpid, kill.
#include "integration/harness.hpp"
#include "integration/postgres_cluster.hpp"
#include "support/spec_errors.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/results_collector.hpp>
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace baton::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

[[noreturn]] void harness_fail(const std::string& message) { throw std::runtime_error(message); }

json::value parse_lenient(std::string_view text, bool& ok) {
  boost::json::error_code ec;
  json::parse_options options;
  options.max_depth = 10000;  // echoes of deep payloads must still parse
  json::value v = json::parse(text, ec, {}, options);
  ok = !ec;
  if (ec) return nullptr;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// CaseLess, Response

bool CaseLess::operator()(std::string_view a, std::string_view b) const {
  return std::lexicographical_compare(
      a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) <
               std::tolower(static_cast<unsigned char>(y));
      });
}

std::string Response::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

bool Response::has_header(std::string_view name) const {
  return headers.find(name) != headers.end();
}

std::string Response::describe() const {
  std::string b = body.size() > 2000 ? body.substr(0, 2000) + "…(truncated)" : body;
  return "HTTP " + std::to_string(status) + " " + b;
}

const json::object& Response::obj() const {
  if (!json.is_object()) harness_fail("response body is not a JSON object: " + describe());
  return json.get_object();
}

bool Response::task_is_null() const {
  const auto* v = obj().if_contains("task");
  if (!v) harness_fail("response has no \"task\": " + describe());
  return v->is_null();
}

const json::object& Response::task() const {
  const auto* v = obj().if_contains("task");
  if (!v || !v->is_object()) harness_fail("response has no \"task\" object: " + describe());
  return v->get_object();
}

std::string Response::task_id() const { return task_str("id"); }

std::string Response::task_str(std::string_view field) const {
  const auto* v = task().if_contains(field);
  if (!v || v->is_null()) return {};
  if (!v->is_string())
    harness_fail("task." + std::string(field) + " is not a string: " + describe());
  return std::string(v->get_string());
}

std::int64_t Response::task_int(std::string_view field) const {
  const auto* v = task().if_contains(field);
  if (!v || !(v->is_int64() || v->is_uint64()))
    harness_fail("task." + std::string(field) + " is not an integer: " + describe());
  return v->to_number<std::int64_t>();
}

const json::object& Response::contract() const {
  const auto* v = obj().if_contains("agent_contract");
  if (!v || !v->is_object()) harness_fail("response has no agent_contract object: " + describe());
  return v->get_object();
}

std::string Response::error() const {
  if (!json.is_object()) return {};
  const auto* v = json.get_object().if_contains("error");
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string Response::recommended_action() const {
  return baton::test::recommended_action(contract());
}

// ---------------------------------------------------------------------------------------
// Client

struct Client::Impl {
  int port;
  std::chrono::milliseconds timeout;
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  int connects = 0;

  Impl(int p, std::chrono::milliseconds t) : port(p), timeout(t) {}

  void run() {
    ioc.restart();
    ioc.run();
  }

  void drop() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->socket().close(ignored);
      stream.reset();
    }
    buffer.consume(buffer.size());
  }

  // True when the server closed the idle connection (or sent unsolicited bytes, which
  // would corrupt the next response): then the next request needs a new connection.
  bool idle_connection_unusable() {
    if (buffer.size() > 0) return true;
    pollfd p{};
    p.fd = stream->socket().native_handle();
    p.events = POLLIN;
    return ::poll(&p, 1, 0) != 0;
  }

  void connect() {
    stream.emplace(ioc);
    buffer.consume(buffer.size());
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    beast::error_code ec;
    stream->expires_after(timeout);
    stream->async_connect(endpoint, [&](beast::error_code e) { ec = e; });
    run();
    if (ec) {
      stream.reset();
      harness_fail("connect to 127.0.0.1:" + std::to_string(port) + ": " + ec.message());
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    // Asio does not set close-on-exec: without it a server forked later would hold a
    // copy of this socket and a test's close() would not reach the peer.
    ::fcntl(stream->socket().native_handle(), F_SETFD, FD_CLOEXEC);
    ++connects;
  }

  bool read_response(http::response_parser<http::string_body>& parser, beast::error_code& ec) {
    stream->expires_after(timeout);
    http::async_read(*stream, buffer, parser,
                     [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    return !ec;
  }

  Response exchange(http::request<http::string_body>& req) {
    if (stream && idle_connection_unusable()) drop();
    if (!stream) connect();

    beast::error_code write_ec;
    stream->expires_after(timeout);
    http::async_write(*stream, req, [&](beast::error_code e, std::size_t) { write_ec = e; });
    run();

    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{256} << 20);
    parser.header_limit(1u << 20);
    beast::error_code read_ec;
    // A server may answer (413, 431) and close before reading the whole request, so
    // the write fails: the answer can still be read.
    bool got = write_ec != beast::error::timeout && read_response(parser, read_ec);
    if (!got) {
      drop();
      const auto& ec = write_ec ? write_ec : read_ec;
      harness_fail(std::string(req.method_string()) + " " + std::string(req.target()) +
           ": no response (" + ec.message() + ")");
    }
    auto& res = parser.get();
    Response out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string());
      auto it = out.headers.find(name);
      if (it == out.headers.end())
        out.headers.emplace(name, std::string(field.value()));
      else
        it->second += ", " + std::string(field.value());
    }
    out.body = std::move(res.body());
    if (!out.body.empty()) out.json = parse_lenient(out.body, out.json_ok);
    if (write_ec || !res.keep_alive()) drop();
    return out;
  }
};

Client::Client(int port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>(port, timeout)) {}
Client::~Client() {
  if (impl_) impl_->drop();
}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

void Client::set_timeout(std::chrono::milliseconds timeout) { impl_->timeout = timeout; }
int Client::port() const { return impl_->port; }
int Client::connects() const { return impl_->connects; }
void Client::close() { impl_->drop(); }

Response Client::request(std::string_view method, std::string_view target,
                         std::string_view body, const Headers& headers) {
  http::request<http::string_body> req;
  http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown)
    req.method_string(method);
  else
    req.method(verb);
  req.target(target);
  req.version(11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
  req.set(http::field::user_agent, "baton-integration-tests");
  bool content_type_given = false;
  for (const auto& [name, value] : headers) {
    if (lower(name) == "content-type") {
      content_type_given = true;
      if (value.empty()) continue;
    }
    req.set(name, value);
  }
  if (!body.empty() && !content_type_given) req.set(http::field::content_type, "application/json");
  req.body() = std::string(body);
  req.prepare_payload();
  return impl_->exchange(req);
}

namespace {
Headers with_auth(std::string_view key, const Headers& headers) {
  Headers h = headers;
  if (!key.empty() && h.find("authorization") == h.end())
    h["Authorization"] = "Bearer " + std::string(key);
  return h;
}
std::string task_path(std::string_view id, std::string_view action) {
  std::string p = "/v1/tasks/" + std::string(id);
  if (!action.empty()) p += "/" + std::string(action);
  return p;
}
}  // namespace

Response Client::get(std::string_view target, std::string_view key, const Headers& headers) {
  return request("GET", target, {}, with_auth(key, headers));
}
Response Client::post(std::string_view target, std::string_view key, std::string_view body,
                      const Headers& headers) {
  return request("POST", target, body, with_auth(key, headers));
}
Response Client::del(std::string_view target, std::string_view key, const Headers& headers) {
  return request("DELETE", target, {}, with_auth(key, headers));
}

Account Client::register_account(const Headers& headers, std::string_view body) {
  Response r = request("POST", "/v1/keys/register", body, headers);
  if (r.status != 201) harness_fail("register: expected 201, got " + r.describe());
  const auto& o = r.obj();
  auto str = [&](const char* name) {
    const auto* v = o.if_contains(name);
    if (!v || !v->is_string()) harness_fail(std::string("register: no string ") + name + ": " + r.describe());
    return std::string(v->get_string());
  };
  return Account{str("apiKey"), str("accountId"), str("keyId")};
}

std::string Client::register_key() { return register_account().api_key; }

Response Client::create_task(std::string_view key, std::string_view body, const Headers& headers) {
  return post("/v1/tasks", key, body, headers);
}
std::string Client::create_task_id(std::string_view key, std::string_view body,
                                   const Headers& headers) {
  Response r = create_task(key, body, headers);
  if (r.status != 201) harness_fail("create task: expected 201, got " + r.describe());
  return r.task_id();
}
Response Client::claim(std::string_view key, std::string_view body, const Headers& headers) {
  return post("/v1/tasks/claim", key, body, headers);
}
Response Client::claim_id(std::string_view key, std::string_view id, std::string_view body) {
  return post(task_path(id, "claim"), key, body);
}
Response Client::heartbeat(std::string_view key, std::string_view id, std::string_view body) {
  return post(task_path(id, "heartbeat"), key, body);
}
Response Client::complete(std::string_view key, std::string_view id, std::string_view body,
                          const Headers& headers) {
  return post(task_path(id, "complete"), key, body, headers);
}
Response Client::fail(std::string_view key, std::string_view id, std::string_view body) {
  return post(task_path(id, "fail"), key, body);
}
Response Client::cancel(std::string_view key, std::string_view id, std::string_view body) {
  return post(task_path(id, "cancel"), key, body);
}
Response Client::requeue(std::string_view key, std::string_view id, std::string_view body) {
  return post(task_path(id, "requeue"), key, body);
}
Response Client::get_task(std::string_view key, std::string_view id) {
  return get(task_path(id, ""), key);
}
Response Client::list_tasks(std::string_view key, std::string_view query) {
  std::string target = "/v1/tasks";
  if (!query.empty()) target += "?" + std::string(query);
  return get(target, key);
}

// ---------------------------------------------------------------------------------------
// Raw connections

int RawRead::status() const {
  // "HTTP/1.1 200 OK"
  if (!starts_with(data, "HTTP/1.")) return 0;
  if (data.size() < 12) return 0;
  int s = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(data[i]))) return 0;
    s = s * 10 + (data[i] - '0');
  }
  return s;
}

RawConnection::RawConnection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) harness_fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 2000) != 1) {
      close();
      harness_fail("raw connect to port " + std::to_string(port) + ": timeout");
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    std::string why = std::strerror(errno);
    close();
    harness_fail("raw connect to port " + std::to_string(port) + ": " + why);
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawConnection::~RawConnection() { close(); }

void RawConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::send(std::string_view bytes) {
  auto deadline = SteadyClock::now() + 5s;
  while (!bytes.empty()) {
    if (fd_ < 0) return false;
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (SteadyClock::now() > deadline) return false;
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 50);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return true;
}

namespace {
// Reads what is available within the time left. 1: got data, 0: closed, -1: timed out.
int read_some(int fd, std::string& into, SteadyClock::time_point deadline) {
  while (true) {
    // Polls at least once, so a zero timeout still reads what has already arrived.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::clamp<long long>(left.count(), 0, 100)));
    if (rc < 0 && errno != EINTR) return 0;
    if (rc <= 0) {
      if (left.count() <= 0) return -1;
      continue;
    }
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      into.append(buf, static_cast<std::size_t>(n));
      return 1;
    }
    if (n == 0) return 0;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
    return 0;  // reset counts as closed
  }
}

// Length of the first complete HTTP response in `data`, or 0 when incomplete.
std::size_t complete_response_length(const std::string& data) {
  auto end = data.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  std::string head = lower(std::string_view(data).substr(0, end));
  std::size_t body_start = end + 4;
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    auto last = data.find("\r\n0\r\n\r\n", body_start - 2);
    return last == std::string::npos ? 0 : last + 7;
  }
  std::size_t length = 0;
  auto cl = head.find("content-length:");
  if (cl != std::string::npos) length = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
  return data.size() >= body_start + length ? body_start + length : 0;
}
}  // namespace

std::string RawConnection::read_until(std::string_view text, std::chrono::milliseconds timeout) {
  std::string seen;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (seen.find(text) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    RawRead part = read_until_close(std::chrono::milliseconds(100));
    seen += part.data;
    if (part.closed) break;
  }
  return seen;
}

RawRead RawConnection::read_until_close(std::chrono::milliseconds timeout) {
  RawRead out;
  out.data = std::move(pending_);
  pending_.clear();
  if (fd_ < 0) {
    out.closed = true;
    return out;
  }
  auto deadline = SteadyClock::now() + timeout;
  while (true) {
    int rc = read_some(fd_, out.data, deadline);
    if (rc == 0) {
      out.closed = true;
      return out;
    }
    if (rc < 0) {
      out.timed_out = true;
      return out;
    }
  }
}

RawRead RawConnection::read_response(std::chrono::milliseconds timeout) {
  RawRead out;
  std::string data = std::move(pending_);
  pending_.clear();
  auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (std::size_t n = complete_response_length(data)) {
      out.data = data.substr(0, n);
      pending_ = data.substr(n);
      return out;
    }
    if (fd_ < 0) {
      out.closed = true;
      out.data = std::move(data);
      return out;
    }
    int rc = read_some(fd_, data, deadline);
    if (rc <= 0) {
      (rc == 0 ? out.closed : out.timed_out) = true;
      out.data = std::move(data);
      return out;
    }
  }
}

std::string raw_request(std::string_view method, std::string_view target, std::string_view key,
                        std::string_view body) {
  std::string out(method);
  out.append(" ").append(target).append(" HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ");
  out.append(key).append("\r\nContent-Type: application/json\r\nContent-Length: ");
  out.append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  return out;
}

Response parse_raw_response(std::string_view data) {
  Response out;
  RawRead probe;
  probe.data = std::string(data.substr(0, 16));
  out.status = probe.status();
  if (out.status == 0) return out;
  auto head_end = data.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return out;
  std::string_view head = data.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  bool chunked = false;
  std::size_t length = std::string_view::npos;
  while (line_end != std::string_view::npos) {
    std::size_t next = head.find("\r\n", line_end + 2);
    std::string_view line = head.substr(line_end + 2, next == std::string_view::npos ? std::string_view::npos : next - line_end - 2);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      out.headers[name] = std::string(value);
      if (lower(name) == "content-length") length = std::strtoul(std::string(value).c_str(), nullptr, 10);
      if (lower(name) == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) chunked = true;
    }
    line_end = next;
  }
  std::string_view rest = data.substr(head_end + 4);
  if (chunked) {
    // Good enough for tests: concatenate chunk payloads.
    while (true) {
      auto eol = rest.find("\r\n");
      if (eol == std::string_view::npos) break;
      std::size_t size = std::strtoul(std::string(rest.substr(0, eol)).c_str(), nullptr, 16);
      if (size == 0 || rest.size() < eol + 2 + size) break;
      out.body += rest.substr(eol + 2, size);
      rest.remove_prefix(std::min(rest.size(), eol + 2 + size + 2));
    }
  } else {
    out.body = std::string(length == std::string_view::npos ? rest : rest.substr(0, length));
  }
  if (!out.body.empty()) out.json = parse_lenient(out.body, out.json_ok);
  return out;
}

RawRead raw_exchange(int port, std::string_view bytes, std::chrono::milliseconds timeout) {
  RawConnection c(port);
  c.send(bytes);
  return c.read_until_close(timeout);
}

// ---------------------------------------------------------------------------------------
// TestServer

int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) harness_fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    harness_fail(std::string("bind port 0: ") + std::strerror(errno));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

namespace {

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string_view(v) != "0";
}

// Outside any test unit (a tool such as tests/crash that links the harness without
// running Boost.Test) the framework has no current test: asking it for one crashes.
bool in_test_unit() {
  namespace ut = boost::unit_test;
  return ut::framework::current_test_case_id() != ut::INV_TEST_UNIT_ID;
}

bool current_test_failed() {
  if (!in_test_unit()) return false;
  try {
    namespace ut = boost::unit_test;
    return !ut::results_collector.results(ut::framework::current_test_case().p_id).passed();
  } catch (...) {
    return false;
  }
}

void report_error(const std::string& message) {
  std::cerr << "[harness] " << message << std::endl;
  if (!in_test_unit()) return;
  try {
    BOOST_ERROR(message);
  } catch (...) {
  }
}

}  // namespace

namespace {

// BATON_TEST_STORAGE=postgres: every server of the run on the postgres storage engine, each
// on a database of its own in the run's private PostgreSQL (postgres_cluster.hpp), unless
// the test chose an engine itself. That is how the suites run against both backends.
void storage_from_environment(ServerOptions& options) {
  const char* storage = std::getenv("BATON_TEST_STORAGE");
  if (!storage || std::string_view(storage) != "postgres" || options.set.contains("storage.engine")) {
    return;
  }
  PostgresCluster& postgres = shared_postgres();
  options.set["storage.engine"] = "postgres";
  options.set["storage.postgres"] = "{url: \"" + postgres.url(postgres.create_database()) +
                                    "\", poll_interval_ms: 200, sweep_interval_ms: 50}";
}

}  // namespace

TestServer::TestServer(ServerOptions options) : options_(std::move(options)) {
  const char* bin = std::getenv("BATON_BIN");
  if (!bin || !*bin)
    harness_fail("BATON_BIN is not set: export BATON_BIN=/path/to/build/baton before running the "
         "integration tests");
  if (::access(bin, X_OK) != 0)
    harness_fail(std::string("BATON_BIN=") + bin + " is not an executable file: " + std::strerror(errno));
  if (env_flag("BATON_TEST_KEEP")) options_.keep = true;
  storage_from_environment(options_);

  char tmpl[] = "/tmp/baton-it-XXXXXX";
  if (!::mkdtemp(tmpl)) harness_fail(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = tmpl;
  data_dir_ = options_.data_dir.empty() ? dir_ + "/data" : options_.data_dir;
  config_path_ = dir_ + "/baton.yaml";
  log_path_ = dir_ + "/server.log";
  try {
    std::filesystem::create_directories(data_dir_);
    port_ = pick_free_port();
    write_config();
    start();
    wait_ready();
  } catch (...) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait_exit(5s);
    }
    if (!options_.keep) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
    throw;
  }
}

TestServer::~TestServer() {
  bool trouble = false;
  try {
    if (pid_ > 0) {
      if (!alive()) {
        trouble = true;
        report_error("baton died during the test: " + exit_description());
      } else {
        ::kill(pid_, SIGTERM);
        if (!wait_exit(10s)) {
          trouble = true;
          ::kill(pid_, SIGKILL);
          wait_exit(5s);
          report_error("baton did not exit within 10 s of SIGTERM (killed)");
        } else if (!WIFEXITED(exit_status_) || WEXITSTATUS(exit_status_) != 0) {
          trouble = true;
          report_error("baton exited uncleanly after SIGTERM: " + exit_description());
        }
      }
    } else if (exited_ && !expected_exit_) {
      trouble = true;
      report_error("baton died during the test: " + exit_description());
    }
    if (trouble || current_test_failed())
      std::cerr << "[harness] server log " << log_path_ << " (tail):\n" << log_tail() << std::endl;
  } catch (...) {
  }
  if (options_.keep) {
    std::cerr << "[harness] kept " << dir_ << std::endl;
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> environment_without_baton() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (!starts_with(*e, "BATON_")) env.emplace_back(*e);
  return env;
}

std::string TestServer::config_text() const { return read_file(config_path_); }

std::string TestServer::log_tail(std::size_t lines) const {
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line.size() > 1000 ? line.substr(0, 1000) + "…" : line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "  | " + l + "\n";
  return out.empty() ? "  | (empty)\n" : out;
}

void TestServer::write_config() {
  // Sections in a fixed order; each value a raw YAML scalar.
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> sections = {
      {"server", {{"listen", "\"127.0.0.1:" + std::to_string(port_) + "\""}, {"shards", "2"}}},
      // Spare WAL files (made under sync batch and always) of 1 MiB, not 64: servers start
      // often here, and a test's writes then both end inside a spare and run past one.
      {"storage", {{"path", "\"" + data_dir_ + "\""}, {"sync", "none"}, {"wal_spare_bytes", "1048576"}}},
      {"leases", {{"min_seconds", "1"}}},
      {"claims", {}},
      {"tasks", {}},
      {"idempotency", {}},
      {"log", {{"level", "warn"}}},
  };
  std::map<std::string, std::string> top;
  for (const auto& [key, value] : options_.set) {
    auto dot = key.find('.');
    if (dot == std::string::npos) {
      top[key] = value;
      continue;
    }
    std::string section = key.substr(0, dot);
    auto it = std::find_if(sections.begin(), sections.end(),
                           [&](const auto& s) { return s.first == section; });
    if (it == sections.end()) {
      sections.push_back({section, {}});
      it = sections.end() - 1;
    }
    it->second[key.substr(dot + 1)] = value;
  }
  std::ostringstream yaml;
  yaml << "# written by the integration-test harness\n";
  for (const auto& [section, keys] : sections) {
    if (keys.empty()) continue;
    yaml << section << ":\n";
    for (const auto& [k, v] : keys) yaml << "  " << k << ": " << v << "\n";
  }
  for (const auto& [k, v] : top) yaml << k << ": " << v << "\n";
  if (!options_.extra_yaml.empty()) yaml << options_.extra_yaml << "\n";
  std::ofstream out(config_path_);
  out << yaml.str();
  if (!out) harness_fail("cannot write " + config_path_);
}

void TestServer::start() {
  const std::string bin = std::getenv("BATON_BIN");
  const std::string listen = "127.0.0.1:" + std::to_string(port_);
  std::vector<std::string> args = {bin,      "serve",  "--config", config_path_,
                                   "--listen", listen, "--data",   data_dir_};
  std::vector<std::string> env = environment_without_baton();
  for (const auto& [k, v] : options_.env) env.push_back(k + "=" + v);

  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) harness_fail("open " + log_path_ + ": " + std::strerror(errno));
  {
    std::string marker = "=== harness: starting baton on " + listen + " ===\n";
    [[maybe_unused]] auto n = ::write(log_fd, marker.data(), marker.size());
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();
  const rlim_t open_files_limit = options_.max_open_files;

  pid_t child = ::fork();
  if (child < 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    harness_fail(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (open_files_limit > 0) {
      rlimit limit{open_files_limit, open_files_limit};
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    if (::syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
      for (int fd = 3; fd < 4096; ++fd) ::close(fd);
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "harness: execve of BATON_BIN failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  pid_ = child;
  exited_ = false;
  expected_exit_ = false;
}

void TestServer::wait_ready() {
  auto deadline = SteadyClock::now() + 10s;
  std::string last = "no answer";
  while (true) {
    if (!alive())
      harness_fail("baton exited while starting (" + exit_description() + "); log " + log_path_ +
           ":\n" + log_tail() + "config:\n" + config_text());
    try {
      Client c(port_, 1s);
      Response r = c.get("/health", "");
      // An HTTPS server answers this plain probe with its refusal: that is a sign of life.
      if (r.status == 200 || (options_.https && r.status == 400)) {
        ready_at_ = SteadyClock::now();
        ready_at_wall_ = WallClock::now();
        return;
      }
      last = r.describe();
    } catch (const std::exception& e) {
      last = e.what();
    }
    if (SteadyClock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      wait_exit(5s);
      harness_fail("baton did not answer GET /health with 200 within 10 s (last: " + last +
           "); log " + log_path_ + ":\n" + log_tail() + "config:\n" + config_text());
    }
    std::this_thread::sleep_for(20ms);
  }
}

bool TestServer::alive() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t rc = ::waitpid(pid_, &status, WNOHANG);
  if (rc == pid_) {
    exit_status_ = status;
    exited_ = true;
    pid_ = -1;
    return false;
  }
  return true;
}

bool TestServer::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (!alive()) return true;
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

std::string TestServer::exit_description() const {
  if (!exited_) return pid_ > 0 ? "running" : "never started";
  if (WIFEXITED(exit_status_)) return "exit code " + std::to_string(WEXITSTATUS(exit_status_));
  if (WIFSIGNALED(exit_status_))
    return std::string("killed by signal ") + std::to_string(WTERMSIG(exit_status_)) + " (" +
           ::strsignal(WTERMSIG(exit_status_)) + ")";
  return "status " + std::to_string(exit_status_);
}

void TestServer::stop() {
  if (pid_ <= 0 || !alive()) harness_fail("stop(): baton is not running (" + exit_description() + ")");
  expected_exit_ = true;
  auto began = SteadyClock::now();
  ::kill(pid_, SIGTERM);
  if (!wait_exit(10s)) {
    ::kill(pid_, SIGKILL);
    wait_exit(5s);
    harness_fail("baton did not exit within 10 s of SIGTERM; log:\n" + log_tail());
  }
  if (!WIFEXITED(exit_status_) || WEXITSTATUS(exit_status_) != 0)
    harness_fail("baton exited with " + exit_description() + " after SIGTERM (expected 0, " +
         std::to_string(seconds(SteadyClock::now() - began)) + " s); log:\n" + log_tail());
}

void TestServer::kill9() {
  if (pid_ <= 0 || !alive()) harness_fail("kill9(): baton is not running (" + exit_description() + ")");
  expected_exit_ = true;
  ::kill(pid_, SIGKILL);
  if (!wait_exit(10s)) harness_fail("baton survived SIGKILL for 10 s");
}

void TestServer::restart() {
  if (pid_ > 0 && alive()) stop();
  start();
  wait_ready();
}

void TestServer::start_unready() {
  if (pid_ > 0 && alive()) harness_fail("start_unready(): baton is still running");
  start();
}

// ---------------------------------------------------------------------------------------
// Shared server

namespace {
std::map<std::string, std::unique_ptr<TestServer>>& shared_slots() {
  static std::map<std::string, std::unique_ptr<TestServer>> slots;
  return slots;
}
}  // namespace

TestServer& shared_server() { return shared_server("default", ServerOptions{}); }

TestServer& shared_server(const std::string& name, const ServerOptions& options) {
  auto& slot = shared_slots()[name];
  if (!slot) slot = std::make_unique<TestServer>(options);
  return *slot;
}

void release_shared_server() {
  for (auto& [name, slot] : shared_slots()) {
    if (!slot) continue;
    try {
      slot->stop();
    } catch (const std::exception& e) {
      report_error("shared server \"" + name + "\": " + e.what());
    }
    slot.reset();
  }
  shared_slots().clear();
  // After the servers that used it (BATON_TEST_STORAGE=postgres).
  release_shared_postgres();
}

// ---------------------------------------------------------------------------------------
// Helpers

std::string js(const json::value& value) { return json::serialize(value); }

std::string task_body(std::string_view type, const json::object& extra) {
  json::object body{{"type", type}, {"payload", json::object{{"n", 1}}}};
  for (const auto& kv : extra) body[kv.key()] = kv.value();
  return js(body);
}

bool field_is_null(const json::object& object, std::string_view field) {
  const auto* v = object.if_contains(field);
  return !v || v->is_null();
}

json::value parse_json(std::string_view text) {
  bool ok = false;
  json::value v = parse_lenient(text, ok);
  if (!ok) harness_fail("invalid JSON: " + std::string(text.substr(0, 500)));
  return v;
}

WallClock::time_point parse_time(std::string_view text) {
  // 2026-11-22T10:00:00.000Z (fraction optional, 'Z' required: Baton writes UTC)
  int y, mo, d, h, mi, s;
  char tail[64] = {0};
  std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%63s", &y, &mo, &d, &h, &mi, &s, tail) < 6)
    harness_fail("not an RFC 3339 time: \"" + t + "\"");
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t secs = ::timegm(&tm);
  long long micros = 0;
  std::string_view rest(tail);
  if (!rest.empty() && rest[0] == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0]))) {
      if (digits < 6) micros = micros * 10 + (rest[0] - '0');
      ++digits;
      rest.remove_prefix(1);
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  if (rest != "Z") harness_fail("not a UTC RFC 3339 time (expected 'Z'): \"" + t + "\"");
  return WallClock::from_time_t(secs) + std::chrono::microseconds(micros);
}

std::string format_time(WallClock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}


bool poll_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string unique_suffix() {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}() % 100000;
  return std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" +
         std::to_string(counter.fetch_add(1));
}

std::string url_encode(std::string_view text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

namespace {

const std::vector<std::string_view> kActions = {
    "create_task",    "claim_task",       "complete_task", "fail_task",        "heartbeat",
    "check_task_status", "requeue_task",  "retry_after_wait", "authenticate",  "fix_request",
    "download_artifact", "list_tasks",    "upgrade_plan",  "stop_work",  "review_task",
    "await_review", "accept_task", "rework_task", "await_verification"};

using ErrorRow = SpecErrorRow;
const auto& kErrors = kSpecErrors;

const ErrorRow* find_error(std::string_view code) {
  for (const auto& row : kErrors)
    if (row.code == code) return &row;
  return nullptr;
}

bool is_recommended(const json::value& action) {
  const auto* r = action.is_object() ? action.get_object().if_contains("recommended") : nullptr;
  return r && r->is_bool() && r->get_bool();
}

}  // namespace

int expected_status(std::string_view code) {
  const ErrorRow* row = find_error(code);
  return row ? row->status : 0;
}

std::string contract_problem(const json::value& contract) {
  const std::string shown = "agent_contract " + js(contract).substr(0, 1500);
  if (!contract.is_object()) return shown + ": not an object";
  const auto& c = contract.get_object();
  const auto* version = c.if_contains("version");
  if (!version || !version->is_string() || version->get_string() != "1")
    return shown + ": version is not \"1\"";
  const auto* actions = c.if_contains("next_actions");
  if (!actions || !actions->is_array() || actions->get_array().empty())
    return shown + ": next_actions is not a non-empty array";
  int recommended = 0;
  for (const auto& a : actions->get_array()) {
    if (!a.is_object()) return shown + ": a next action is not an object";
    const auto* name = a.get_object().if_contains("action");
    if (!name || !name->is_string()) return shown + ": a next action has no \"action\" string";
    std::string_view n = name->get_string();
    if (std::find(kActions.begin(), kActions.end(), n) == kActions.end())
      return shown + ": unknown action code \"" + std::string(n) + "\"";
    if (n == "retry_after_wait") {
      const auto* ra = a.get_object().if_contains("retry_after_seconds");
      if (!ra || !(ra->is_int64() || ra->is_uint64()) || ra->to_number<std::int64_t>() < 0)
        return shown + ": retry_after_wait without an integer retry_after_seconds";
    }
    if (is_recommended(a)) ++recommended;
  }
  if (recommended != 1)
    return shown + ": " + std::to_string(recommended) + " recommended actions (expected exactly 1)";
  return {};
}

std::string recommended_action(const json::value& contract) {
  if (!contract.is_object()) return {};
  const auto* actions = contract.get_object().if_contains("next_actions");
  if (!actions || !actions->is_array()) return {};
  for (const auto& a : actions->get_array())
    if (is_recommended(a)) {
      const auto* n = a.get_object().if_contains("action");
      if (n && n->is_string()) return std::string(n->get_string());
    }
  return {};
}

const json::object* find_action(const json::value& contract, std::string_view action) {
  if (!contract.is_object()) return nullptr;
  const auto* actions = contract.get_object().if_contains("next_actions");
  if (!actions || !actions->is_array()) return nullptr;
  for (const auto& a : actions->get_array()) {
    const auto* n = a.is_object() ? a.get_object().if_contains("action") : nullptr;
    if (n && n->is_string() && n->get_string() == action) return &a.get_object();
  }
  return nullptr;
}

bool offers_action(const json::value& contract, std::string_view action) {
  return find_action(contract, action) != nullptr;
}

std::string error_problem(const Response& r, std::string_view code) {
  const std::string where = "expected error " + std::string(code) + ", got " + r.describe();
  const ErrorRow* row = find_error(code);
  if (!row) return "unknown error code in test: " + std::string(code);
  if (r.status != row->status)
    return where + " (expected HTTP " + std::to_string(row->status) + ")";
  if (!r.json.is_object()) return where + " (body is not a JSON object)";
  const auto& o = r.json.get_object();
  if (r.error() != code) return where + " (wrong \"error\")";
  const auto* message = o.if_contains("message");
  if (!message || !message->is_string() || message->get_string().empty())
    return where + " (no non-empty \"message\")";
  const auto* request_id = o.if_contains("request_id");
  if (!request_id || !request_id->is_string() || request_id->get_string().empty())
    return where + " (no \"request_id\")";
  if (r.header("X-Request-Id") != std::string_view(request_id->get_string()))
    return where + " (request_id differs from X-Request-Id header \"" + r.header("X-Request-Id") +
           "\")";
  const auto* contract = o.if_contains("agent_contract");
  if (!contract) return where + " (no agent_contract)";
  if (std::string p = contract_problem(*contract); !p.empty()) return where + " (" + p + ")";
  const auto* retryable = contract->get_object().if_contains("retryable");
  if (!retryable || !retryable->is_bool() || retryable->get_bool() != row->retryable)
    return where + " (agent_contract.retryable should be " +
           (row->retryable ? "true" : "false") + ")";
  if (recommended_action(*contract) != row->action)
    return where + " (recommended action should be " + std::string(row->action) + ")";
  if ((r.status == 429 || r.status == 503)) {
    std::string ra = r.header("Retry-After");
    if (ra.empty() || !std::all_of(ra.begin(), ra.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }))
      return where + " (429/503 without an integer Retry-After header)";
    // The header and the contract tell the same wait: an HTTP client and an agent that
    // reads only the contract retry at the same moment.
    const json::object* wait = find_action(*contract, "retry_after_wait");
    const json::value* seconds = wait ? wait->if_contains("retry_after_seconds") : nullptr;
    if (!seconds || !seconds->is_int64())
      return where + " (429/503 without a retry_after_wait action giving retry_after_seconds)";
    if (ra != std::to_string(seconds->get_int64()))
      return where + " (Retry-After " + ra + " but the contract says retry_after_seconds " +
             std::to_string(seconds->get_int64()) + ")";
  }
  return {};
}

}  // namespace baton::test
