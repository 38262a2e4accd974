#include "config/config_table.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <optional>

namespace baton::config_table {

// Extra checks of string values, each "" or what is wrong.
static std::string check_listen(std::string_view text);
// An origin as browsers send it: scheme://host[:port], nothing after.
static std::string check_origin(std::string_view text) {
  std::size_t scheme = text.find("://");
  if (scheme == std::string_view::npos || scheme == 0 || scheme + 3 >= text.size() ||
      text.find('/', scheme + 3) != std::string_view::npos ||
      text.find_first_of(" \t,") != std::string_view::npos) {
    return "expected an origin such as https://example.com or http://localhost:6274";
  }
  return "";
}
std::string check_plan_name(std::string_view text) {
  if (text.empty() || text.size() > 32 ||
      text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string_view::npos) {
    return "expected a plan name: 1 to 32 of a-z, 0-9, '_' and '-'";
  }
  return "";
}
// Off when empty; else HOST:PORT on a loopback address: the port answers without a key.
static std::string check_metrics_listen(std::string_view text) {
  if (text.empty()) return {};
  if (std::string problem = check_listen(text); !problem.empty()) return problem;
  std::string_view host = text.substr(0, text.rfind(':'));
  if (host != "localhost" && !host.starts_with("127.") && host != "[::1]" && host != "::1") {
    return "must be a loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT): it "
           "serves /metrics without a key";
  }
  return {};
}

static std::string check_non_empty(std::string_view text) {
  return text.empty() ? "must not be empty" : "";
}

#define REF(member) [](Config& c) -> Ref { return &c.member; }
constexpr std::int64_t kDay = 86400, kYear = 365 * kDay, kGiB = 1073741824;

const std::vector<Field>& fields() {
  static const std::vector<Field> table = {
      {"server", "listen", REF(server.listen), 0, 0, {}, check_listen},
      {"server", "shards", REF(server.shards), 0, 256},
      {"server", "max_body_bytes", REF(server.max_body_bytes), 1, kGiB},
      {"server", "max_header_bytes", REF(server.max_header_bytes), 1024, 1048576},
      {"server", "idle_timeout_seconds", REF(server.idle_timeout_seconds), 1, kDay},
      {"server", "max_connections", REF(server.max_connections), 1, 1000000},
      {"server", "max_connections_per_ip", REF(server.max_connections_per_ip), 0, 1000000},
      {"server", "shutdown_grace_seconds", REF(server.shutdown_grace_seconds), 1, 60},
      {"server", "pin_shards", REF(server.pin_shards)},
      {"server", "move_connections_after", REF(server.move_connections_after), 0, 1000},
      {"server.tls", "cert", REF(server.tls.cert)},
      {"server.tls", "key", REF(server.tls.key)},
      {"storage", "path", REF(storage.path), 0, 0, {}, check_non_empty},
      {"storage", "sync", REF(storage.sync), 0, 0, {"always", "batch", "none"}},
      {"storage", "group_commit_max_batch", REF(storage.group_commit_max_batch), 1, 100000},
      {"storage", "wal_spare_bytes", REF(storage.wal_spare_bytes), 0, kGiB},
      {"storage", "max_open_files", REF(storage.max_open_files), 16, 1000000},
      {"storage", "engine", REF(storage.engine), 0, 0, {"rocksdb", "postgres"}},
      {"storage.postgres", "url", REF(storage.postgres.url)},
      {"storage.postgres", "connections_per_shard", REF(storage.postgres.connections_per_shard), 1, 1000},
      {"storage.postgres", "wake", REF(storage.postgres.wake), 0, 0, {"notify", "poll"}},
      {"storage.postgres", "poll_interval_ms", REF(storage.postgres.poll_interval_ms), 10, 60000},
      {"storage.postgres", "sweep_interval_ms", REF(storage.postgres.sweep_interval_ms), 10, 60000},
      {"leases", "min_seconds", REF(leases.min_seconds), 1, kDay},
      {"leases", "max_seconds", REF(leases.max_seconds), 1, kDay},
      {"leases", "default_seconds", REF(leases.default_seconds), 1, kDay},
      {"leases", "require_token", REF(leases.require_token)},
      {"claims", "max_wait_seconds", REF(claims.max_wait_seconds), 0, 3600},
      {"claims", "max_batch", REF(claims.max_batch), 1, 1000},
      {"tasks", "max_payload_bytes", REF(tasks.max_payload_bytes), 2, kGiB},
      {"tasks", "max_depth", REF(tasks.max_depth), 1, 1000},
      {"tasks", "max_batch", REF(tasks.max_batch), 1, 100000},
      {"tasks", "max_dependencies", REF(tasks.max_dependencies), 1, 10000},
      {"tasks", "acceptance_timeout_seconds", REF(tasks.acceptance_timeout_seconds), 0, kYear},
      {"tasks", "assign_timeout_seconds", REF(tasks.assign_timeout_seconds), 1, kDay},
      {"tasks", "default_max_attempts", REF(tasks.default_max_attempts), 1, 100},
      {"tasks", "max_schedule_ahead_seconds", REF(tasks.max_schedule_ahead_seconds), 0, kYear},
      {"tasks", "retry_backoff_base_seconds", REF(tasks.retry_backoff_base_seconds), 0, kDay},
      {"tasks", "retry_backoff_max_seconds", REF(tasks.retry_backoff_max_seconds), 0, kDay},
      {"tasks", "history_kept", REF(tasks.history_kept), 1, 200},
      {"tasks", "purge_interval_seconds", REF(tasks.purge_interval_seconds), 1, kDay},
      {"tasks", "purge_batch", REF(tasks.purge_batch), 1, 100000},
      {"schedules", "max_per_account", REF(schedules.max_per_account), 0, 1000000},
      {"schedules", "runs_kept", REF(schedules.runs_kept), 1, 100000},
      {"schedules", "webhook_per_minute", REF(schedules.webhook_per_minute), 1, 1000000},
      {"metrics", "listen", REF(metrics.listen), 0, 0, {}, check_metrics_listen},
      {"metrics", "max_types", REF(metrics.max_types), 1, 10000},
      {"task_logs", "max_line_bytes", REF(task_logs.max_line_bytes), 16, kGiB},
      {"task_logs", "max_lines_per_append", REF(task_logs.max_lines_per_append), 1, 100000},
      {"task_logs", "max_task_bytes", REF(task_logs.max_task_bytes), 16, kGiB},
      {"task_logs", "max_streams", REF(task_logs.max_streams), 0, 1000000},
      {"task_logs", "max_streams_per_account", REF(task_logs.max_streams_per_account), 0, 1000000},
      {"task_logs", "stream_buffer_bytes", REF(task_logs.stream_buffer_bytes), 1024, kGiB},
      {"task_logs", "stream_heartbeat_seconds", REF(task_logs.stream_heartbeat_seconds), 1, 3600},
      {"task_logs", "stream_token_seconds", REF(task_logs.stream_token_seconds), 1, kDay},
      {"idempotency", "ttl_seconds", REF(idempotency.ttl_seconds), 1, kYear},
      {"mcp", "enabled", REF(mcp.enabled)},
      {"mcp", "allowed_origins", REF(mcp.allowed_origins), 0, 0, {}, check_origin},
      {"mcp", "max_sessions", REF(mcp.max_sessions), 1, 1000000},
      {"mcp", "max_sessions_per_account", REF(mcp.max_sessions_per_account), 1, 1000000},
      {"mcp", "session_idle_seconds", REF(mcp.session_idle_seconds), 1, kDay},
      {"", "registration", REF(registration), 0, 0, {"open", "closed", "admin"}},
      {"", "admin_key", REF(admin_key)},
      {"", "default_plan", REF(plans.default_plan), 0, 0, {}, check_plan_name},
      {"rate_limits", "registrations_per_hour_per_address",
       REF(rate_limits.registrations_per_hour_per_address), 0, 1000000000},
      {"log", "level", REF(log.level), 0, 0, {"debug", "info", "warn", "error"}},
      {"log", "format", REF(log.format), 0, 0, {"json", "text"}},
  };
  return table;
}
#undef REF

const Field* find_field(std::string_view section, std::string_view key) {
  for (const Field& f : fields())
    if (f.section == section && f.key == key) return &f;
  return nullptr;
}

bool is_section(std::string_view name) {
  for (const Field& f : fields()) {
    if (name.empty() || f.section.size() < name.size()) continue;
    if (f.section == name || (f.section.starts_with(name) && f.section[name.size()] == '.')) {
      return true;
    }
  }
  return false;
}

// ---- Scalar parsing, shared by the file and the environment. ----

std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char ch : text) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20 || ch == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

