#include "config/config.hpp"

#include "config/config_table.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace baton {
namespace {

using namespace config_table;


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
    read_text(text.str());
  }

  void read_text(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
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
      if (name == "plans") return read_plans(key, value);
      if (!is_section(name))
        return result.warnings.push_back(file_at(key) + ": " + name + ": unknown key, ignored");
      read_section(name, key, value);
    });
  }

  // The fields of `section` (and of the sections inside it) from its map.
  void read_section(const std::string& section, const YAML::Node& key, const YAML::Node& value) {
    if (value.IsNull()) return;
    if (!value.IsMap()) {
      result.errors.push_back(file_at(key) + ": " + section + ": expected a map, got " + kind(value));
      return;
    }
    each_entry(value, section, [&](const std::string& inner, const std::string& dotted,
                                   const YAML::Node& inner_key, const YAML::Node& inner_value) {
      if (const Field* f = find_field(section, inner)) return read_value(*f, inner_key, inner_value);
      if (is_section(dotted)) return read_section(dotted, inner_key, inner_value);
      result.warnings.push_back(file_at(inner_key) + ": " + dotted + ": unknown key, ignored");
    });
  }

  // `plans: {name: {workers: N, …}}`: each plan's limits, 0 or absent meaning none.
  void read_plans(const YAML::Node& key, const YAML::Node& value) {
    // The file's plans replace the shipped ones.
    std::erase_if(config.plans.plans, [](const auto& entry) { return entry.first != kUnlimitedPlan; });
    if (value.IsNull()) return;
    if (!value.IsMap()) {
      result.errors.push_back(file_at(key) + ": plans: expected a map of plans, got " + kind(value));
      return;
    }
    each_entry(value, "plans", [&](const std::string& name, const std::string& dotted,
                                   const YAML::Node& plan_key, const YAML::Node& plan_node) {
      if (std::string problem = check_plan_name(name); !problem.empty()) {
        result.errors.push_back(file_at(plan_key) + ": " + dotted + ": " + problem);
        return;
      }
      if (name == kUnlimitedPlan) {
        result.errors.push_back(file_at(plan_key) + ": " + dotted +
                                ": built in (no limits), it cannot be redefined");
        return;
      }
      if (!plan_node.IsMap() && !plan_node.IsNull()) {
        result.errors.push_back(file_at(plan_key) + ": " + dotted + ": expected a map, got " +
                                kind(plan_node));
        return;
      }
      Plan plan;
      plan.name = name;
      if (plan_node.IsMap()) {
        each_entry(plan_node, dotted, [&](const std::string& limit, const std::string& limit_dotted,
                                           const YAML::Node& limit_key, const YAML::Node& limit_value) {
          const PlanKey* known = nullptr;
          for (const PlanKey& candidate : plan_keys()) {
            if (candidate.key == limit) known = &candidate;
          }
          if (!known) {
            result.errors.push_back(file_at(limit_key) + ": " + limit_dotted +
                                    ": unknown limit; a plan has workers, tasks_per_month, "
                                    "claims_per_hour, creates_per_hour, reads_per_hour, "
                                    "mutations_per_hour, heartbeats_per_hour, retention_days, "
                                    "retention_seconds, cost_budget_usd");
            return;
          }
          std::int64_t number = -1;
          const std::string text = limit_value.IsScalar() ? limit_value.Scalar() : "";
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
          if (!limit_value.IsScalar() || ec != std::errc() || end != text.data() + text.size() ||
              number < 0 || number > 1000000000000LL) {
            result.errors.push_back(file_at(limit_key) + ": " + limit_dotted +
                                    ": expected an integer from 0 (no limit) to 10^12, got " +
                                    quoted(text));
            return;
          }
          plan_value(plan, *known) = number;
        });
      }
      config.plans.plans[name] = plan;
    });
  }

  void read_environment(char** environment) {
    if (environment == nullptr) environment = ::environ;
    for (char** entry = environment; entry != nullptr && *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      const std::size_t eq = text.find('=');
      if (!text.starts_with("BATON_") || eq == text.npos) continue;
      // Test hooks, read where they act (BATON_TEST_SYNC_JOURNAL: cli/serve.cpp), not keys.
      if (text.starts_with("BATON_TEST_")) continue;
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
    if (!config.plans.find(config.plans.default_plan)) {
      result.errors.push_back(blame(*find_field("", "default_plan")) + "no plan is called " +
                              quoted(config.plans.default_plan) + "; the plans are " +
                              config.plans.names());
    }
    if (config.server.tls.cert.empty() != config.server.tls.key.empty()) {
      const Field& set = *find_field("server.tls", config.server.tls.cert.empty() ? "key" : "cert");
      result.errors.push_back(blame(set) + "HTTPS needs both server.tls.cert and server.tls.key");
    }
    if (config.storage.engine == "postgres" && config.storage.postgres.url.empty()) {
      result.errors.push_back(blame(*find_field("storage", "engine")) +
                              "postgres needs storage.postgres.url (a libpq connection string)");
    }
  }
};

}  // namespace

