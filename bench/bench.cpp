// baton-bench: HTTP load generator for a running Baton server (loopback only).
// Boost.Asio C++20 coroutines + Boost.Beast, one io_context per --threads.
#include "bench_util.hpp"
#include "log_streams.hpp"

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace po = boost::program_options;
using asio::awaitable;
using asio::use_awaitable;
using namespace bench;
using namespace std::chrono_literals;

namespace {

struct Config {
  asio::ip::tcp::endpoint ep;
  std::string url, host_header, prefix, auth, type = "preload";
  int workers = 64, threads = 1, pid = 0, types = 1;
  double seconds = 10, warmup = 2;
  Clock::duration timeout = 5s;
  long preload = 0;
  bool claim_check = false, json = false, typeless = false, mcp = false, next = false;
  bool workflow = false;
  std::string limited_plan, admin_key;  // --limited-plan, --admin-key
  long history = 0;  // --history: terminal tasks made before the history phases
  long depth = 0;    // --depth: pending tasks before the deep claims phase
  double rate = 0;  // --rate: requests/s of the open-loop phase (0: no such phase)
  int streams = 0;  // --streams: idle log streams held during a lifecycle phase
  bool scrape_metrics = false;  // --scrape-metrics: the lifecycle with GET /metrics each second
  int schedules = 0;  // --schedules: the server's idle CPU with N per-minute schedules
  int fan_out = 100;  // --fan-out: subscribers of the task whose appends are timed
  bench::StreamTarget stream_target;
};

struct Conn {
  beast::tcp_stream s;
  beast::flat_buffer buf;
  bool open = false;
  // Room for a whole answer: Beast reads up to the buffer's free capacity (at least 512
  // bytes), so a 1.4 KB claim answer took three recv calls from an unreserved buffer,
  // CPU the load generator took from the cores the server runs on.
  explicit Conn(const asio::any_io_executor& ex) : s(ex) { buf.reserve(16 * 1024); }
  void close() {
    beast::error_code ec;
    s.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    s.close();
    buf.consume(buf.size());
    open = false;
  }
};

struct Reply {
  int status = 0;  // 0: connect/read/write failure or timeout
  std::string body;
  std::string mcp_session;  // the Mcp-Session-Id header, when sent
};

// One request/response on a keep-alive connection, (re)connecting when needed. Never
// throws on I/O errors and never waits longer than `timeout` per step.
awaitable<Reply> exchange(Conn& c, const Config& cfg, http::verb verb, std::string target, std::string body,
                          Clock::duration timeout, std::string_view extra_headers = {}) {
  Reply r;
  beast::error_code ec;
  auto tok = asio::redirect_error(use_awaitable, ec);
  if (!c.open) {
    c.s.expires_after(timeout);
    co_await c.s.async_connect(cfg.ep, tok);
    if (ec) {
      c.close();
      co_return r;
    }
    c.s.socket().set_option(asio::ip::tcp::no_delay(true), ec);
    c.open = true;
  }
  // The request goes out as one flat buffer (as wrk does): the load generator shares the
  // machine's cores with the server, so it should spend as little of them as it can.
  // Beast's general serializer cost about as much per request as a GET /health costs
  // the server (docs/benchmarks.md). Beast still parses the answers.
  std::string wire;
  wire.reserve(256 + body.size());
  wire.append(http::to_string(verb)).append(" ").append(cfg.prefix).append(target);
  wire.append(" HTTP/1.1\r\nHost: ").append(cfg.host_header);
  wire.append("\r\nUser-Agent: baton-bench\r\n");
  if (!cfg.auth.empty()) wire.append("Authorization: ").append(cfg.auth).append("\r\n");
  wire.append(extra_headers);
  if (verb == http::verb::post || !body.empty()) {
    wire.append("Content-Type: application/json\r\nContent-Length: ");
    wire.append(std::to_string(body.size())).append("\r\n");
  }
  wire.append("\r\n").append(body);
  c.s.expires_after(timeout);
  co_await asio::async_write(c.s, asio::buffer(wire), tok);
  if (!ec) {
    http::response<http::string_body> res;
    co_await http::async_read(c.s, c.buf, res, tok);
    if (!ec) {
      r.status = static_cast<int>(res.result_int());
      r.body = std::move(res.body());
      if (auto session = res.find("Mcp-Session-Id"); session != res.end()) {
        r.mcp_session = std::string(session->value());
      }
      if (!res.keep_alive()) c.close();
      co_return r;
    }
  }
  c.close();
  co_return r;
}

awaitable<void> pause(Clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(use_awaitable);
}

// Records one answer (or transport error) if it completed inside w (always when w is
// null). Returns true on 2xx.
bool account(Stats& st, const Window* w, Op op, Clock::time_point t0, const Reply& r) {
  auto t1 = Clock::now();
  bool ok = r.status >= 200 && r.status < 300;
  if (w && !w->in(t1)) return ok;
  if (r.status == 0) {
    ++st.errors;
    return false;
  }
  ++st.requests;
  st.lat_us[op].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  if (!ok) ++st.non2xx[{op, r.status}];
  return ok;
}

awaitable<void> health_worker(const Config& cfg, Stats& st, Window w) {
  Conn c(co_await asio::this_coro::executor);
  while (Clock::now() < w.end) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::get, "/health", {}, cfg.timeout);
    account(st, &w, HEALTH, t0, r);
    if (r.status == 0) co_await pause(20ms);
  }
}

awaitable<void> lifecycle_worker(const Config& cfg, Stats& st, Window w, int k, std::string type) {
  Conn c(co_await asio::this_coro::executor);
  json::object claim{{"worker_id", "w" + std::to_string(k)}};
  if (!cfg.typeless) claim["type"] = type;
  const std::string claim_body = json::serialize(claim);
  const std::string claim_next = R"(,"claim_next":)" + claim_body;
  Claimed chained;  // --next: the task the last complete's answer carried
  for (uint64_t i = 0; Clock::now() < w.end; ++i) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks", create_body(type, i), cfg.timeout);
    if (!account(st, &w, CREATE, t0, r)) {
      if (r.status == 0) co_await pause(20ms);
      continue;
    }
    Claimed cl = chained;
    if (!cl.ok || cl.empty) {
      t0 = Clock::now();
      r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/claim", claim_body, cfg.timeout);
      if (!account(st, &w, CLAIM, t0, r)) {
        if (r.status == 0) co_await pause(20ms);
        continue;
      }
      cl = parse_claim(r.body);
    }
    chained = {};
    if (!cl.ok || cl.empty) {
      if (w.in(Clock::now())) ++(cl.ok ? st.empty_claims : st.errors);
      continue;
    }
    std::string body = R"({"result":{"ok":true})";
    if (!cl.token.empty()) body += R"(,"lease_token":)" + json::serialize(json::value(cl.token));
    if (cfg.next) body += claim_next;
    body += "}";
    t0 = Clock::now();
    r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/" + cl.id + "/complete", std::move(body), cfg.timeout);
    bool done = account(st, &w, COMPLETE, t0, r);
    if (done && w.in(Clock::now())) ++st.cycles;
    if (done && cfg.next) chained = parse_next(r.body);
    if (r.status == 0) co_await pause(20ms);
  }
}

// One JSON-RPC tools/call in an MCP session. A tool result with isError counts as a 409.
awaitable<Reply> mcp_call(Conn& c, const Config& cfg, const std::string& session_header, uint64_t id,
                          std::string_view tool, std::string_view arguments) {
  std::string body;
  body.reserve(96 + arguments.size());
  body.append(R"({"jsonrpc":"2.0","id":)").append(std::to_string(id));
  body.append(R"(,"method":"tools/call","params":{"name":")").append(tool);
  body.append(R"(","arguments":)").append(arguments).append("}}");
  Reply r = co_await exchange(c, cfg, http::verb::post, "/mcp", std::move(body), cfg.timeout, session_header);
  if (r.status == 200) {
    std::size_t flag = r.body.rfind(R"("isError":)");
    if (flag == std::string::npos) {
      r.status = 502;  // a JSON-RPC error, not a tool result
    } else if (std::string_view(r.body).substr(flag + 10).starts_with("true")) {
      r.status = 409;
    }
  }
  co_return r;
}

