#include "config/config.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include <yaml-cpp/yaml.h>

namespace baton {
namespace {

// ---- The key table: one row per recognised key, in documented (and rendered) order. ----

using Ref = std::variant<int*, std::int64_t*, bool*, std::string*, SyncMode*, Registration*,
                         std::vector<std::string>*>;

struct Field {
  std::string_view section;  // "" for the top-level scalars
  std::string_view key;
  Ref (*ref)(Config&);
  std::int64_t min = 0, max = 0;                  // integers
  std::vector<std::string_view> words = {};       // enums (and enum-like strings)
  std::string (*check)(std::string_view) = nullptr;  // extra check of a string value

  std::string dotted() const {
    return section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
  }
  std::string env_name() const {
    std::string name = "BATON_" + (section.empty() ? "" : std::string(section) + "_") + std::string(key);
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return name;
  }
};

std::string check_listen(std::string_view text);
// An origin as browsers send it: scheme://host[:port], nothing after.
std::string check_origin(std::string_view text) {
  std::size_t scheme = text.find("://");
  if (scheme == std::string_view::npos || scheme == 0 || scheme + 3 >= text.size() ||
      text.find('/', scheme + 3) != std::string_view::npos ||
      text.find_first_of(" \t,") != std::string_view::npos) {
    return "expected an origin such as https://example.com or http://localhost:6274";
  }
  return "";
}
std::string check_non_empty(std::string_view text) {
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
      {"storage", "path", REF(storage.path), 0, 0, {}, check_non_empty},
      {"storage", "sync", REF(storage.sync), 0, 0, {"always", "batch", "none"}},
      {"storage", "group_commit_max_batch", REF(storage.group_commit_max_batch), 1, 100000},
      {"storage", "wal_spare_bytes", REF(storage.wal_spare_bytes), 0, kGiB},
      {"storage", "max_open_files", REF(storage.max_open_files), 16, 1000000},
      {"leases", "min_seconds", REF(leases.min_seconds), 1, kDay},
      {"leases", "max_seconds", REF(leases.max_seconds), 1, kDay},
      {"leases", "default_seconds", REF(leases.default_seconds), 1, kDay},
      {"leases", "require_token", REF(leases.require_token)},
      {"claims", "max_wait_seconds", REF(claims.max_wait_seconds), 0, 3600},
      {"tasks", "max_payload_bytes", REF(tasks.max_payload_bytes), 2, kGiB},
      {"tasks", "max_depth", REF(tasks.max_depth), 1, 1000},
      {"tasks", "default_max_attempts", REF(tasks.default_max_attempts), 1, 100},
      {"tasks", "max_schedule_ahead_seconds", REF(tasks.max_schedule_ahead_seconds), 0, kYear},
      {"tasks", "retry_backoff_base_seconds", REF(tasks.retry_backoff_base_seconds), 0, kDay},
      {"tasks", "retry_backoff_max_seconds", REF(tasks.retry_backoff_max_seconds), 0, kDay},
      {"idempotency", "ttl_seconds", REF(idempotency.ttl_seconds), 1, kYear},
      {"mcp", "enabled", REF(mcp.enabled)},
      {"mcp", "allowed_origins", REF(mcp.allowed_origins), 0, 0, {}, check_origin},
      {"mcp", "max_sessions", REF(mcp.max_sessions), 1, 1000000},
      {"mcp", "max_sessions_per_account", REF(mcp.max_sessions_per_account), 1, 1000000},
      {"mcp", "session_idle_seconds", REF(mcp.session_idle_seconds), 1, kDay},
      {"", "registration", REF(registration), 0, 0, {"open", "closed", "admin"}},
      {"", "admin_key", REF(admin_key)},
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
  for (const Field& f : fields())
    if (!f.section.empty() && f.section == name) return true;
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

std::string join(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::string_view w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  if (text.starts_with('+') && !text.starts_with("+-")) text.remove_prefix(1);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// What a field expects, for "expected X, got a map".
std::string describe(const Field& f) {
  if (!f.words.empty()) return "one of " + join(f.words);
  Config scratch;
  const Ref ref = f.ref(scratch);
  if (std::holds_alternative<bool*>(ref)) return "true or false";
  if (std::holds_alternative<std::string*>(ref)) return "a string";
  if (std::holds_alternative<std::vector<std::string>*>(ref)) return "a list of strings";
  return "an integer";
}

// Sets the field from its scalar text; returns "" or the message of the error.
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
std::string check_listen(std::string_view text) {
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

// ---- Loading. ----

struct Loader {
  std::string path;
  Config config;
  ConfigResult result;
  std::map<const Field*, std::string> origin;  // "file:line" or "env NAME" of the value in force

  std::string file_at(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? path : path + ":" + std::to_string(mark.line + 1);
  }
  static const char* kind(const YAML::Node& node) {
    return node.IsMap() ? "a map" : node.IsSequence() ? "a sequence" : "a scalar";
  }

  void read_value(const Field& f, const YAML::Node& key, const YAML::Node& value) {
    const std::string where = file_at(key);
    std::string message;
    Config scratch;
    const bool list = std::holds_alternative<std::vector<std::string>*>(f.ref(scratch));
    if (list && value.IsSequence()) {
      std::string joined;
      for (const auto& item : value) {
        if (!item.IsScalar() || item.Scalar().find(',') != std::string::npos) {
          message = "expected " + describe(f) + ", got an item that is not one";
          break;
        }
        joined += (joined.empty() ? "" : ",") + item.Scalar();
      }
      if (message.empty()) message = assign(f, config, joined);
    } else if (value.IsMap() || value.IsSequence())
      message = "expected " + describe(f) + ", got " + kind(value);
    else
      message = assign(f, config, value.IsNull() ? std::string() : value.Scalar());
    if (!message.empty())
      result.errors.push_back(where + ": " + f.dotted() + ": " + message);
    else
      origin[&f] = where;
  }

  // Iterates a map, warning about duplicate keys; calls visit(name, key, value).
  template <typename Visit>
  void each_entry(const YAML::Node& map, std::string_view prefix, Visit visit) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const std::string name = entry.first.IsScalar() ? entry.first.Scalar() : "?";
      const std::string dotted = prefix.empty() ? name : std::string(prefix) + "." + name;
      if (!seen.insert(name).second)
        result.warnings.push_back(file_at(entry.first) + ": " + dotted + ": duplicate key, the last one wins");
      visit(name, dotted, entry.first, entry.second);
    }
  }

  void read_file() {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      result.errors.push_back(path + ": cannot read the file: " + std::strerror(errno));
      return;
    }
    std::stringstream text;
    text << in.rdbuf();
    YAML::Node root;
    try {
      root = YAML::Load(text.str());
    } catch (const YAML::Exception& e) {
      const std::string where = e.mark.is_null() ? path : path + ":" + std::to_string(e.mark.line + 1);
      result.errors.push_back(where + ": YAML syntax error: " + e.msg);
      return;
    }
    if (root.IsNull()) return;
    if (!root.IsMap()) {
      result.errors.push_back(file_at(root) + ": expected a map of sections, got " + kind(root));
      return;
    }
    each_entry(root, "", [&](const std::string& name, const std::string&, const YAML::Node& key,
                             const YAML::Node& value) {
      if (const Field* f = find_field("", name)) return read_value(*f, key, value);
      if (!is_section(name))
        return result.warnings.push_back(file_at(key) + ": " + name + ": unknown key, ignored");
      if (value.IsNull()) return;
      if (!value.IsMap())
        return result.errors.push_back(file_at(key) + ": " + name + ": expected a map, got " + kind(value));
      each_entry(value, name, [&](const std::string& inner, const std::string& dotted,
                                  const YAML::Node& inner_key, const YAML::Node& inner_value) {
        if (const Field* f = find_field(name, inner)) return read_value(*f, inner_key, inner_value);
        result.warnings.push_back(file_at(inner_key) + ": " + dotted + ": unknown key, ignored");
      });
    });
  }

  void read_environment(char** environment) {
    if (environment == nullptr) environment = ::environ;
    for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      const std::size_t eq = text.find('=');
      if (!text.starts_with("BATON_") || eq == text.npos) continue;
      const std::string_view name = text.substr(0, eq), value = text.substr(eq + 1);
      const Field* field = nullptr;
      for (const Field& f : fields())
        if (f.env_name() == name) field = &f;
      const std::string where = "env " + std::string(name);
      if (field == nullptr) {
        result.warnings.push_back(where + ": unknown variable, ignored");
      } else if (std::string message = assign(*field, config, value); !message.empty()) {
        result.errors.push_back(where + ": " + message);
      } else {
        origin[field] = where;
      }
    }
  }

