// baton-bench helpers that need no networking: URL parsing, statistics and percentiles,
// claim-answer parsing, report printing, the --help text, and finding the server process
// that listens on a port (/proc/net/tcp* + /proc/*/fd) and its VmRSS.
#pragma once

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

namespace bench {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

struct Url {
  std::string host;    // without brackets for IPv6
  unsigned port = 80;
  std::string prefix;  // path before /v1 and /health, without trailing '/'
};

// Parses http://host[:port][/prefix]. Returns nullopt (and sets err) on anything else.
inline std::optional<Url> parse_url(const std::string& s, std::string& err) {
  const std::string scheme = "http://";
  if (s.rfind(scheme, 0) != 0) {
    err = "only http:// URLs are supported";
    return std::nullopt;
  }
  std::string rest = s.substr(scheme.size());
  Url u;
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  if (slash != std::string::npos) u.prefix = rest.substr(slash);
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  std::string portstr;
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos) {
      err = "unbalanced '[' in host";
      return std::nullopt;
    }
    u.host = hostport.substr(1, close - 1);
    std::string tail = hostport.substr(close + 1);
    if (!tail.empty()) {
      if (tail[0] != ':') {
        err = "junk after ']'";
        return std::nullopt;
      }
      portstr = tail.substr(1);
    }
  } else {
    auto colon = hostport.find(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) portstr = hostport.substr(colon + 1);
  }
  if (u.host.empty()) {
    err = "missing host";
    return std::nullopt;
  }
  if (!portstr.empty()) {
    if (portstr.size() > 5 || !std::all_of(portstr.begin(), portstr.end(), ::isdigit)) {
      err = "bad port";
      return std::nullopt;
    }
    u.port = static_cast<unsigned>(std::stoul(portstr));
    if (u.port == 0 || u.port > 65535) {
      err = "bad port";
      return std::nullopt;
    }
  }
  return u;
}

// Nearest-rank percentile of samples in microseconds, in milliseconds. Reorders v.
inline std::optional<double> percentile_ms(std::vector<double>& v, double q) {
  if (v.empty()) return std::nullopt;
  auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  k = std::clamp<std::size_t>(k, 1, v.size());
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k - 1), v.end());
  return v[k - 1] / 1000.0;
}

// Socket inodes of TCP sockets in LISTEN state on `port` (any local address, v4 or v6).
inline std::set<std::string> listen_inodes(unsigned port) {
  std::set<std::string> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string sl, local, rem, st, txrx, trtm, retr, uid, timeout, inode;
      if (!(ss >> sl >> local >> rem >> st >> txrx >> trtm >> retr >> uid >> timeout >> inode)) continue;
      auto colon = local.rfind(':');
      if (colon == std::string::npos || st != "0A") continue;
      try {
        if (std::stoul(local.substr(colon + 1), nullptr, 16) == port && inode != "0") out.insert(inode);
      } catch (...) {
      }
    }
  }
  return out;
}

// Pids of processes holding one of the given socket inodes (needs permission to read
// their /proc/<pid>/fd; processes we may not inspect are skipped).
inline std::vector<int> pids_for_inodes(const std::set<std::string>& inodes) {
  namespace fs = std::filesystem;
  std::vector<int> pids;
  if (inodes.empty()) return pids;
  std::error_code ec;
  fs::directory_iterator procs("/proc", ec), end;
  for (; !ec && procs != end; procs.increment(ec)) {
    std::string name = procs->path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::error_code ec2;
    fs::directory_iterator fds(procs->path() / "fd", ec2);
    for (; !ec2 && fds != end; fds.increment(ec2)) {
      std::error_code ec3;
      std::string target = fs::read_symlink(fds->path(), ec3).string();
      if (ec3 || target.rfind("socket:[", 0) != 0) continue;
      if (inodes.count(target.substr(8, target.size() - 9))) {
        pids.push_back(std::stoi(name));
        break;
      }
    }
  }
  return pids;
}

// VmRSS of one process in kB, or nullopt.
inline std::optional<long> rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      try {
        return std::stol(line.substr(6));
      } catch (...) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