// The same cycle as lifecycle_worker, as MCP tool calls in one session per connection.
awaitable<void> mcp_worker(const Config& cfg, Stats& st, Window w, int k, std::string type) {
  Conn c(co_await asio::this_coro::executor);
  const std::string init =
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
      R"("capabilities":{},"clientInfo":{"name":"baton-bench","version":"1"}}})";
  std::string session_header;
  while (session_header.empty() && Clock::now() < w.end) {
    Reply r = co_await exchange(c, cfg, http::verb::post, "/mcp", init, cfg.timeout);
    if (r.status == 200 && !r.mcp_session.empty()) {
      session_header = "Mcp-Session-Id: " + r.mcp_session + "\r\n";
    } else {
      if (w.in(Clock::now())) ++st.errors;
      co_await pause(20ms);
    }
  }
  json::object claim{{"worker_id", "w" + std::to_string(k)}, {"type", type}};
  const std::string claim_arguments = json::serialize(claim);
  uint64_t id = 1;
  for (uint64_t i = 0; Clock::now() < w.end; ++i) {
    auto t0 = Clock::now();
    Reply r = co_await mcp_call(c, cfg, session_header, id++, "create_task", create_body(type, i));
    if (!account(st, &w, CREATE, t0, r)) {
      if (r.status == 0) co_await pause(20ms);
      continue;
    }
    t0 = Clock::now();
    r = co_await mcp_call(c, cfg, session_header, id++, "claim_task", claim_arguments);
    if (!account(st, &w, CLAIM, t0, r)) {
      if (r.status == 0) co_await pause(20ms);
      continue;
    }
    Claimed cl = parse_mcp_claim(r.body);
    if (!cl.ok || cl.empty) {
      if (w.in(Clock::now())) ++(cl.ok ? st.empty_claims : st.errors);
      continue;
    }
    std::string arguments = R"({"task_id":")" + cl.id + R"(","result":{"ok":true})";
    if (!cl.token.empty()) arguments += R"(,"lease_token":")" + cl.token + "\"";
    arguments += "}";
    t0 = Clock::now();
    r = co_await mcp_call(c, cfg, session_header, id++, "complete_task", arguments);
    if (account(st, &w, COMPLETE, t0, r) && w.in(Clock::now())) ++st.cycles;
    if (r.status == 0) co_await pause(20ms);
  }
}

// The server's group-commit counters (GET /health: storage.commit_*), to say where a
// phase's durable writes spent their time.
struct CommitCounters {
  bool ok = false;
  double writes = 0, ops = 0, wait = 0, write = 0, back_to_shard = 0;
};

CommitCounters commit_counters(const Reply& r) {
  CommitCounters c;
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (ec || r.status != 200 || !v.is_object()) return c;
  const json::object* storage = v.as_object().if_contains("storage") ? v.at("storage").if_object() : nullptr;
  if (!storage || !storage->contains("commit_us")) return c;
  auto number = [](const json::value& x) { return x.is_number() ? x.to_number<double>() : 0.0; };
  const json::object& t = storage->at("commit_us").as_object();
  c.ok = true;
  c.writes = number(storage->at("commit_writes"));
  c.ops = number(storage->at("commit_ops"));
  c.wait = number(t.at("wait"));
  c.write = number(t.at("write"));
  c.back_to_shard = number(t.at("back_to_shard"));
  return c;
}

// Prints a phase's commit breakdown: per RocksDB write, microseconds in each stage.
void report_commit(Report& rep, const std::string& phase, const CommitCounters& a, const CommitCounters& b) {
  if (!a.ok || !b.ok || b.writes <= a.writes) return;
  double writes = b.writes - a.writes;
  rep.num(phase + " commit ops/write", (b.ops - a.ops) / writes, 1);
  rep.num(phase + " commit wait us", (b.wait - a.wait) / writes, 1);
  rep.num(phase + " commit write+fsync us", (b.write - a.write) / writes, 1);
  rep.num(phase + " commit back-to-shard us", (b.back_to_shard - a.back_to_shard) / writes, 1);
}

// ---- Open loop (--rate) ----
// Task cycles (create -> claim -> complete, three requests) start at fixed times, rate / 3
// per second, whatever the answers do: a slow answer delays nothing but itself, as with
// real producers. A cycle takes an idle keep-alive connection (at most --workers open);
// when none is free it waits for one, and its create's latency counts from the time it
// was due, so a server that falls behind shows it in the percentiles instead of slowing
// the load (no coordinated omission).
class ConnectionPool {
 public:
  ConnectionPool(asio::any_io_executor ex, int limit) : ex_(std::move(ex)), limit_(limit) {}

  awaitable<std::unique_ptr<Conn>> take() {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      co_return c;
    }
    if (open_ < limit_) {
      ++open_;
      co_return std::make_unique<Conn>(ex_);
    }
    Waiter waiter{asio::steady_timer(ex_, Clock::time_point::max()), nullptr};
    waiters_.push_back(&waiter);
    beast::error_code ec;
    co_await waiter.timer.async_wait(asio::redirect_error(use_awaitable, ec));
    co_return std::move(waiter.handed);
  }

  void give_back(std::unique_ptr<Conn> c) {
    if (waiters_.empty()) {
      idle_.push_back(std::move(c));
      return;
    }
    Waiter* first = waiters_.front();
    waiters_.pop_front();
    first->handed = std::move(c);
    first->timer.cancel();
  }

  int opened() const { return open_; }

 private:
  struct Waiter {
    asio::steady_timer timer;
    std::unique_ptr<Conn> handed;
  };
  asio::any_io_executor ex_;
  int limit_;
  int open_ = 0;
  std::vector<std::unique_ptr<Conn>> idle_;
  std::deque<Waiter*> waiters_;
};

struct RateRun {
  const Config& cfg;
  Stats& st;
  Window w;
  ConnectionPool& pool;
  std::string type, claim_body;
  int in_flight = 0;
};

awaitable<void> rate_cycle(RateRun& run, Clock::time_point due, uint64_t i) {
  const Config& cfg = run.cfg;
  std::unique_ptr<Conn> c = co_await run.pool.take();
  Reply r = co_await exchange(*c, cfg, http::verb::post, "/v1/tasks", create_body(run.type, i), cfg.timeout);
  if (account(run.st, &run.w, CREATE, due, r)) {
    auto t0 = Clock::now();
    r = co_await exchange(*c, cfg, http::verb::post, "/v1/tasks/claim", run.claim_body, cfg.timeout);
    if (account(run.st, &run.w, CLAIM, t0, r)) {
      Claimed cl = parse_claim(r.body);
      if (!cl.ok || cl.empty) {
        if (run.w.in(Clock::now())) ++(cl.ok ? run.st.empty_claims : run.st.errors);
      } else {
        std::string body = R"({"result":{"ok":true})";
        if (!cl.token.empty()) body += R"(,"lease_token":)" + json::serialize(json::value(cl.token));
        body += "}";
        t0 = Clock::now();
        r = co_await exchange(*c, cfg, http::verb::post, "/v1/tasks/" + cl.id + "/complete", std::move(body),
                              cfg.timeout);
        if (account(run.st, &run.w, COMPLETE, t0, r) && run.w.in(Clock::now())) ++run.st.cycles;
      }
    }
  }
  run.pool.give_back(std::move(c));
  --run.in_flight;
}

awaitable<void> rate_driver(RateRun& run, Clock::time_point begin) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  const double period_s = 3.0 / run.cfg.rate;
  for (uint64_t i = 0;; ++i) {
    auto due = begin + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(period_s * static_cast<double>(i)));
    if (due >= run.w.end) break;
    if (due > Clock::now()) {
      timer.expires_at(due);
      co_await timer.async_wait(use_awaitable);
    }
    ++run.in_flight;
    asio::co_spawn(ex, rate_cycle(run, due, i), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  while (run.in_flight > 0) co_await pause(5ms);  // the last cycles' answers
}