  // "where: key: " of a cross-field error, where the value in force was set.
  std::string blame(const Field& f) const {
    auto it = origin.find(&f);
    const std::string where = it != origin.end() ? it->second : path.empty() ? "defaults" : path;
    return where + ": " + f.dotted() + ": ";
  }

  // lo <= hi, else an error on `lo` (when prefer_lo and it was set) or on `hi`.
  void check_order(std::string_view section_lo, std::string_view lo_key, std::string_view section_hi,
                   std::string_view hi_key, bool prefer_lo) {
    const Field& lo = *find_field(section_lo, lo_key);
    const Field& hi = *find_field(section_hi, hi_key);
    const std::int64_t a = int_value(lo, config), b = int_value(hi, config);
    if (a <= b) return;
    const bool on_lo = prefer_lo ? origin.contains(&lo) : !origin.contains(&hi);
    if (on_lo)
      result.errors.push_back(blame(lo) + "must be <= " + hi.dotted() + " (" + std::to_string(b) +
                              "), got " + std::to_string(a));
    else
      result.errors.push_back(blame(hi) + "must be >= " + lo.dotted() + " (" + std::to_string(a) +
                              "), got " + std::to_string(b));
  }

  void cross_check() {
    check_order("leases", "min_seconds", "leases", "max_seconds", false);
    check_order("leases", "min_seconds", "leases", "default_seconds", false);
    check_order("leases", "default_seconds", "leases", "max_seconds", true);
    check_order("tasks", "max_payload_bytes", "server", "max_body_bytes", true);
    check_order("tasks", "retry_backoff_base_seconds", "tasks", "retry_backoff_max_seconds", false);
    if (config.registration == Registration::admin && config.admin_key.empty())
      result.errors.push_back(blame(*find_field("", "registration")) + "admin requires a non-empty admin_key");
  }
};

}  // namespace