static std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

static std::string lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

static std::optional<std::int64_t> parse_int(std::string_view text) {
  if (text.starts_with('+') && !text.starts_with("+-")) text.remove_prefix(1);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string describe(const Field& f) {
  if (!f.words.empty()) return "one of " + join(f.words);
  Config scratch;
  const Ref ref = f.ref(scratch);
  if (std::holds_alternative<bool*>(ref)) return "true or false";
  if (std::holds_alternative<std::string*>(ref)) return "a string";
  if (std::holds_alternative<std::vector<std::string>*>(ref)) return "a list of strings";
  return "an integer";
}

std::string assign(const Field& f, Config& config, std::string_view text) {
  const std::string got = ", got " + quoted(text);
  Ref ref = f.ref(config);
  if (!f.words.empty()) {
    for (std::size_t i = 0; i < f.words.size(); ++i) {
      if (f.words[i] != text) continue;
      if (auto* p = std::get_if<SyncMode*>(&ref)) **p = static_cast<SyncMode>(i);
      if (auto* p = std::get_if<Registration*>(&ref)) **p = static_cast<Registration>(i);
      if (auto* p = std::get_if<std::string*>(&ref)) **p = std::string(text);
      return "";
    }
    return "expected one of " + join(f.words) + got;
  }
  if (auto* p = std::get_if<bool*>(&ref)) {
    const std::string word = lower(text);
    if (word != "true" && word != "yes" && word != "on" && word != "false" && word != "no" &&
        word != "off")
      return "expected true or false" + got;
    **p = word == "true" || word == "yes" || word == "on";
    return "";
  }
  if (auto* p = std::get_if<std::vector<std::string>*>(&ref)) {
    // From the environment: comma-separated; from the file: one scalar per item.
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size() && !text.empty()) {
      std::size_t comma = text.find(',', start);
      if (comma == std::string_view::npos) comma = text.size();
      std::string_view item = text.substr(start, comma - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) {
        if (f.check) {
          if (std::string message = f.check(item); !message.empty()) return message + ", got " + quoted(item);
        }
        items.emplace_back(item);
      }
      start = comma + 1;
    }
    **p = std::move(items);
    return "";
  }
  if (auto* p = std::get_if<std::string*>(&ref)) {
    if (f.check) {
      if (std::string message = f.check(text); !message.empty()) return message + got;
    }
    **p = std::string(text);
    return "";
  }
  const std::optional<std::int64_t> value = parse_int(text);
  if (!value) return "expected an integer" + got;
  if (*value < f.min || *value > f.max)
    return "must be between " + std::to_string(f.min) + " and " + std::to_string(f.max) +
           ", got " + std::to_string(*value);
  if (auto* p = std::get_if<int*>(&ref)) **p = static_cast<int>(*value);
  if (auto* p = std::get_if<std::int64_t*>(&ref)) **p = *value;
  return "";
}

std::int64_t int_value(const Field& f, Config& config) {
  Ref ref = f.ref(config);
  if (auto* p = std::get_if<int*>(&ref)) return **p;
  if (auto* p = std::get_if<std::int64_t*>(&ref)) return **p;
  return 0;
}

// HOST:PORT, HOST a name or IPv4 address, or an IPv6 address in brackets.
static std::string check_listen(std::string_view text) {
  const std::string bad = "expected HOST:PORT (IPv6 as [::1]:7420) with port 0..65535";
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad;
  std::string_view host = text.substr(0, colon), port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos ||
      std::stoi(std::string(port)) > 65535)
    return bad;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    const std::string_view address = host.substr(0, host.find('%'));  // fe80::1%eth0: a zone
    const bool ok = address.find(':') != address.npos &&
                    address.find_first_not_of("0123456789abcdefABCDEF:.") == address.npos &&
                    (address.size() == host.size() || host.size() > address.size() + 1);
    return ok ? "" : bad;
  }
  if (host.empty() ||
      host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") !=
          host.npos)
    return bad;
  return "";
}

}  // namespace baton::config_table