awaitable<void> preload_worker(const Config& cfg, Stats& st, std::atomic<long>& next, std::atomic<bool>& stop) {
  Conn c(co_await asio::this_coro::executor);
  int failures = 0;  // consecutive transport errors; many in a row means the server is gone
  for (long i = 0; !stop && (i = next++) < cfg.preload;) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks", create_body(cfg.type, static_cast<uint64_t>(i)),
                                cfg.timeout);
    if (account(st, nullptr, CREATE, t0, r)) ++st.cycles;
    if (r.status != 0) {
      failures = 0;
    } else {
      if (++failures >= 50) stop = true;
      co_await pause(20ms);
    }
  }
}

// ---- History (--history) ----
// Makes terminal tasks of `type` until `left` runs out: a batch of 100 created, claimed
// with max_tasks 100, each completed.
// The body of a batch create of 100 tasks of `type`.
std::string batch_of_100(const std::string& type) {
  std::string body = R"({"tasks":[)";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) body += ',';
    body += create_body(type, static_cast<uint64_t>(i));
  }
  return body + "]}";
}

// Makes `left` pending tasks of `type`, 100 a request; cycles counts the tasks made.
awaitable<void> backlog_worker(const Config& cfg, Stats& st, std::atomic<long>& left, std::string type) {
  Conn c(co_await asio::this_coro::executor);
  const std::string batch_body = batch_of_100(type);
  while (left.fetch_sub(100) > 0) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/batch", batch_body, 60s);
    if (account(st, nullptr, CREATE, t0, r)) {
      st.cycles += 100;
    } else if (r.status == 0) {
      co_await pause(20ms);
    }
  }
}

awaitable<void> history_worker(const Config& cfg, Stats& st, std::atomic<long>& left, std::string type) {
  Conn c(co_await asio::this_coro::executor);
  const std::string batch_body = batch_of_100(type);
  const std::string claim = json::serialize(json::object{{"type", type}, {"worker_id", "history"},
                                                         {"max_tasks", 100}});
  while (left.fetch_sub(100) > 0) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/batch", batch_body, 60s);
    if (!account(st, nullptr, CREATE, t0, r)) {
      if (r.status == 0) co_await pause(20ms);
      continue;
    }
    t0 = Clock::now();
    r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/claim", claim, cfg.timeout);
    if (!account(st, nullptr, CLAIM, t0, r)) continue;
    boost::system::error_code ec;
    json::value answer = json::parse(r.body, ec);
    if (ec || !answer.is_object() || !answer.as_object().contains("tasks")) continue;
    for (const json::value& item : answer.as_object().at("tasks").as_array()) {
      const json::object& task = item.at("task").as_object();
      std::string body = R"({"result":{"ok":true},"lease_token":)" +
                         json::serialize(task.at("leaseToken")) + "}";
      t0 = Clock::now();
      Reply d = co_await exchange(c, cfg, http::verb::post,
                                  "/v1/tasks/" + std::string(task.at("id").as_string()) + "/complete",
                                  std::move(body), cfg.timeout);
      if (account(st, nullptr, COMPLETE, t0, d)) ++st.cycles;
    }
  }
}

// GETs `target` (a listing) inside the window.
awaitable<void> list_worker(const Config& cfg, Stats& st, Window w, std::string target) {
  Conn c(co_await asio::this_coro::executor);
  while (Clock::now() < w.end) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::get, target, {}, cfg.timeout);
    account(st, &w, LIST, t0, r);
    if (r.status == 0) co_await pause(20ms);
  }
}

// ---- Workflow (--workflow) ----
// Creates tasks of `type` inside the window, one per request (batch 1) or `batch` per
// POST /v1/tasks/batch; counts tasks as cycles.
awaitable<void> create_worker(const Config& cfg, Stats& st, Window w, std::string type, int batch) {
  Conn c(co_await asio::this_coro::executor);
  std::string items;
  for (int i = 0; i < batch; ++i) items += (i ? "," : "") + create_body(type, static_cast<uint64_t>(i));
  const std::string batch_body = R"({"tasks":[)" + items + "]}";
  const std::string target = batch == 1 ? "/v1/tasks" : "/v1/tasks/batch";
  for (uint64_t i = 0; Clock::now() < w.end; ++i) {
    auto t0 = Clock::now();
    // One named body: g++ 12 mishandles co_await inside a conditional expression.
    std::string body = batch == 1 ? create_body(type, i) : batch_body;
    Reply r = co_await exchange(c, cfg, http::verb::post, target, std::move(body), cfg.timeout);
    if (account(st, &w, CREATE, t0, r) && w.in(Clock::now())) st.cycles += static_cast<uint64_t>(batch);
    if (r.status == 0) co_await pause(20ms);
  }
}

// Tasks in a claim answer: {"task": …} once, or {"tasks": [{"task": …}, …]}.
uint64_t claimed_in(const std::string& body) {
  uint64_t n = 0;
  for (std::size_t at = body.find(R"({"task":{"id")"); at != std::string::npos;
       at = body.find(R"({"task":{"id")", at + 1)) {
    ++n;
  }
  return n;
}

// Claims `type` (max_tasks `batch`, or one at a time) until a claim finds nothing; the
// tasks stay claimed. `last` gets the time of the last answer that carried a task.
awaitable<void> drain_worker(const Config& cfg, Stats& st, std::string type, int batch,
                             std::atomic<Clock::rep>& last) {
  Conn c(co_await asio::this_coro::executor);
  json::object claim{{"type", type}, {"worker_id", "drain"}};
  if (batch > 1) claim["max_tasks"] = batch;
  const std::string body = json::serialize(claim);
  for (;;) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/claim", body, cfg.timeout);
    if (!account(st, nullptr, CLAIM, t0, r)) {
      if (r.status == 0) co_await pause(20ms);
      continue;
    }
    uint64_t n = claimed_in(r.body);
    if (n == 0) co_return;
    st.cycles += n;
    Clock::rep now = Clock::now().time_since_epoch().count();
    for (Clock::rep seen = last.load(); now > seen && !last.compare_exchange_weak(seen, now);) {
    }
  }
}

// Works through the account's tasks with long-poll batch claims of any type, completing
// each, until `total` are done: a DAG is released layer by layer as its tasks complete.
awaitable<void> dag_worker(const Config& cfg, Stats& st, std::atomic<long>& done, long total) {
  Conn c(co_await asio::this_coro::executor);
  const std::string claim = R"({"worker_id":"dag","max_tasks":10,"wait_seconds":1})";
  while (done.load() < total) {
    auto t0 = Clock::now();
    Reply r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/claim", claim, cfg.timeout);
    if (!account(st, nullptr, CLAIM, t0, r)) {
      if (r.status == 0) co_await pause(20ms);
      continue;
    }
    boost::system::error_code ec;
    json::value answer = json::parse(r.body, ec);
    if (ec || !answer.is_object() || !answer.as_object().contains("tasks")) continue;
    for (const json::value& item : answer.as_object().at("tasks").as_array()) {
      const json::object& task = item.at("task").as_object();
      std::string body = R"({"lease_token":)" + json::serialize(task.at("leaseToken")) + "}";
      t0 = Clock::now();
      Reply d = co_await exchange(c, cfg, http::verb::post,
                                  "/v1/tasks/" + std::string(task.at("id").as_string()) + "/complete",
                                  std::move(body), cfg.timeout);
      if (account(st, nullptr, COMPLETE, t0, d)) ++done;
    }
  }
}