namespace {

// Environment overrides on top of what was read, then the checks across keys.
ConfigResult finish(Loader& loader, char** environment) {
  loader.read_environment(environment);
  if (loader.result.errors.empty()) loader.cross_check();
  if (loader.result.errors.empty()) loader.result.config = loader.config;
  return std::move(loader.result);
}

}  // namespace

ConfigResult load_config(const std::string& path, char** environment) {
  Loader loader;
  loader.path = path;
  if (!path.empty()) loader.read_file();
  return finish(loader, environment);
}

ConfigResult parse_config(const std::string& text, const std::string& origin,
                          char** environment) {
  Loader loader;
  loader.path = origin;
  loader.read_text(text);
  return finish(loader, environment);
}

// A connection string with its password replaced by "***": the `password=` keyword of a
// libpq string (quoted or not) and the password of a postgresql:// URI's user info or
// query. Printing a config must not print the database's password.
std::string mask_password(std::string_view url) {
  std::string out(url);
  std::size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    std::size_t host = out.find_first_of("/?", scheme + 3);
    std::size_t at = out.rfind('@', host == std::string::npos ? out.size() : host);
    if (at != std::string::npos && at > scheme) {
      std::size_t colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (std::size_t from = 0;;) {
    std::size_t key = out.find("password", from);
    if (key == std::string::npos) return out;
    std::size_t value = key + 8;
    while (value < out.size() && out[value] == ' ') ++value;
    if (value >= out.size() || out[value] != '=') {
      from = key + 8;
      continue;
    }
    ++value;
    while (value < out.size() && out[value] == ' ') ++value;
    std::size_t end = value;
    if (end < out.size() && out[end] == '\'') {
      for (++end; end < out.size() && out[end] != '\''; ++end) {
        if (out[end] == '\\') ++end;
      }
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != ' ' && out[end] != '&') ++end;
    }
    out.replace(value, end - value, "***");
    from = value + 3;
  }
}

std::string render_config(const Config& config) {
  Config copy = config;
  std::string out = "# Effective Baton configuration.\n";
  std::string_view section;
  for (const Field& f : fields()) {
    if (f.section != section) {
      // "server.tls" after "server" opens "tls:" inside it; anything else a new top map.
      std::string_view top = f.section.substr(0, f.section.find('.'));
      if (top != section.substr(0, section.find('.')) && !top.empty()) {
        out += std::string(top) + ":\n";
      }
      if (f.section.size() > top.size()) {
        out += "  " + std::string(f.section.substr(top.size() + 1)) + ":\n";
      }
      section = f.section;
    }
    const std::size_t depth = section.empty() ? 0 : 1 + std::count(section.begin(), section.end(), '.');
    out += std::string(2 * depth, ' ') + std::string(f.key) + ": ";
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
      else if (f.section == "storage.postgres" && f.key == "url")
        out += quoted(mask_password(**p));
      else
        out += f.words.empty() ? quoted(**p) : **p;
    } else out += std::to_string(int_value(f, copy));
    out += "\n";
  }
  out += "plans:\n";
  for (const auto& [name, plan] : config.plans.plans) {
    if (name == kUnlimitedPlan) continue;  // built in
    out += "  " + name + ": {";
    Plan values = plan;
    bool first = true;
    for (const PlanKey& key : plan_keys()) {
      out += std::string(first ? "" : ", ") + std::string(key.key) + ": " +
             std::to_string(plan_value(values, key));
      first = false;
    }
    out += "}\n";
  }
  return out;
}

PlanBook Config::shipped_plans() {
  PlanBook book;
  // workers, tasks/month, then per hour: claims, creates, reads, mutations, heartbeats;
  // retention days. The first three and retention are seed 000's; the rest are ours,
  // sized so that the plan's workers, heartbeating every 30 s, never meet them.
  struct Row {
    const char* name;
    std::int64_t workers, tasks, claims, creates, reads, mutations, heartbeats, retention;
  };
  for (const Row& row : {Row{"free", 2, 200, 120, 600, 3600, 600, 1200, 7},
                         Row{"basic", 10, 5000, 1200, 6000, 36000, 6000, 6000, 30},
                         Row{"pro", 25, 25000, 4000, 20000, 100000, 20000, 15000, 60},
                         Row{"agency", 50, 150000, 15000, 60000, 300000, 60000, 30000, 90}}) {
    Plan plan;
    plan.name = row.name;
    plan.workers = row.workers;
    plan.tasks_per_month = row.tasks;
    plan.per_hour = {row.creates, row.claims, row.reads, row.mutations, row.heartbeats};
    plan.retention_days = row.retention;
    book.plans[plan.name] = plan;
  }
  return book;
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
  limits.max_claim_batch = claims.max_batch;
  limits.max_create_batch = tasks.max_batch;
  limits.max_dependencies = tasks.max_dependencies;
  limits.acceptance_timeout_seconds = tasks.acceptance_timeout_seconds;
  limits.assign_timeout_seconds = tasks.assign_timeout_seconds;
  limits.max_log_line_bytes = task_logs.max_line_bytes;
  limits.max_log_lines_per_append = task_logs.max_lines_per_append;
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