ConfigResult load_config(const std::string& path, char** environment) {
  Loader loader;
  loader.path = path;
  if (!path.empty()) loader.read_file();
  loader.read_environment(environment);
  if (loader.result.errors.empty()) loader.cross_check();
  if (loader.result.errors.empty()) loader.result.config = loader.config;
  return std::move(loader.result);
}

std::string render_config(const Config& config) {
  Config copy = config;
  std::string out = "# Effective Baton configuration.\n";
  std::string_view section;
  for (const Field& f : fields()) {
    if (f.section != section) {
      section = f.section;
      if (!section.empty()) out += std::string(section) + ":\n";
    }
    out += (section.empty() ? "" : "  ") + std::string(f.key) + ": ";
    Ref ref = f.ref(copy);
    if (auto* p = std::get_if<SyncMode*>(&ref)) out += to_string(**p);
    else if (auto* p = std::get_if<Registration*>(&ref)) out += to_string(**p);
    else if (auto* p = std::get_if<bool*>(&ref)) out += **p ? "true" : "false";
    else if (auto* p = std::get_if<std::vector<std::string>*>(&ref)) {
      out += "[";
      for (std::size_t i = 0; i < (*p)->size(); ++i) out += (i ? ", " : "") + quoted((**p)[i]);
      out += "]";
    }
    else if (auto* p = std::get_if<std::string*>(&ref)) {
      if (f.key == "admin_key" && !(*p)->empty())
        out += "\"***\"  # masked: the real key is set but not shown";
      else
        out += f.words.empty() ? quoted(**p) : **p;
    } else out += std::to_string(int_value(f, copy));
    out += "\n";
  }
  return out;
}

TaskLimits Config::task_limits() const {
  TaskLimits limits;
  limits.max_payload_bytes = tasks.max_payload_bytes;
  limits.max_depth = tasks.max_depth;
  limits.default_max_attempts = tasks.default_max_attempts;
  limits.max_schedule_ahead_seconds = tasks.max_schedule_ahead_seconds;
  limits.lease_min_seconds = leases.min_seconds;
  limits.lease_max_seconds = leases.max_seconds;
  limits.lease_default_seconds = leases.default_seconds;
  limits.max_wait_seconds = claims.max_wait_seconds;
  return limits;
}

std::string_view to_string(SyncMode mode) {
  switch (mode) {
    case SyncMode::always: return "always";
    case SyncMode::batch: return "batch";
    case SyncMode::none: return "none";
  }
  return "?";
}

std::string_view to_string(Registration mode) {
  switch (mode) {
    case Registration::open: return "open";
    case Registration::closed: return "closed";
    case Registration::admin: return "admin";
  }
  return "?";
}

}  // namespace baton