// CPU time (user + system) a process has used so far, in seconds, or nullopt. pid 0 is
// this process.
inline std::optional<double> cpu_seconds(int pid) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/stat") : "/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int index = 3; fields >> field; ++index) {  // field 3 is the state
    if (index == 14) utime = std::stoull(field);
    if (index == 15) {
      stime = std::stoull(field);
      return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return std::nullopt;
}

// Sum of `read(pid)` over pids (a server may be several processes sharing a port), or
// nullopt when any is unknown.
template <class T, class Read>
std::optional<T> sum_over(const std::vector<int>& pids, Read read) {
  if (pids.empty()) return std::nullopt;
  T sum = 0;
  for (int p : pids) {
    auto value = read(p);
    if (!value) return std::nullopt;
    sum += *value;
  }
  return sum;
}

inline std::optional<long> rss_kb(const std::vector<int>& pids) {
  return sum_over<long>(pids, [](int p) { return rss_kb(p); });
}

inline std::optional<double> cpu_seconds(const std::vector<int>& pids) {
  return sum_over<double>(pids, [](int p) { return cpu_seconds(p); });
}

// Lower-case snake_case JSON key for a human label: "claim p99 ms" -> "claim_p99_ms",
// "lifecycle tasks/s" -> "lifecycle_tasks_per_s".
inline std::string json_key(const std::string& label) {
  std::string out;
  for (std::size_t i = 0; i < label.size(); ++i) {
    char c = label[i];
    if (c == '/' && i + 1 < label.size() && label[i + 1] == 's' &&
        (i + 2 == label.size() || label[i + 2] == ' ')) {
      out += "_per_s";
      ++i;
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

inline bool valid_type(const std::string& t) {
  return !t.empty() && t.size() <= 100 && std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

enum Op { HEALTH, CREATE, CLAIM, COMPLETE, LIST, NOPS };
inline constexpr const char* kOpName[NOPS] = {"health", "create", "claim", "complete", "list"};

// One per thread; only that thread's io_context touches it.
struct Stats {
  std::array<std::vector<double>, NOPS> lat_us;   // latency of every answer, microseconds
  std::map<std::pair<int, int>, uint64_t> non2xx;  // (op, status) -> count
  uint64_t requests = 0, cycles = 0, empty_claims = 0, errors = 0;
  void merge(Stats& o) {
    for (int i = 0; i < NOPS; ++i) lat_us[i].insert(lat_us[i].end(), o.lat_us[i].begin(), o.lat_us[i].end());
    for (auto& [k, n] : o.non2xx) non2xx[k] += n;
    requests += o.requests, cycles += o.cycles, empty_claims += o.empty_claims, errors += o.errors;
  }
};

// The measured part of a phase; answers completing outside it are not recorded.
struct Window {
  Clock::time_point start, end;
  bool in(Clock::time_point t) const { return t >= start && t < end; }
};

inline std::string create_body(const std::string& type, uint64_t n) {
  return R"({"type":")" + type + R"(","payload":{"n":)" + std::to_string(n) + "}}";
}

struct Claimed {
  bool ok = false, empty = false;
  std::string id, token;
};

// The answer as Baton writes it: the task object first, its id the first member, the lease
// token a plain string. Reading just these two fields costs ~1 % of a full JSON parse
// (measured 41 k instructions per claim answer with boost::json::parse, most of the load
// generator's extra cost per lifecycle request, taken from the cores the server runs on).
// Anything else (another layout, escapes, a null task) goes to the full parse.
inline bool parse_claim_fast(std::string_view body, Claimed& c) {
  constexpr std::string_view kHead = R"({"task":{"id":")", kToken = R"("leaseToken":")";
  if (!body.starts_with(kHead)) return false;
  std::size_t id_end = body.find('"', kHead.size());
  if (id_end == std::string_view::npos) return false;
  std::string id(body.substr(kHead.size(), id_end - kHead.size()));
  if (!valid_type(id)) return false;
  std::size_t at = body.find(kToken, id_end);
  std::string token;
  if (at != std::string_view::npos) {
    std::size_t from = at + kToken.size(), to = body.find('"', from);
    if (to == std::string_view::npos) return false;
    token = body.substr(from, to - from);
    if (!valid_type(token)) return false;
  }
  c.ok = true;
  c.id = std::move(id);
  c.token = std::move(token);
  return true;
}

// A claim_task tool result over MCP: its structuredContent is the HTTP claim answer.
inline Claimed parse_mcp_claim(std::string_view body) {
  Claimed c;
  constexpr std::string_view kContent = R"("structuredContent":)";
  std::size_t at = body.find(kContent);
  if (at == std::string_view::npos) return c;
  std::string_view answer = body.substr(at + kContent.size());
  if (answer.starts_with(R"({"task":null)")) {
    c.ok = c.empty = true;
    return c;
  }
  parse_claim_fast(answer, c);
  return c;
}

inline Claimed parse_claim(const std::string& body) {
  Claimed c;
  if (parse_claim_fast(body, c)) return c;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return c;
  const json::value* t = v.as_object().if_contains("task");
  if (!t) return c;
  if (t->is_null()) {
    c.ok = c.empty = true;
    return c;
  }
  if (!t->is_object()) return c;
  const json::value* id = t->as_object().if_contains("id");
  const json::value* tok = t->as_object().if_contains("leaseToken");
  if (!id || !id->is_string() || !valid_type(std::string(id->as_string()))) return c;
  c.id = id->as_string();
  if (tok && tok->is_string()) c.token = tok->as_string();
  c.ok = true;
  return c;
}

// The `next` claim of a complete answered with claim_next (ok false when it has none).
inline Claimed parse_next(const std::string& body) {
  constexpr std::string_view kNext = R"(,"next":)";
  std::size_t at = body.rfind(kNext);
  if (at == std::string::npos || body.size() < at + kNext.size() + 1) return {};
  return parse_claim(body.substr(at + kNext.size(), body.size() - at - kNext.size() - 1));
}

// Prints "label: value" lines and collects the same figures for --json, in order; a
// figure set twice keeps its first position and its last value.
struct Report {
  std::vector<std::pair<std::string, std::string>> fields;  // key, JSON text of the value
  void raw(const std::string& key, std::string v) {
    for (auto& f : fields)
      if (f.first == key) {
        f.second = std::move(v);
        return;
      }
    fields.emplace_back(key, std::move(v));
  }
  void num(const std::string& label, std::optional<double> v, int prec) {
    char buf[64] = "null";
    if (v) std::snprintf(buf, sizeof buf, "%.*f", prec, *v);
    std::printf("%s: %s\n", label.c_str(), v ? buf : "n/a");
    std::fflush(stdout);
    raw(json_key(label), buf);
  }
  void text(const std::string& label, const std::string& v) {
    std::printf("%s: %s\n", label.c_str(), v.c_str());
    std::fflush(stdout);
    raw(json_key(label), json::serialize(json::value(v)));
  }
  std::string json_line() const {
    std::string out = "{";
    for (auto& [k, v] : fields) {
      if (out.size() > 1) out += ',';
      out += json::serialize(json::value(k));
      out += ':';
      out += v;
    }
    return out + "}";
  }
  // `prefix` names a second run of the same operations ("mcp ").
  void ops(Stats& st, std::initializer_list<Op> list, const std::string& prefix = {}) {
    for (Op op : list) {
      const std::string n = prefix + kOpName[op];
      num(n + " p50 ms", percentile_ms(st.lat_us[op], 0.50), 3);
      num(n + " p99 ms", percentile_ms(st.lat_us[op], 0.99), 3);
      num(n + " p999 ms", percentile_ms(st.lat_us[op], 0.999), 3);
    }
    for (auto& [k, n] : st.non2xx) num(prefix + kOpName[k.first] + " non-2xx " + std::to_string(k.second), n, 0);
  }
};

inline const char* const kUsage = R"(baton-bench - load generator for a running Baton server (loopback only)

Usage: baton-bench [options]

Default run: register an account (or use --key), then
  1. baseline:  --workers keep-alive connections loop GET /health;
  2. lifecycle: --workers connections each loop create -> claim -> complete on a task
     type unique to this run (bench_<random>); an empty claim is counted, not an error.
Each phase runs --warmup seconds unmeasured, then --seconds measured. Printed: the
server's VmRSS before and after, requests/s, tasks/s (completed cycles), latency
p50/p99/p999 per operation (every HTTP answer counts, including non-2xx), non-2xx
answers per operation and status, transport errors (connect/read/write failures and
timeouts; the connection is then re-opened), and lifecycle requests/s / health requests/s.
--mcp adds a third phase: the same cycle as MCP tool calls (create_task, claim_task,
complete_task) on POST /mcp, one session per connection, and prints its rate beside the
HTTP lifecycle's as mcp/lifecycle ratio (a tool result with isError counts as non-2xx 409).
--next makes the lifecycle's completes carry claim_next (the worker's claim fields): the
answer's next task is the worker's next, so a busy worker sends create -> complete, two
requests per task, and claims only when next was empty.
--rate R adds an open-loop phase after the lifecycle: task cycles (create -> claim ->
complete) start at fixed times, R/3 per second (R requests/s), whatever the answers do,
each on an idle connection of a pool of at most --workers. A create's latency counts from
the time its cycle was due, so a server that falls behind shows in the percentiles rather
than slowing the load. Printed with the prefix "rate": the requests/s reached, latency
per operation, and the server's and baton-bench's CPU per request at that rate.
The server's plan limits (workers, creates/claims per hour, monthly quota) must allow
the load, or the lifecycle phase measures 402/429 answers.

--preload N replaces both phases: create N pending tasks of --type with --workers
connections, print the rate and RSS after. --claim-check measures the time from the
start of baton-bench until a claim of --type first returns a task (polling every 10 ms,
up to 60 s; the server may still be starting); after --preload it runs last, otherwise
it needs --key of the account that owns the tasks.

Output: one "name: value" line per figure (ms latencies, kB RSS), "rss: unknown" when
the server process cannot be found; --json adds one JSON line with the same figures.
Exit status: 0 success, 1 server unreachable (or registration refused, or claim-check
timed out), 2 bad flags.

Options)";

}  // namespace bench