// The DAG: a root, then layers of `width` tasks spread over `types` types (every shard);
// the first layer waits for the root (fan-out), each later task for 3 tasks of the layer
// before (fan-in). Created through POST /v1/tasks/batch, a layer at a time.
awaitable<long> build_dag(const Config& cfg, const std::string& type, int layers, int width, int types) {
  Conn c(co_await asio::this_coro::executor);
  auto ids_of = [](const Reply& r) {
    std::vector<std::string> ids;
    boost::system::error_code ec;
    json::value v = json::parse(r.body, ec);
    if (ec || !v.is_object() || !v.as_object().contains("taskIds")) return ids;
    for (const json::value& id : v.as_object().at("taskIds").as_array()) ids.emplace_back(id.as_string());
    return ids;
  };
  const std::string batch_target = "/v1/tasks/batch";
  std::string root_body = R"({"tasks":[)" + create_body(type + "_0", 0) + "]}";
  Reply root = co_await exchange(c, cfg, http::verb::post, batch_target, std::move(root_body), cfg.timeout);
  std::vector<std::string> previous = ids_of(root);
  long created = static_cast<long>(previous.size());
  std::mt19937 random(11);
  for (int layer = 1; layer <= layers && !previous.empty(); ++layer) {
    json::array items;
    for (int i = 0; i < width; ++i) {
      json::array on;
      for (int k = 0; k < std::min<int>(3, static_cast<int>(previous.size())); ++k) {
        on.emplace_back(previous[(static_cast<std::size_t>(i) + k * 7 + random() % 5) % previous.size()]);
      }
      items.push_back(json::object{{"type", type + "_" + std::to_string((layer * width + i) % types)},
                                   {"payload", json::object{{"n", i}}}, {"depends_on", on}});
    }
    std::string body = json::serialize(json::object{{"tasks", items}});
    Reply r = co_await exchange(c, cfg, http::verb::post, batch_target, std::move(body), 60s);
    previous = ids_of(r);
    created += static_cast<long>(previous.size());
  }
  co_return created;
}

// Polls claim of cfg.type every 10 ms until one returns a task or `deadline` passes.
awaitable<bool> claim_check(const Config& cfg, Clock::time_point deadline, int& attempts, int& last_status) {
  Conn c(co_await asio::this_coro::executor);
  const std::string body = json::serialize(json::object{{"type", cfg.type}, {"worker_id", "claim-check"}});
  while (Clock::now() < deadline) {
    auto left = std::max<Clock::duration>(deadline - Clock::now(), 1ms);
    Reply r = co_await exchange(c, cfg, http::verb::post, "/v1/tasks/claim", body, std::min(cfg.timeout, left));
    ++attempts;
    last_status = r.status;
    if (r.status == 200) {
      Claimed cl = parse_claim(r.body);
      if (cl.ok && !cl.empty) co_return true;
    }
    co_await pause(10ms);
  }
  co_return false;
}

awaitable<Reply> one_request(const Config& cfg, http::verb verb, std::string target, std::string body) {
  Conn c(co_await asio::this_coro::executor);
  co_return co_await exchange(c, cfg, verb, std::move(target), std::move(body), cfg.timeout);
}

// Runs a single coroutine to completion on a private io_context.
template <class T>
T run_one(awaitable<T> a) {
  asio::io_context io;
  std::optional<T> out;
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
  });
  io.run();
  return std::move(*out);
}

void run_io(asio::io_context& io) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "baton-bench: worker failed: %s\n", e.what());
    }
  }
}

// Spawns cfg.workers coroutines make(stats, k) over cfg.threads io_contexts, runs them
// all to completion and returns the merged statistics.
template <class Make>
Stats run_workers(const Config& cfg, Make make) {
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<Stats> stats(static_cast<std::size_t>(cfg.threads));
  for (int t = 0; t < cfg.threads; ++t) ios.push_back(std::make_unique<asio::io_context>(1));
  for (int k = 0; k < cfg.workers; ++k) {
    auto t = static_cast<std::size_t>(k % cfg.threads);
    asio::co_spawn(*ios[t], make(stats[t], k), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
  }
  std::vector<std::thread> threads;
  for (std::size_t t = 1; t < ios.size(); ++t) threads.emplace_back([&ios, t] { run_io(*ios[t]); });
  run_io(*ios[0]);
  for (auto& th : threads) th.join();
  for (std::size_t t = 1; t < stats.size(); ++t) stats[0].merge(stats[t]);
  return std::move(stats[0]);
}

// Server pids: --pid, else whoever listens on the URL's port.
std::vector<int> server_pids(const Config& cfg) {
  if (cfg.pid > 0) return {cfg.pid};
  return bench::pids_for_inodes(bench::listen_inodes(cfg.ep.port()));
}

void report_rss(Report& rep, const Config& cfg, const std::string& when) {
  auto pids = server_pids(cfg);
  auto rss = bench::rss_kb(pids);
  if (!rss) {
    std::printf("rss: unknown\n");
    rep.raw("rss_" + when + "_kb", "null");
    return;
  }
  std::string list, arr;
  for (int p : pids) list += (list.empty() ? "" : " ") + std::to_string(p), arr += (arr.empty() ? "" : ",") + std::to_string(p);
  std::printf("server pid: %s\n", list.c_str());
  rep.raw("server_pids", "[" + arr + "]");
  rep.num("rss " + when + " kB", static_cast<double>(*rss), 0);
}

// Server and load-generator CPU seconds used inside a phase's measured window, read from
// /proc by a thread that wakes at the window's edges: tells what one request costs each
// side (both share this machine's cores).
class CpuWindow {
 public:
  CpuWindow(std::vector<int> pids, Window w)
      : thread_([this, pids = std::move(pids), w] {
          std::this_thread::sleep_until(w.start);
          auto s0 = bench::cpu_seconds(pids), b0 = bench::cpu_seconds(0);
          std::this_thread::sleep_until(w.end);
          auto s1 = bench::cpu_seconds(pids), b1 = bench::cpu_seconds(0);
          if (s0 && s1) server_ = *s1 - *s0;
          if (b0 && b1) bench_ = *b1 - *b0;
        }) {}
  ~CpuWindow() {
    if (thread_.joinable()) thread_.join();
  }
  // Prints "<phase> server/bench CPU us/request"; call after the phase's workers ended.
  void report(Report& rep, const std::string& phase, std::uint64_t requests) {
    thread_.join();
    auto per_request = [&](std::optional<double> seconds) -> std::optional<double> {
      if (!seconds || requests == 0) return std::nullopt;
      return *seconds * 1e6 / static_cast<double>(requests);
    };
    rep.num(phase + " server CPU us/request", per_request(server_), 1);
    rep.num(phase + " bench CPU us/request", per_request(bench_), 1);
  }

 private:
  std::optional<double> server_, bench_;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  const auto t_start = Clock::now();
  Config cfg;
  std::string key;
  double timeout_s = 5;
  po::options_description desc(kUsage, 100);
  desc.add_options()("help,h", "print this help and exit")(
      "url", po::value(&cfg.url)->default_value("http://127.0.0.1:7420"),
      "server base URL, http://HOST[:PORT][/PREFIX]; HOST must be a loopback address or localhost")(
      "key", po::value(&key), "API key to use (Bearer); default: register a new account via POST /v1/keys/register")(
      "workers,w", po::value(&cfg.workers)->default_value(64), "concurrent keep-alive connections (1-10000)")(
      "seconds,s", po::value(&cfg.seconds)->default_value(10), "measured duration of each phase, seconds")(
      "warmup", po::value(&cfg.warmup)->default_value(2), "unmeasured warm-up before each phase, seconds")(
      "threads,t", po::value(&cfg.threads)->default_value(1), "load-generator threads, one io_context each (1-64)")(
      "types", po::value(&cfg.types)->default_value(1),
      "task types in the lifecycle phase (1-1000); worker k uses type k mod N, so N > 1 spreads the queues over shards")(
      "typeless", po::bool_switch(&cfg.typeless),
      "lifecycle claims name no type: each takes the account's best task of any type, across shards")(
      "timeout", po::value(&timeout_s)->default_value(5), "per connect/write/read timeout, seconds")(
      "pid", po::value(&cfg.pid), "server pid for RSS; default: the process listening on the URL's port")(
      "preload", po::value(&cfg.preload), "create N pending tasks of --type instead of the two phases")(
      "type", po::value(&cfg.type)->default_value("preload"), "task type for --preload and --claim-check")(
      "claim-check", po::bool_switch(&cfg.claim_check), "time from start to the first successful claim of --type")(
      "mcp", po::bool_switch(&cfg.mcp), "add a phase running the lifecycle as MCP tool calls on POST /mcp")(
      "workflow", po::bool_switch(&cfg.workflow),
      "add the workflow phases: single against batch creates (100) and claims (10), then a DAG of 10 000 tasks "
      "and its release latency (from the server's /health)")(
      "next", po::bool_switch(&cfg.next),
      "lifecycle completes carry claim_next and take the answer's next task (two requests per task)")(
      "limited-plan", po::value(&cfg.limited_plan),
      "add the limits phases: the lifecycle in an account on this plan (made with --admin-key), "
      "between two lifecycle phases of the unlimited account; the figure is its rate over theirs")(
      "admin-key", po::value(&cfg.admin_key), "the server's admin key, for --limited-plan")(
      "history", po::value(&cfg.history),
      "add the history phases: listings and the lifecycle measured, then N completed tasks made "
      "(batches of 100), then the same measured again; the figures are after/before ratios; with "
      "--rate, open-loop phases at that rate before and after give the claim p99 ratio (without it, the "
      "lifecycle's claims do)")(
      "depth", po::value(&cfg.depth),
      "add the depth phases: the lifecycle of one type with 1000 of its tasks pending, then with N "
      "(made in batches of 100); claims take the oldest, creates refill, so each phase holds its depth; "
      "the figure is the claim p99 deep/shallow ratio; with --rate, the two phases are open-loop at that rate")(
      "rate", po::value(&cfg.rate),
      "add an open-loop phase: lifecycle requests at R requests/s (R/3 task cycles/s), with at most --workers connections")(
      "streams", po::value(&cfg.streams),
      "add the log stream phases: the lifecycle with N idle log streams (Server-Sent Events) open, "
      "between two without; then 200 lines appended one by one to a task with --fan-out subscribers, "
      "each timed until every subscriber read it")(
      "fan-out", po::value(&cfg.fan_out)->default_value(100), "subscribers of the fan-out phase (1-10000)")(
      "schedules", po::value(&cfg.schedules),
      "instead of the phases: the server's CPU over a minute idle, then with N schedules firing "
      "every minute (made in accounts of 1000, the default schedules.max_per_account)")(
      "scrape-metrics", po::bool_switch(&cfg.scrape_metrics),
      "add the metrics phases: the lifecycle with GET /metrics (with --admin-key) scraped every "
      "second, between two without")(
      "json", po::bool_switch(&cfg.json), "also print the final figures as one JSON line");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).positional({}).run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "baton-bench: %s (see --help)\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  auto bad = [](const std::string& m) {
    std::fprintf(stderr, "baton-bench: %s (see --help)\n", m.c_str());
    return 2;
  };
  std::string err;
  auto url = bench::parse_url(cfg.url, err);
  if (!url) return bad("bad --url: " + err);
  beast::error_code ec;
  auto addr = asio::ip::make_address(url->host == "localhost" ? "127.0.0.1" : url->host, ec);
  if (ec || !addr.is_loopback()) return bad("--url host must be a loopback IP address or localhost");
  cfg.ep = {addr, static_cast<unsigned short>(url->port)};
  cfg.host_header = (addr.is_v6() ? "[" + url->host + "]" : url->host) + ":" + std::to_string(url->port);
  cfg.prefix = url->prefix;
  cfg.stream_target = bench::StreamTarget{addr.to_string(), static_cast<int>(url->port), cfg.host_header,
                                          cfg.prefix, {}};
  if (cfg.workers < 1 || cfg.workers > 10000) return bad("--workers must be 1-10000");
  if (cfg.threads < 1 || cfg.threads > 64) return bad("--threads must be 1-64");
  if (cfg.types < 1 || cfg.types > 1000) return bad("--types must be 1-1000");
  if (!(cfg.seconds > 0 && cfg.seconds <= 86400)) return bad("--seconds must be > 0");
  if (!(cfg.warmup >= 0 && cfg.warmup <= 86400)) return bad("--warmup must be >= 0");
  if (!(timeout_s > 0 && timeout_s <= 3600)) return bad("--timeout must be > 0");
  if (vm.count("pid") && cfg.pid <= 0) return bad("--pid must be positive");
  if (!cfg.limited_plan.empty() && cfg.admin_key.empty()) return bad("--limited-plan needs --admin-key");
  if (cfg.scrape_metrics && cfg.admin_key.empty()) return bad("--scrape-metrics needs --admin-key");
  if (vm.count("preload") && cfg.preload < 1) return bad("--preload must be >= 1");
  if (vm.count("streams") && (cfg.streams < 1 || cfg.streams > 100000)) return bad("--streams must be 1-100000");
  if (cfg.fan_out < 1 || cfg.fan_out > 10000) return bad("--fan-out must be 1-10000");
  if (vm.count("depth") && (cfg.depth < 1000 || cfg.depth > 100000000)) return bad("--depth must be 1000-100000000");
  if (cfg.depth > 0 && cfg.types != 1) return bad("--depth needs --types 1 (its phases fill one type)");
  if (vm.count("rate") && !(cfg.rate >= 3 && cfg.rate <= 1e6)) return bad("--rate must be 3-1000000 requests/s");
  if (!bench::valid_type(cfg.type)) return bad("--type must be 1-100 chars of [A-Za-z0-9_-]");
  if (cfg.claim_check && key.empty() && !cfg.preload) return bad("--claim-check needs --key or --preload");
  cfg.timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  auto secs = [](double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); };

  Report rep;
  rep.text("url", cfg.url);
  int rc = 0;
  auto do_claim_check = [&] {
    int attempts = 0, last = 0;
    bool ok = run_one(claim_check(cfg, t_start + 60s, attempts, last));
    rep.num("claim-check attempts", attempts, 0);
    if (ok) {
      rep.num("claim-check ms", std::chrono::duration<double, std::milli>(Clock::now() - t_start).count(), 1);
    } else {
      rep.raw("claim_check_ms", "null");
      std::printf("claim-check: timeout after 60 s (last status %d)\n", last);
      rc = 1;
    }
  };

  if (cfg.claim_check && !cfg.preload) {  // restart-to-serving: the server may not be up yet
    cfg.auth = "Bearer " + key;
    do_claim_check();
    report_rss(rep, cfg, "after");
  } else {
    report_rss(rep, cfg, "before");
    if (key.empty()) {
      Reply r = run_one(one_request(cfg, http::verb::post, "/v1/keys/register", "{}"));
      if (r.status == 0) {
        std::fprintf(stderr, "baton-bench: server unreachable at %s\n", cfg.url.c_str());
        return 1;
      }
      boost::system::error_code jec;
      json::value v = json::parse(r.body, jec);
      const json::value* k = (!jec && v.is_object()) ? v.as_object().if_contains("apiKey") : nullptr;
      if (r.status != 201 || !k || !k->is_string()) {
        std::fprintf(stderr, "baton-bench: registration failed: HTTP %d %s\n", r.status, r.body.c_str());
        return 1;
      }
      key = k->as_string();
      rep.text("api key", key);
    } else if (run_one(one_request(cfg, http::verb::get, "/health", {})).status == 0) {
      std::fprintf(stderr, "baton-bench: server unreachable at %s\n", cfg.url.c_str());
      return 1;
    }
    cfg.auth = "Bearer " + key;
    rep.num("workers", cfg.workers, 0);
    rep.num("threads", cfg.threads, 0);

    if (cfg.schedules > 0) {
      // A minute of the idle server's CPU, then N schedules (cron "* * * * *", 1000 per
      // account, types spread over the shards), then a minute of it again: what the
      // firings cost beyond idling. Each window holds one minute boundary, so each
      // schedule fires once in it.
      auto idle_cpu = [&](const std::string& name) {
        auto pids = server_pids(cfg);
        auto s0 = bench::cpu_seconds(pids);
        std::this_thread::sleep_for(60s);
        auto s1 = bench::cpu_seconds(pids);
        double percent = s0 && s1 ? (*s1 - *s0) / 60.0 * 100.0 : -1;
        rep.num(name + " server CPU % of a core", percent, 2);
        return percent;
      };
      double before = idle_cpu("idle");
      std::vector<std::string> keys;
      int made = 0, refused = 0;
      for (int i = 0; i < cfg.schedules; ++i) {
        if (i % 1000 == 0) {
          Reply r = run_one(one_request(cfg, http::verb::post, "/v1/keys/register", "{}"));
          boost::system::error_code jec;
          json::value v = json::parse(r.body, jec);
          if (r.status != 201 || jec) {
            std::fprintf(stderr, "baton-bench: registration failed: HTTP %d %s\n", r.status, r.body.c_str());
            return 1;
          }
          keys.push_back("Bearer " + std::string(v.at("apiKey").as_string()));
        }
        Config as = cfg;
        as.auth = keys.back();
        std::string body = json::serialize(json::object{
            {"cron", "* * * * *"},
            {"task", json::object{{"type", "sched_" + std::to_string(i % 64)}, {"payload", json::object{}}}}});
        Reply r = run_one(one_request(as, http::verb::post, "/v1/schedules", body));
        if (r.status == 201) {
          ++made;
        } else {
          ++refused;
        }
      }
      rep.num("schedules made", made, 0);
      rep.num("schedules refused", refused, 0);
      double with = idle_cpu("with schedules");
      // The firings seen: each account's tasks created in the last minute.
      long created = 0;
      for (const std::string& auth : keys) {
        Config as = cfg;
        as.auth = auth;
        Reply r = run_one(one_request(as, http::verb::get, "/v1/queues", {}));
        boost::system::error_code jec;
        json::value v = json::parse(r.body, jec);
        if (jec || !v.is_object()) continue;
        for (const json::value& q : v.at("queues").as_array()) created += q.at("created_per_minute").as_int64();
      }
      rep.num("tasks created in the last minute", static_cast<double>(created), 0);
      rep.num("CPU added, % of a core", before >= 0 && with >= 0 ? std::optional<double>(with - before) : std::nullopt, 2);
      report_rss(rep, cfg, "after");
    } else if (cfg.preload) {
      std::atomic<long> next{0};
      std::atomic<bool> stop{false};
      auto t0 = Clock::now();
      Stats st = run_workers(cfg, [&](Stats& s, int) { return preload_worker(cfg, s, next, stop); });
      double el = std::chrono::duration<double>(Clock::now() - t0).count();
      rep.text("preload type", cfg.type);
      rep.num("preload requested", static_cast<double>(cfg.preload), 0);
      rep.num("preload created", static_cast<double>(st.cycles), 0);
      rep.num("preload seconds", el, 3);
      rep.num("preload tasks/s", static_cast<double>(st.cycles) / el, 0);
      rep.ops(st, {CREATE});
      rep.num("preload errors", static_cast<double>(st.errors), 0);
      report_rss(rep, cfg, "after");
      if (stop) rc = 1;
      if (cfg.claim_check) do_claim_check();
    } else {
      auto start = Clock::now() + secs(cfg.warmup);
      Window w{start, start + secs(cfg.seconds)};
      CpuWindow health_cpu(server_pids(cfg), w);
      Stats h = run_workers(cfg, [&](Stats& s, int) { return health_worker(cfg, s, w); });
      double health_rps = static_cast<double>(h.requests) / cfg.seconds;
      rep.num("health requests/s", health_rps, 0);
      rep.ops(h, {HEALTH});
      rep.num("health errors", static_cast<double>(h.errors), 0);
      health_cpu.report(rep, "health", h.requests);

      std::random_device rd;
      char rnd[17];
      std::snprintf(rnd, sizeof rnd, "%08x%08x", rd(), rd());
      const std::string type = std::string("bench_") + rnd;
      rep.text("lifecycle type", type);
      rep.num("lifecycle types", cfg.types, 0);
      if (cfg.typeless) rep.text("lifecycle claims", "typeless");
      // One measured phase of create -> claim -> complete cycles; figures named `name`
      // (per operation with `op_prefix`). Returns its requests/s.
      Stats last_cycle;  // the last cycle phase's, for figures drawn from two phases
      auto cycle_phase = [&](const std::string& name, const std::string& op_prefix,
                             const std::string& phase_type, auto worker) {
        auto phase_start = Clock::now() + secs(cfg.warmup);
        Window window{phase_start, phase_start + secs(cfg.seconds)};
        CpuWindow cpu(server_pids(cfg), window);
        Stats st = run_workers(cfg, [&](Stats& s, int k) {
          std::string worker_type = phase_type;
          if (cfg.types > 1) worker_type += "_" + std::to_string(k % cfg.types);
          return worker(cfg, s, window, k, worker_type);
        });
        double rps = static_cast<double>(st.requests) / cfg.seconds;
        rep.num(name + " tasks/s", static_cast<double>(st.cycles) / cfg.seconds, 0);
        rep.num(name + " requests/s", rps, 0);
        rep.ops(st, {CREATE, CLAIM, COMPLETE}, op_prefix);
        rep.num(name + " empty claims", static_cast<double>(st.empty_claims), 0);
        rep.num(name + " errors", static_cast<double>(st.errors), 0);
        cpu.report(rep, name, st.requests);
        last_cycle = std::move(st);
        return rps;
      };
      double life_rps = cycle_phase("lifecycle", "", type, lifecycle_worker);
      report_rss(rep, cfg, "after");
      rep.num("lifecycle/health ratio",
              health_rps > 0 ? std::optional<double>(life_rps / health_rps) : std::nullopt, 3);
      if (cfg.streams > 0) {
        // A task of this account to follow, created and claimed here; its lease token for
        // the appends.
        auto claimed_task = [&](const std::string& of_type) -> std::pair<std::string, std::string> {
          Reply made = run_one(one_request(cfg, http::verb::post, "/v1/tasks",
                                           json::serialize(json::object{{"type", of_type}, {"payload", json::object{}},
                                                                        {"leaseDurationSeconds", 3600}})));
          boost::system::error_code jec;
          json::value created = json::parse(made.body, jec);
          if (made.status != 201 || jec) throw std::runtime_error("create failed: " + made.body);
          std::string id(created.at("task").at("id").as_string());
          Reply claim = run_one(one_request(cfg, http::verb::post, "/v1/tasks/" + id + "/claim",
                                            R"({"worker_id":"streams"})"));
          json::value claimed = json::parse(claim.body, jec);
          if (claim.status != 200 || jec) throw std::runtime_error("claim failed: " + claim.body);
          return {id, std::string(claimed.at("task").at("leaseToken").as_string())};
        };
        bench::StreamTarget target = cfg.stream_target;
        target.auth = cfg.auth;
        auto [idle_task, idle_token] = claimed_task(type + "_followed");
        double none_rps = cycle_phase("streams none", "none ", type + "_none", lifecycle_worker);
        double open_rps = 0;
        {
          bench::IdleStreams idle(target, idle_task, cfg.streams);
          rep.num("idle streams", idle.open(), 0);
          report_rss(rep, cfg, "with idle streams");
          open_rps = cycle_phase("streams open", "open ", type + "_open", lifecycle_worker);
        }
        double again_rps = cycle_phase("streams again", "again ", type + "_again", lifecycle_worker);
        double without = (none_rps + again_rps) / 2;
        rep.num("streams open/none ratio", without > 0 ? std::optional<double>(open_rps / without) : std::nullopt, 3);

        auto [fan_task, fan_token] = claimed_task(type + "_fan_out");
        std::string append_body = json::serialize(json::object{
            {"lease_token", fan_token},
            {"lines", json::array{json::object{{"message", "one line for every subscriber"}}}}});
        bench::FanOut fan = bench::measure_fan_out(target, fan_task, cfg.fan_out, 200, [&] {
          return run_one(one_request(cfg, http::verb::post, "/v1/tasks/" + fan_task + "/logs", append_body)).status == 200;
        });
        rep.num("fan-out subscribers", fan.subscribers, 0);
        rep.num("fan-out lines", static_cast<double>(fan.all_us.size()), 0);
        rep.num("fan-out all p50 ms", percentile_ms(fan.all_us, 0.50), 3);
        rep.num("fan-out all p99 ms", percentile_ms(fan.all_us, 0.99), 3);
        rep.num("fan-out each p99 ms", percentile_ms(fan.each_us, 0.99), 3);
        rep.num("fan-out missing", fan.missing, 0);
      }
      if (cfg.scrape_metrics) {
        // A scrape of /metrics every second, as Prometheus makes it, against none: the
        // lifecycle before and after, so that drift over the run cancels.
        Config admin = cfg;
        admin.auth = "Bearer " + cfg.admin_key;
        double none_rps = cycle_phase("scrape none", "unscraped ", type + "_unscraped", lifecycle_worker);
        std::atomic<bool> scraping{true};
        std::vector<double> scrape_us;
        std::size_t scrape_bytes = 0;
        int scrape_errors = 0;
        std::thread scraper([&] {
          while (scraping.load()) {
            auto began = Clock::now();
            Reply r = run_one(one_request(admin, http::verb::get, "/metrics", {}));
            scrape_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - began).count());
            if (r.status != 200) ++scrape_errors;
            scrape_bytes = r.body.size();
            for (int i = 0; i < 100 && scraping.load(); ++i) std::this_thread::sleep_for(10ms);
          }
        });
        double scraped_rps = cycle_phase("scrape on", "scraped ", type + "_scraped", lifecycle_worker);
        scraping = false;
        scraper.join();
        double again_rps = cycle_phase("scrape again", "unscraped again ", type + "_unscraped_again", lifecycle_worker);
        double without = (none_rps + again_rps) / 2;
        rep.num("scrapes", static_cast<double>(scrape_us.size()), 0);
        rep.num("scrape errors", scrape_errors, 0);
        rep.num("scrape bytes", static_cast<double>(scrape_bytes), 0);
        rep.num("scrape p50 ms", percentile_ms(scrape_us, 0.50), 3);
        rep.num("scraped/unscraped ratio", without > 0 ? std::optional<double>(scraped_rps / without) : std::nullopt, 3);
      }
      if (!cfg.limited_plan.empty()) {
        // Limits counted on every request (an account whose plan limits every class, far
        // above what the run makes), against no limits: the unlimited account's lifecycle
        // before and after, so that drift over the run cancels.
        Config admin = cfg;
        admin.auth = "Bearer " + cfg.admin_key;
        Reply made = run_one(one_request(admin, http::verb::post, "/v1/admin/accounts",
                                         json::serialize(json::object{{"plan", cfg.limited_plan}})));
        boost::system::error_code jec;
        json::value v = json::parse(made.body, jec);
        if (made.status != 201 || jec || !v.is_object() || !v.as_object().contains("apiKey")) {
          std::fprintf(stderr, "baton-bench: no account on plan %s: HTTP %d %s\n",
                       cfg.limited_plan.c_str(), made.status, made.body.c_str());
          return 1;
        }
        std::string unlimited_auth = cfg.auth;
        cfg.auth = "Bearer " + std::string(v.as_object().at("apiKey").as_string());
        double limited_rps = cycle_phase("limited", "limited ", type + "_limited", lifecycle_worker);
        cfg.auth = unlimited_auth;
        double again_rps = cycle_phase("lifecycle again", "again ", type + "_again", lifecycle_worker);
        double unlimited_rps = (life_rps + again_rps) / 2;
        rep.num("limited/unlimited ratio",
                unlimited_rps > 0 ? std::optional<double>(limited_rps / unlimited_rps) : std::nullopt, 3);
      }
      // An open-loop phase: lifecycle requests at --rate, of `phase_type`; figures named
      // `name`.
      auto rate_phase = [&](const std::string& name, const std::string& phase_type) {
        auto phase_start = Clock::now() + secs(cfg.warmup);
        Window window{phase_start, phase_start + secs(cfg.seconds)};
        CpuWindow cpu(server_pids(cfg), window);
        asio::io_context io(1);
        Stats st;
        ConnectionPool pool(io.get_executor(), cfg.workers);
        json::object claim{{"worker_id", "rate"}, {"type", phase_type}};
        RateRun run{cfg, st, window, pool, phase_type, json::serialize(claim)};
        CommitCounters before, after;
        auto at_edges = std::thread([&] {
          std::this_thread::sleep_until(window.start);
          before = commit_counters(run_one(one_request(cfg, http::verb::get, "/health", {})));
          std::this_thread::sleep_until(window.end);
          after = commit_counters(run_one(one_request(cfg, http::verb::get, "/health", {})));
        });
        asio::co_spawn(io, rate_driver(run, Clock::now()), [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
        run_io(io);
        at_edges.join();
        rep.num(name + " target requests/s", cfg.rate, 0);
        rep.num(name + " requests/s", static_cast<double>(st.requests) / cfg.seconds, 0);
        rep.num(name + " tasks/s", static_cast<double>(st.cycles) / cfg.seconds, 0);
        rep.num(name + " connections", pool.opened(), 0);
        rep.ops(st, {CREATE, CLAIM, COMPLETE}, name + " ");
        rep.num(name + " empty claims", static_cast<double>(st.empty_claims), 0);
        rep.num(name + " errors", static_cast<double>(st.errors), 0);
        cpu.report(rep, name, st.requests);
        report_commit(rep, name, before, after);
        return st;
      };
      if (cfg.rate > 0) rate_phase("rate", type + "_rate");
      if (cfg.history > 0) {
        // Listings and claims as history grows: the same phases before and after N
        // terminal tasks of another type are made in this account. The listings are the
        // ones history feeds: every task newest first, and the completed ones.
        auto list_phase = [&](const std::string& name) {
          auto phase_start = Clock::now() + secs(cfg.warmup);
          Window window{phase_start, phase_start + secs(cfg.seconds)};
          Stats st = run_workers(cfg, [&](Stats& s, int k) {
            std::string target = k % 2 == 0 ? "/v1/tasks?limit=20" : "/v1/tasks?status=completed&limit=20";
            return list_worker(cfg, s, window, target);
          });
          rep.num(name + " requests/s", static_cast<double>(st.requests) / cfg.seconds, 0);
          rep.ops(st, {LIST}, name + " ");
          rep.num(name + " errors", static_cast<double>(st.errors), 0);
          return percentile_ms(st.lat_us[LIST], 0.99).value_or(0);
        };
        // The claims' latency: of the saturated lifecycle, and with --rate of an open loop
        // at that rate, which shows it without the queueing of a saturated server.
        auto claim_p99 = [](Stats st) { return percentile_ms(st.lat_us[CLAIM], 0.99); };
        // RocksDB flushes and compacts what a phase wrote for a while after: that is the
        // cost of making it, not of having it, so the measured phases start after a settle,
        // the saturated lifecycle last.
        constexpr auto kSettle = 15s;
        rep.num("settle seconds", std::chrono::duration<double>(kSettle).count(), 0);
        std::this_thread::sleep_for(kSettle);
        struct Side {
          double list_p99 = 0;
          std::optional<double> claim_p99;
          double cycle_rps = 0;
        };
        auto measure = [&](const std::string& side) {
          Side m;
          m.list_p99 = list_phase("list " + side);
          if (cfg.rate > 0) m.claim_p99 = claim_p99(rate_phase("rate " + side, type + "_rate_" + side));
          m.cycle_rps = cycle_phase("lifecycle " + side, side + " ", type + "_" + side, lifecycle_worker);
          if (cfg.rate == 0) m.claim_p99 = claim_p99(last_cycle);
          return m;
        };
        Side before = measure("before");
        std::atomic<long> left{cfg.history};
        auto t_history = Clock::now();
        Stats made = run_workers(cfg, [&](Stats& s, int) { return history_worker(cfg, s, left, type + "_history"); });
        double history_seconds = std::chrono::duration<double>(Clock::now() - t_history).count();
        rep.num("history tasks", static_cast<double>(made.cycles), 0);
        rep.num("history seconds", history_seconds, 1);
        report_rss(rep, cfg, "after history");
        std::this_thread::sleep_for(kSettle);
        Side after = measure("after");
        rep.num("claim p99 after/before ratio",
                before.claim_p99 && after.claim_p99 && *before.claim_p99 > 0
                    ? std::optional<double>(*after.claim_p99 / *before.claim_p99)
                    : std::nullopt,
                2);
        rep.num("list p99 after/before ratio",
                before.list_p99 > 0 ? std::optional<double>(after.list_p99 / before.list_p99) : std::nullopt, 2);
        rep.num("lifecycle after/before ratio",
                before.cycle_rps > 0 ? std::optional<double>(after.cycle_rps / before.cycle_rps) : std::nullopt, 3);
      }
      if (cfg.depth > 0) {
        // Claims as the backlog deepens. Each claim takes the backlog's oldest task and
        // each create adds one, so a phase runs at the depth made before it. With --rate,
        // the phases are open-loop at that rate: the claims' latency without queueing.
        constexpr long kShallow = 1000;
        const std::string deep = type + "_depth";
        auto fill = [&](long count, const std::string& name) {
          std::atomic<long> left{count};
          auto t0 = Clock::now();
          Stats made = run_workers(cfg, [&](Stats& s, int) { return backlog_worker(cfg, s, left, deep); });
          rep.num(name + " tasks made", static_cast<double>(made.cycles), 0);
          rep.num(name + " seconds", std::chrono::duration<double>(Clock::now() - t0).count(), 1);
          rep.num(name + " errors", static_cast<double>(made.errors), 0);
          // What making the backlog sets off in the storage (RocksDB's flushes and
          // compactions, PostgreSQL's autovacuum and checkpoints) is the cost of making
          // it, not of having it: it is left to end first.
          constexpr auto kSettle = 30s;
          rep.num(name + " settle seconds", std::chrono::duration<double>(kSettle).count(), 0);
          std::this_thread::sleep_for(kSettle);
        };
        fill(kShallow, "shallow backlog");
        auto depth_phase = [&](const std::string& name) {
          if (cfg.rate > 0) return rate_phase(name, deep);
          cycle_phase(name, name + " ", deep, lifecycle_worker);
          return std::move(last_cycle);
        };
        Stats shallow = depth_phase("shallow");
        std::optional<double> shallow_p99 = percentile_ms(shallow.lat_us[CLAIM], 0.99);
        fill(cfg.depth - kShallow, "deep backlog");
        Stats deeper = depth_phase("deep");
        std::optional<double> deep_p99 = percentile_ms(deeper.lat_us[CLAIM], 0.99);
        rep.num("claim p99 deep/shallow ratio",
                shallow_p99 && deep_p99 && *shallow_p99 > 0 ? std::optional<double>(*deep_p99 / *shallow_p99)
                                                            : std::nullopt,
                2);
      }
      if (cfg.workflow) {
        // Creates, one per request and 100 per batch, then claims, one per request and 10
        // per claim, each pair measured back to back: the ratios are the figures.
        auto create_phase = [&](const std::string& name, const std::string& phase_type, int batch) {
          auto phase_start = Clock::now() + secs(cfg.warmup);
          Window window{phase_start, phase_start + secs(cfg.seconds)};
          Stats st = run_workers(cfg, [&](Stats& s, int) { return create_worker(cfg, s, window, phase_type, batch); });
          double rate = static_cast<double>(st.cycles) / cfg.seconds;
          rep.num(name + " tasks/s", rate, 0);
          rep.ops(st, {CREATE}, name + " ");
          rep.num(name + " errors", static_cast<double>(st.errors), 0);
          return rate;
        };
        double single = create_phase("create single", type + "_one", 1);
        double batched = create_phase("create batch100", type + "_batch", 100);
        rep.num("create batch100/single ratio", single > 0 ? std::optional<double>(batched / single) : std::nullopt, 2);
        auto drain_phase = [&](const std::string& name, const std::string& phase_type, int batch) {
          std::atomic<Clock::rep> last{0};
          auto t0 = Clock::now();
          Stats st = run_workers(cfg, [&](Stats& s, int) { return drain_worker(cfg, s, phase_type, batch, last); });
          double elapsed = std::chrono::duration<double>(Clock::time_point(Clock::duration(last.load())) - t0).count();
          double rate = elapsed > 0 ? static_cast<double>(st.cycles) / elapsed : 0;
          rep.num(name + " tasks", static_cast<double>(st.cycles), 0);
          rep.num(name + " tasks/s", rate, 0);
          rep.ops(st, {CLAIM}, name + " ");
          rep.num(name + " errors", static_cast<double>(st.errors), 0);
          return rate;
        };
        double one = drain_phase("claim single", type + "_one", 1);
        double ten = drain_phase("claim batch10", type + "_batch", 10);
        rep.num("claim batch10/single ratio", one > 0 ? std::optional<double>(ten / one) : std::nullopt, 2);

        // The DAG runs in an account of its own: its typeless claims see only its tasks.
        // Fewer workers than the other phases: the figure is the release latency of a
        // DAG flowing at full speed, not of a server queueing 64 closed loops.
        Config dag = cfg;
        dag.workers = std::min(cfg.workers, 16);
        Reply r = run_one(one_request(cfg, http::verb::post, "/v1/keys/register", "{}"));
        boost::system::error_code jec;
        json::value v = json::parse(r.body, jec);
        if (!jec && v.is_object() && v.as_object().contains("apiKey")) {
          dag.auth = "Bearer " + std::string(v.as_object().at("apiKey").as_string());
        }
        auto t_build = Clock::now();
        long total = run_one(build_dag(dag, type + "_dag", 99, 101, 16));
        rep.num("dag tasks", static_cast<double>(total), 0);
        rep.num("dag build seconds", std::chrono::duration<double>(Clock::now() - t_build).count(), 2);
        std::atomic<long> done{0};
        auto t_run = Clock::now();
        Stats st = run_workers(dag, [&](Stats& s, int) { return dag_worker(dag, s, done, total); });
        rep.num("dag run seconds", std::chrono::duration<double>(Clock::now() - t_run).count(), 2);
        rep.num("dag completed", static_cast<double>(done.load()), 0);
        Reply health = run_one(one_request(cfg, http::verb::get, "/health", {}));
        json::value hv = json::parse(health.body, jec);
        if (!jec && hv.is_object() && hv.as_object().contains("dependencies")) {
          const json::object& d = hv.as_object().at("dependencies").as_object();
          rep.num("dag releases", static_cast<double>(d.at("released").to_number<double>()), 0);
          rep.num("dag release p50 ms", d.at("release_us").at("p50").to_number<double>() / 1000.0, 3);
          rep.num("dag release p99 ms", d.at("release_us").at("p99").to_number<double>() / 1000.0, 3);
        }
      }
      if (cfg.mcp) {
        double mcp_rps = cycle_phase("mcp", "mcp ", type + "_mcp", mcp_worker);
        rep.num("mcp/lifecycle ratio",
                life_rps > 0 ? std::optional<double>(mcp_rps / life_rps) : std::nullopt, 3);
      }
    }
  }
  if (cfg.json) std::printf("%s\n", rep.json_line().c_str());
  return rc;
}
