#define BOOST_TEST_MODULE config
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "config/config.hpp"

using namespace baton;

namespace {

// A YAML file under /tmp with the given text, removed at scope exit.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/baton_config_test_XXXXXX.yaml";
    const int fd = ::mkstemps(name, 5);
    BOOST_REQUIRE(fd >= 0);
    path_ = name;
    BOOST_REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A NULL-terminated "NAME=value" array, as load_config takes.
class Env {
 public:
  Env(std::initializer_list<std::string> entries) : entries_(entries) {
    for (std::string& entry : entries_) pointers_.push_back(entry.data());
    pointers_.push_back(nullptr);
  }
  Env(const Env&) = delete;  // pointers_ point into entries_
  Env& operator=(const Env&) = delete;
  char** get() { return pointers_.data(); }

 private:
  std::vector<std::string> entries_;
  std::vector<char*> pointers_;
};

// Loads YAML text with an empty environment (the process's must not leak into tests).
struct Loaded {
  TempFile file;
  ConfigResult result;
  explicit Loaded(const std::string& text, Env env = {}) : file(text), result(load_config(file.path(), env.get())) {}
  std::string at(int line) const { return file.path() + ":" + std::to_string(line) + ": "; }
};

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// The one error of a result, failing the test when there is not exactly one.
std::string only_error(const ConfigResult& result) {
  BOOST_TEST_INFO("errors:\n" << joined(result.errors));
  BOOST_REQUIRE_EQUAL(result.errors.size(), 1u);
  BOOST_TEST(!result.config.has_value());
  return result.errors.front();
}

std::string source_root() {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  return suite.argc > 1 ? suite.argv[1] : ".";
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_path_gives_the_defaults) {
  Env env{};
  const ConfigResult result = load_config("", env.get());
  BOOST_TEST(result.errors.empty());
  BOOST_TEST(result.warnings.empty());
  BOOST_REQUIRE(result.config.has_value());
  const Config& c = *result.config;
  BOOST_TEST(c.server.listen == "127.0.0.1:7420");
  BOOST_TEST(c.server.shards == 0);
  BOOST_TEST(c.storage.path == "./data");
  BOOST_TEST((c.storage.sync == SyncMode::batch));
  BOOST_TEST(c.leases.default_seconds == 300);
  BOOST_TEST((c.registration == Registration::open));
  BOOST_TEST(c.admin_key.empty());
  BOOST_TEST(c.log.level == "info");
  BOOST_TEST(render_config(c) == render_config(Config{}));
}

BOOST_AUTO_TEST_CASE(every_key_is_read_from_the_file) {
  const Loaded loaded(R"(
server:
  listen: "[::1]:9001"
  shards: 4
  max_body_bytes: 2000000
  max_header_bytes: 8192
  idle_timeout_seconds: 120
  max_connections: 500
  shutdown_grace_seconds: 15
  pin_shards: false
storage:
  path: /var/lib/baton
  sync: always
  group_commit_max_batch: 64
leases:
  min_seconds: 10
  max_seconds: 7200
  default_seconds: 600
  require_token: true
claims:
  max_wait_seconds: 0
tasks:
  max_payload_bytes: 100000
  max_depth: 8
  default_max_attempts: 5
  max_schedule_ahead_seconds: 86400
  retry_backoff_base_seconds: 1
  retry_backoff_max_seconds: 60
  history_kept: 7
idempotency:
  ttl_seconds: 3600
registration: admin
admin_key: "s3cret"
log:
  level: debug
  format: text
)");
  BOOST_TEST_INFO("errors:\n" << joined(loaded.result.errors));
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.warnings.empty());
  const Config& c = *loaded.result.config;
  BOOST_TEST(c.server.listen == "[::1]:9001");
  BOOST_TEST(c.server.shards == 4);
  BOOST_TEST(c.server.max_body_bytes == 2000000);
  BOOST_TEST(c.server.max_header_bytes == 8192);
  BOOST_TEST(c.server.idle_timeout_seconds == 120);
  BOOST_TEST(c.server.max_connections == 500);
  BOOST_TEST(c.server.shutdown_grace_seconds == 15);
  BOOST_TEST(c.server.pin_shards == false);
  BOOST_TEST(c.storage.path == "/var/lib/baton");
  BOOST_TEST((c.storage.sync == SyncMode::always));
  BOOST_TEST(c.storage.group_commit_max_batch == 64);
  BOOST_TEST(c.leases.min_seconds == 10);
  BOOST_TEST(c.leases.max_seconds == 7200);
  BOOST_TEST(c.leases.default_seconds == 600);
  BOOST_TEST(c.leases.require_token == true);
  BOOST_TEST(c.claims.max_wait_seconds == 0);
  BOOST_TEST(c.tasks.max_payload_bytes == 100000);
  BOOST_TEST(c.tasks.max_depth == 8);
  BOOST_TEST(c.tasks.default_max_attempts == 5);
  BOOST_TEST(c.tasks.max_schedule_ahead_seconds == 86400);
  BOOST_TEST(c.tasks.retry_backoff_base_seconds == 1);
  BOOST_TEST(c.tasks.retry_backoff_max_seconds == 60);
  BOOST_TEST(c.tasks.history_kept == 7);
  BOOST_TEST(c.idempotency.ttl_seconds == 3600);
  BOOST_TEST((c.registration == Registration::admin));
  BOOST_TEST(c.admin_key == "s3cret");
  BOOST_TEST(c.log.level == "debug");
  BOOST_TEST(c.log.format == "text");
}

BOOST_AUTO_TEST_CASE(shipped_config_loads_cleanly_and_matches_the_defaults) {
  Env env{};
  const ConfigResult result = load_config(source_root() + "/conf/baton.yaml", env.get());
  BOOST_TEST_INFO("errors:\n" << joined(result.errors) << "warnings:\n" << joined(result.warnings));
  BOOST_TEST(result.errors.empty());
  BOOST_TEST(result.warnings.empty());
  BOOST_REQUIRE(result.config.has_value());
  BOOST_TEST(render_config(*result.config) == render_config(Config{}));
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error_naming_it) {
  Env env{};
  const ConfigResult result = load_config("/tmp/baton-no-such-dir/none.yaml", env.get());
  const std::string error = only_error(result);
  BOOST_TEST(error.starts_with("/tmp/baton-no-such-dir/none.yaml: "));
}

BOOST_AUTO_TEST_CASE(empty_file_gives_the_defaults) {
  const Loaded loaded("# nothing set\n");
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.warnings.empty());
  BOOST_TEST(render_config(*loaded.result.config) == render_config(Config{}));
}

BOOST_AUTO_TEST_CASE(unknown_top_level_key_is_a_warning_with_its_line) {
  const Loaded loaded("server:\n  shards: 2\nfrobnicate: 1\n");
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.config->server.shards == 2);
  BOOST_REQUIRE_EQUAL(loaded.result.warnings.size(), 1u);
  BOOST_TEST(loaded.result.warnings[0] == loaded.at(3) + "frobnicate: unknown key, ignored");
}

BOOST_AUTO_TEST_CASE(unknown_key_inside_a_section_is_a_warning_with_its_line) {
  const Loaded loaded("storage:\n  sync: none\n  syncc: always\n");
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST((loaded.result.config->storage.sync == SyncMode::none));
  BOOST_REQUIRE_EQUAL(loaded.result.warnings.size(), 1u);
  BOOST_TEST(loaded.result.warnings[0] == loaded.at(3) + "storage.syncc: unknown key, ignored");
}

BOOST_AUTO_TEST_CASE(duplicate_key_is_a_warning_and_the_last_wins) {
  const Loaded loaded("server:\n  shards: 2\n  shards: 3\n");
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.config->server.shards == 3);
  BOOST_REQUIRE_EQUAL(loaded.result.warnings.size(), 1u);
  BOOST_TEST(loaded.result.warnings[0].starts_with(loaded.at(3) + "server.shards: "));
}

BOOST_AUTO_TEST_CASE(wrong_type_is_an_error_naming_the_line_and_key) {
  {
    const Loaded loaded("# comment\nserver:\n  listen: \"127.0.0.1:1\"\n  shards: abc\n");
    BOOST_TEST(only_error(loaded.result) == loaded.at(4) + "server.shards: expected an integer, got \"abc\"");
  }
  {
    const Loaded loaded("tasks:\n  max_depth: 1.5\n");
    BOOST_TEST(only_error(loaded.result) == loaded.at(2) + "tasks.max_depth: expected an integer, got \"1.5\"");
  }
  {
    const Loaded loaded("leases:\n  require_token: maybe\n");
    BOOST_TEST(only_error(loaded.result) ==
               loaded.at(2) + "leases.require_token: expected true or false, got \"maybe\"");
  }
  {
    const Loaded loaded("claims:\n  max_wait_seconds: [1, 2]\n");
    BOOST_TEST(only_error(loaded.result) ==
               loaded.at(2) + "claims.max_wait_seconds: expected an integer, got a sequence");
  }
  {
    const Loaded loaded("admin_key:\n  nested: 1\n");
    BOOST_TEST(only_error(loaded.result) == loaded.at(1) + "admin_key: expected a string, got a map");
  }
}

BOOST_AUTO_TEST_CASE(booleans_accept_true_false_and_yes_no) {
  BOOST_TEST(Loaded("leases: {require_token: yes}\n").result.config->leases.require_token == true);
  BOOST_TEST(Loaded("leases: {require_token: False}\n").result.config->leases.require_token == false);
}

BOOST_AUTO_TEST_CASE(section_that_is_not_a_map_is_an_error) {
  const Loaded loaded("server: 7420\n");
  BOOST_TEST(only_error(loaded.result) == loaded.at(1) + "server: expected a map, got a scalar");
  const Loaded list("log:\n  - debug\n");
  BOOST_TEST(only_error(list.result) == list.at(1) + "log: expected a map, got a sequence");
}

BOOST_AUTO_TEST_CASE(top_level_that_is_not_a_map_is_an_error) {
  const Loaded loaded("- server\n- storage\n");
  BOOST_TEST(only_error(loaded.result).starts_with(loaded.at(1)));
}

BOOST_AUTO_TEST_CASE(out_of_range_values_are_errors_naming_the_key) {
  struct Case {
    std::string yaml, key, message;
  };
  const std::vector<Case> cases = {
      {"server: {shards: 257}", "server.shards", "must be between 0 and 256, got 257"},
      {"server: {shards: -1}", "server.shards", "must be between 0 and 256, got -1"},
      {"server: {max_body_bytes: 0}", "server.max_body_bytes", "must be between 1 and 1073741824, got 0"},
      {"server: {max_header_bytes: 1023}", "server.max_header_bytes", "must be between 1024 and 1048576, got 1023"},
      {"server: {idle_timeout_seconds: 86401}", "server.idle_timeout_seconds", "must be between 1 and 86400, got 86401"},
      {"server: {max_connections: 1000001}", "server.max_connections", "must be between 1 and 1000000, got 1000001"},
      {"server: {shutdown_grace_seconds: 61}", "server.shutdown_grace_seconds", "must be between 1 and 60, got 61"},
      {"storage: {group_commit_max_batch: 0}", "storage.group_commit_max_batch", "must be between 1 and 100000, got 0"},
      {"leases: {min_seconds: 0}", "leases.min_seconds", "must be between 1 and 86400, got 0"},
      {"leases: {max_seconds: 86401}", "leases.max_seconds", "must be between 1 and 86400, got 86401"},
      {"claims: {max_wait_seconds: 3601}", "claims.max_wait_seconds", "must be between 0 and 3600, got 3601"},
      {"tasks: {max_payload_bytes: 1}", "tasks.max_payload_bytes", "must be between 2 and 1073741824, got 1"},
      {"tasks: {max_depth: 1001}", "tasks.max_depth", "must be between 1 and 1000, got 1001"},
      {"tasks: {default_max_attempts: 0}", "tasks.default_max_attempts", "must be between 1 and 100, got 0"},
      {"tasks: {max_schedule_ahead_seconds: 31536001}", "tasks.max_schedule_ahead_seconds",
       "must be between 0 and 31536000, got 31536001"},
      {"tasks: {retry_backoff_base_seconds: -1}", "tasks.retry_backoff_base_seconds", "must be between 0 and 86400, got -1"},
      {"idempotency: {ttl_seconds: 0}", "idempotency.ttl_seconds", "must be between 1 and 31536000, got 0"},
      {"server: {shards: 99999999999999999999}", "server.shards", "expected an integer, got \"99999999999999999999\""},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.yaml) {
      const Loaded loaded("\n" + c.yaml + "\n");
      BOOST_TEST(only_error(loaded.result) == loaded.at(2) + c.key + ": " + c.message);
    }
  }
}

BOOST_AUTO_TEST_CASE(inconsistent_bounds_are_errors_on_the_key_that_was_set) {
  {
    const Loaded loaded("leases:\n  min_seconds: 30\n  max_seconds: 10\n  default_seconds: 20\n");
    const std::string all = joined(loaded.result.errors);
    BOOST_TEST(!loaded.result.config.has_value());
    BOOST_TEST(all.find(loaded.at(3) + "leases.max_seconds: must be >= leases.min_seconds (30), got 10") !=
               std::string::npos, all);
  }
  {
    const Loaded loaded("leases:\n  default_seconds: 4000\n");
    BOOST_TEST(only_error(loaded.result) ==
               loaded.at(2) + "leases.default_seconds: must be <= leases.max_seconds (3600), got 4000");
  }
  {
    const Loaded loaded("leases:\n  default_seconds: 10\n");
    BOOST_TEST(only_error(loaded.result) ==
               loaded.at(2) + "leases.default_seconds: must be >= leases.min_seconds (30), got 10");
  }
  {
    const Loaded loaded("server:\n  max_body_bytes: 1000\n");
    BOOST_TEST(only_error(loaded.result) ==
               loaded.at(2) + "server.max_body_bytes: must be >= tasks.max_payload_bytes (65536), got 1000");
  }
  {
    const Loaded loaded("tasks:\n  max_payload_bytes: 2000000\n");
    BOOST_TEST(only_error(loaded.result) ==
               loaded.at(2) + "tasks.max_payload_bytes: must be <= server.max_body_bytes (1048576), got 2000000");
  }
  {
    const Loaded loaded("tasks:\n  retry_backoff_base_seconds: 10\n  retry_backoff_max_seconds: 5\n");
    BOOST_TEST(only_error(loaded.result) ==
               loaded.at(3) + "tasks.retry_backoff_max_seconds: must be >= tasks.retry_backoff_base_seconds (10), got 5");
  }
}

BOOST_AUTO_TEST_CASE(unknown_enum_word_is_an_error_listing_the_choices) {
  {
    const Loaded loaded("server:\n  shards: 1\nstorage:\n  path: ./d\n  sync: fast\n");
    BOOST_TEST(only_error(loaded.result) == loaded.at(5) + "storage.sync: expected one of always, batch, none, got \"fast\"");
  }
  {
    const Loaded loaded("registration: maybe\n");
    BOOST_TEST(only_error(loaded.result) == loaded.at(1) + "registration: expected one of open, closed, admin, got \"maybe\"");
  }
  {
    const Loaded loaded("log:\n  level: verbose\n");
    BOOST_TEST(only_error(loaded.result) == loaded.at(2) + "log.level: expected one of debug, info, warn, error, got \"verbose\"");
  }
  {
    const Loaded loaded("log:\n  format: xml\n");
    BOOST_TEST(only_error(loaded.result) == loaded.at(2) + "log.format: expected one of json, text, got \"xml\"");
  }
}

BOOST_AUTO_TEST_CASE(malformed_listen_address_is_an_error) {
  for (const std::string bad : {"7420", "127.0.0.1", "127.0.0.1:", ":7420", "127.0.0.1:65536", "127.0.0.1:http",
                                "::1:7420", "[::1]", "[]:7420", "[::1:7420", "host name:80", "1.2.3.4:-1"}) {
    BOOST_TEST_CONTEXT(bad) {
      const Loaded loaded("server:\n  listen: \"" + bad + "\"\n");
      const std::string error = only_error(loaded.result);
      BOOST_TEST(error.starts_with(loaded.at(2) + "server.listen: expected HOST:PORT"), error);
      BOOST_TEST(error.ends_with("got \"" + bad + "\""), error);
    }
  }
}

BOOST_AUTO_TEST_CASE(well_formed_listen_addresses_are_accepted) {
  for (const std::string good : {"127.0.0.1:7420", "0.0.0.0:0", "localhost:65535", "[::1]:7420", "[::]:80",
                                 "[fe80::1%eth0]:8080"}) {
    BOOST_TEST_CONTEXT(good) {
      const Loaded loaded("server:\n  listen: \"" + good + "\"\n");
      BOOST_TEST_INFO(joined(loaded.result.errors));
      BOOST_REQUIRE(loaded.result.config.has_value());
      BOOST_TEST(loaded.result.config->server.listen == good);
    }
  }
}

BOOST_AUTO_TEST_CASE(yaml_syntax_error_reports_its_line) {
  const Loaded loaded("server:\n  shards: 2\n  listen: a: b\n");
  const std::string error = only_error(loaded.result);
  BOOST_TEST(error.starts_with(loaded.at(3) + "YAML syntax error: "), error);
  const Loaded bad_indent("server:\n  shards: 2\n   listen: x\nstorage: [\n");
  const std::string indent_error = only_error(bad_indent.result);
  BOOST_TEST(indent_error.starts_with(bad_indent.at(3)), indent_error);
}

BOOST_AUTO_TEST_CASE(environment_overrides_the_defaults) {
  Env env{"BATON_STORAGE_SYNC=none",        "BATON_SERVER_LISTEN=127.0.0.1:9000",
          "BATON_SERVER_SHARDS=3",          "BATON_LEASES_REQUIRE_TOKEN=true",
          "BATON_REGISTRATION=admin",       "BATON_ADMIN_KEY=k-123",
          "BATON_TASKS_MAX_PAYLOAD_BYTES=1024", "BATON_LOG_FORMAT=text",
          "PATH=/usr/bin",                  "HOME=/root"};
  const ConfigResult result = load_config("", env.get());
  BOOST_TEST_INFO(joined(result.errors));
  BOOST_REQUIRE(result.config.has_value());
  BOOST_TEST(result.warnings.empty());
  const Config& c = *result.config;
  BOOST_TEST((c.storage.sync == SyncMode::none));
  BOOST_TEST(c.server.listen == "127.0.0.1:9000");
  BOOST_TEST(c.server.shards == 3);
  BOOST_TEST(c.leases.require_token == true);
  BOOST_TEST((c.registration == Registration::admin));
  BOOST_TEST(c.admin_key == "k-123");
  BOOST_TEST(c.tasks.max_payload_bytes == 1024);
  BOOST_TEST(c.log.format == "text");
}

BOOST_AUTO_TEST_CASE(environment_overrides_the_file) {
  const Loaded loaded("server:\n  shards: 2\nstorage:\n  sync: always\n",
                      Env{"BATON_SERVER_SHARDS=8", "BATON_STORAGE_SYNC=batch"});
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.config->server.shards == 8);
  BOOST_TEST((loaded.result.config->storage.sync == SyncMode::batch));
}

BOOST_AUTO_TEST_CASE(bad_environment_value_is_an_error_naming_the_variable) {
  {
    Env env{"BATON_SERVER_SHARDS=x"};
    BOOST_TEST(only_error(load_config("", env.get())) == "env BATON_SERVER_SHARDS: expected an integer, got \"x\"");
  }
  {
    Env env{"BATON_STORAGE_SYNC=fast"};
    BOOST_TEST(only_error(load_config("", env.get())) ==
               "env BATON_STORAGE_SYNC: expected one of always, batch, none, got \"fast\"");
  }
  {
    Env env{"BATON_SERVER_SHARDS=1000"};
    BOOST_TEST(only_error(load_config("", env.get())) == "env BATON_SERVER_SHARDS: must be between 0 and 256, got 1000");
  }
  {
    Env env{"BATON_SERVER_LISTEN=nowhere"};
    BOOST_TEST(only_error(load_config("", env.get())).starts_with("env BATON_SERVER_LISTEN: expected HOST:PORT"));
  }
}

BOOST_AUTO_TEST_CASE(unknown_baton_variable_is_only_a_warning) {
  Env env{"BATON_STORAGE_SYNCC=none"};
  const ConfigResult result = load_config("", env.get());
  BOOST_REQUIRE(result.config.has_value());
  BOOST_REQUIRE_EQUAL(result.warnings.size(), 1u);
  BOOST_TEST(result.warnings[0].starts_with("env BATON_STORAGE_SYNCC: "));
}

BOOST_AUTO_TEST_CASE(null_environment_means_the_process_environment) {
  ::setenv("BATON_SERVER_SHARDS", "5", 1);
  const ConfigResult result = load_config("");
  ::unsetenv("BATON_SERVER_SHARDS");
  BOOST_REQUIRE(result.config.has_value());
  BOOST_TEST(result.config->server.shards == 5);
}

BOOST_AUTO_TEST_CASE(admin_registration_requires_an_admin_key) {
  const Loaded loaded("registration: admin\n");
  BOOST_TEST(only_error(loaded.result) == loaded.at(1) + "registration: admin requires a non-empty admin_key");
  const Loaded empty_key("registration: admin\nadmin_key: \"\"\n");
  BOOST_TEST(only_error(empty_key.result).starts_with(empty_key.at(1) + "registration: "));
  const Loaded with_key("registration: admin\nadmin_key: abc\n");
  BOOST_REQUIRE(with_key.result.config.has_value());
  Env env{"BATON_REGISTRATION=admin"};
  BOOST_TEST(only_error(load_config("", env.get())) ==
             "env BATON_REGISTRATION: registration: admin requires a non-empty admin_key");
}

BOOST_AUTO_TEST_CASE(render_loads_back_to_an_equal_config) {
  Config original;
  original.server.listen = "[::1]:9001";
  original.server.shards = 7;
  original.server.max_body_bytes = 5000000;
  original.storage.path = "/srv/baton \"data\"\\x";
  original.storage.sync = SyncMode::none;
  original.leases.require_token = true;
  original.leases.min_seconds = 5;
  original.claims.max_wait_seconds = 0;
  original.tasks.max_schedule_ahead_seconds = 12345;
  original.registration = Registration::closed;
  original.log.level = "warn";
  const std::string text = render_config(original);
  const Loaded loaded(text);
  BOOST_TEST_INFO(text << joined(loaded.result.errors));
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.warnings.empty());
  BOOST_TEST(loaded.result.config->storage.path == original.storage.path);
  BOOST_TEST(render_config(*loaded.result.config) == text);
}

BOOST_AUTO_TEST_CASE(render_masks_the_admin_key) {
  Config original;
  original.registration = Registration::admin;
  original.admin_key = "top-secret";
  const std::string text = render_config(original);
  BOOST_TEST(text.find("top-secret") == std::string::npos, text);
  BOOST_TEST(text.find("admin_key: \"***\"") != std::string::npos, text);
  BOOST_TEST(text.find("# masked") != std::string::npos, text);
  // Loading it back gives the same config but for the masked key.
  const Loaded loaded(text);
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.config->admin_key == "***");
  Config expected = original;
  expected.admin_key = "***";
  BOOST_TEST(render_config(*loaded.result.config) == render_config(expected));
}

BOOST_AUTO_TEST_CASE(render_lists_every_key_in_documented_order) {
  const std::string text = render_config(Config{});
  std::size_t at = 0;
  for (const char* key : {"server:", "listen:", "shards:", "max_body_bytes:", "max_header_bytes:",
                          "idle_timeout_seconds:", "max_connections:", "shutdown_grace_seconds:", "pin_shards:", "storage:",
                          "path:", "sync:", "group_commit_max_batch:", "leases:", "min_seconds:", "max_seconds:",
                          "default_seconds:", "require_token:", "claims:", "max_wait_seconds:", "tasks:",
                          "max_payload_bytes:", "max_depth:", "default_max_attempts:",
                          "max_schedule_ahead_seconds:", "retry_backoff_base_seconds:",
                          "retry_backoff_max_seconds:", "idempotency:", "ttl_seconds:", "registration:",
                          "admin_key:", "log:", "level:", "format:"}) {
    const std::size_t found = text.find(key, at);
    BOOST_TEST_CONTEXT(key) { BOOST_REQUIRE(found != std::string::npos); }
    at = found;
  }
}

BOOST_AUTO_TEST_CASE(task_limits_come_from_tasks_leases_and_claims) {
  Config c;
  c.tasks.max_payload_bytes = 1000;
  c.tasks.max_depth = 4;
  c.tasks.default_max_attempts = 9;
  c.tasks.max_schedule_ahead_seconds = 77;
  c.leases.min_seconds = 11;
  c.leases.max_seconds = 22;
  c.leases.default_seconds = 15;
  c.claims.max_wait_seconds = 3;
  const TaskLimits limits = c.task_limits();
  BOOST_TEST(limits.max_payload_bytes == 1000);
  BOOST_TEST(limits.max_depth == 4);
  BOOST_TEST(limits.default_max_attempts == 9);
  BOOST_TEST(limits.max_schedule_ahead_seconds == 77);
  BOOST_TEST(limits.lease_min_seconds == 11);
  BOOST_TEST(limits.lease_max_seconds == 22);
  BOOST_TEST(limits.lease_default_seconds == 15);
  BOOST_TEST(limits.max_wait_seconds == 3);
}

BOOST_AUTO_TEST_CASE(enums_print_as_their_config_words) {
  BOOST_TEST(to_string(SyncMode::always) == "always");
  BOOST_TEST(to_string(SyncMode::batch) == "batch");
  BOOST_TEST(to_string(SyncMode::none) == "none");
  BOOST_TEST(to_string(Registration::open) == "open");
  BOOST_TEST(to_string(Registration::closed) == "closed");
  BOOST_TEST(to_string(Registration::admin) == "admin");
}

// server.tls is a map inside a section: read from the file and from BATON_SERVER_TLS_*,
// rendered nested, and both files or neither.
BOOST_AUTO_TEST_CASE(tls_is_a_nested_map_with_both_files_or_neither) {
  const Loaded loaded("server:\n  shards: 2\n  tls:\n    cert: /etc/baton/cert.pem\n    key: /etc/baton/key.pem\n");
  BOOST_TEST_INFO(joined(loaded.result.errors));
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.warnings.empty());
  BOOST_TEST(loaded.result.config->server.tls.cert == "/etc/baton/cert.pem");
  BOOST_TEST(loaded.result.config->server.tls.key == "/etc/baton/key.pem");
  BOOST_TEST(loaded.result.config->server.shards == 2);

  const std::string text = render_config(*loaded.result.config);
  BOOST_TEST(text.find("\n  tls:\n    cert: \"/etc/baton/cert.pem\"\n") != std::string::npos, text);
  const Loaded again(text);
  BOOST_REQUIRE(again.result.config.has_value());
  BOOST_TEST(render_config(*again.result.config) == text);

  const Loaded unknown("server:\n  tls:\n    certificate: x\n");
  BOOST_TEST(unknown.result.warnings.size() == 1u);
  BOOST_TEST(joined(unknown.result.warnings).find("server.tls.certificate: unknown key") != std::string::npos);

  const Loaded half("server:\n  tls:\n    cert: /c.pem\n");
  BOOST_TEST(only_error(half.result) == half.at(3) + "server.tls.cert: HTTPS needs both server.tls.cert and server.tls.key");

  Env env{"BATON_SERVER_TLS_CERT=/c.pem", "BATON_SERVER_TLS_KEY=/k.pem"};
  const ConfigResult from_env = load_config("", env.get());
  BOOST_REQUIRE(from_env.config.has_value());
  BOOST_TEST(from_env.config->server.tls.key == "/k.pem");
}

// storage.engine picks the backend; postgres needs its URL, and its keys are a map inside
// storage, also from BATON_STORAGE_POSTGRES_*.
BOOST_AUTO_TEST_CASE(the_postgres_engine_needs_its_url) {
  const Loaded loaded(
      "storage:\n  engine: postgres\n  postgres:\n    url: \"host=db dbname=baton\"\n"
      "    connections_per_shard: 8\n    wake: poll\n    poll_interval_ms: 250\n");
  BOOST_TEST_INFO(joined(loaded.result.errors));
  BOOST_REQUIRE(loaded.result.config.has_value());
  const Config::Storage& storage = loaded.result.config->storage;
  BOOST_TEST(storage.engine == "postgres");
  BOOST_TEST(storage.postgres.url == "host=db dbname=baton");
  BOOST_TEST(storage.postgres.connections_per_shard == 8);
  BOOST_TEST(storage.postgres.wake == "poll");
  BOOST_TEST(storage.postgres.poll_interval_ms == 250);
  BOOST_TEST(storage.postgres.sweep_interval_ms == 100);
  BOOST_TEST(Config{}.storage.engine == "rocksdb");

  const Loaded no_url("storage:\n  engine: postgres\n");
  BOOST_TEST(only_error(no_url.result) ==
             no_url.at(2) + "storage.engine: postgres needs storage.postgres.url (a libpq connection string)");
  const Loaded other("storage:\n  engine: sqlite\n");
  BOOST_TEST(only_error(other.result).find("expected one of rocksdb, postgres") != std::string::npos);
  const Loaded wake("storage:\n  postgres:\n    wake: sometimes\n");
  BOOST_TEST(only_error(wake.result).find("expected one of notify, poll") != std::string::npos);

  // check-config prints the URL without its password.
  BOOST_TEST(mask_password("host=db password=secret user=x") == "host=db password=*** user=x");
  BOOST_TEST(mask_password("host=db password = 'a b\\' c' user=x") == "host=db password = *** user=x");
  BOOST_TEST(mask_password("postgresql://u:secret@db:5432/baton?sslmode=require") ==
             "postgresql://u:***@db:5432/baton?sslmode=require");
  BOOST_TEST(mask_password("postgresql://db/baton?password=secret&x=1") ==
             "postgresql://db/baton?password=***&x=1");
  BOOST_TEST(mask_password("postgresql://u@db/baton") == "postgresql://u@db/baton");
  BOOST_TEST(mask_password("host=db passwordless=1") == "host=db passwordless=1");
  const Loaded secret("storage:\n  postgres:\n    url: \"host=db password=hunter2\"\n");
  BOOST_REQUIRE(secret.result.config.has_value());
  BOOST_TEST(render_config(*secret.result.config).find("hunter2") == std::string::npos);

  Env env{"BATON_STORAGE_ENGINE=postgres", "BATON_STORAGE_POSTGRES_URL=postgresql://db/baton"};
  const ConfigResult from_env = load_config("", env.get());
  BOOST_REQUIRE(from_env.config.has_value());
  BOOST_TEST(from_env.config->storage.postgres.url == "postgresql://db/baton");
}

// ---- Plans (docs/limits.md) ----

BOOST_AUTO_TEST_CASE(the_shipped_plans_are_seed_000s_and_the_default_is_unlimited) {
  const Config c;
  BOOST_TEST(c.plans.default_plan == "unlimited");
  BOOST_REQUIRE(c.plans.find("free") != nullptr);
  BOOST_TEST(c.plans.find("free")->workers == 2);
  BOOST_TEST(c.plans.find("free")->tasks_per_month == 200);
  BOOST_TEST(c.plans.find("free")->hourly(RateClass::claim) == 120);
  BOOST_TEST(c.plans.find("basic")->workers == 10);
  BOOST_TEST(c.plans.find("pro")->tasks_per_month == 25000);
  BOOST_TEST(c.plans.find("agency")->retention_days == 90);
  BOOST_TEST(c.plans.find("unlimited")->workers == 0);
}

BOOST_AUTO_TEST_CASE(a_plans_map_replaces_the_shipped_plans) {
  const Loaded loaded(
      "default_plan: team\n"
      "plans:\n"
      "  team: { workers: 4, claims_per_hour: 100, mutations_per_hour: 7 }\n"
      "  solo:\n"
      "    workers: 1\n");
  BOOST_TEST_INFO(joined(loaded.result.errors));
  BOOST_REQUIRE(loaded.result.config.has_value());
  const PlanBook& plans = loaded.result.config->plans;
  BOOST_TEST(plans.plans.size() == 3u);  // with unlimited
  BOOST_TEST(plans.find("free") == nullptr);
  BOOST_TEST(plans.find("team")->workers == 4);
  BOOST_TEST(plans.find("team")->hourly(RateClass::claim) == 100);
  BOOST_TEST(plans.find("team")->hourly(RateClass::mutate) == 7);
  BOOST_TEST(plans.find("team")->hourly(RateClass::create) == 0);
  BOOST_TEST(plans.find("solo")->workers == 1);
  BOOST_TEST(plans.of_account("").name == "team");
  // What check-config prints loads back to the same plans.
  const Loaded again(render_config(*loaded.result.config));
  BOOST_REQUIRE(again.result.config.has_value());
  BOOST_TEST((again.result.config->plans == plans));
}

BOOST_AUTO_TEST_CASE(bad_plans_are_errors_naming_the_line) {
  BOOST_TEST(only_error(Loaded("plans:\n  free: { workers: -1 }\n").result)
                 .find(":2: plans.free.workers: expected an integer") != std::string::npos);
  BOOST_TEST(only_error(Loaded("plans:\n  free: { wrokers: 1 }\n").result)
                 .find("plans.free.wrokers: unknown limit") != std::string::npos);
  BOOST_TEST(only_error(Loaded("plans:\n  unlimited: { workers: 1 }\n").result)
                 .find("built in") != std::string::npos);
  BOOST_TEST(only_error(Loaded("plans:\n  Big Plan: { workers: 1 }\n").result)
                 .find("expected a plan name") != std::string::npos);
  BOOST_TEST(only_error(Loaded("plans: [1, 2]\n").result).find("expected a map of plans") !=
             std::string::npos);
  BOOST_TEST(only_error(Loaded("default_plan: gold\n").result)
                 .find("no plan is called \"gold\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_environment_picks_the_default_plan_and_the_registration_bound) {
  const Loaded loaded("", Env{"BATON_DEFAULT_PLAN=free",
                              "BATON_RATE_LIMITS_REGISTRATIONS_PER_HOUR_PER_ADDRESS=5"});
  BOOST_REQUIRE(loaded.result.config.has_value());
  BOOST_TEST(loaded.result.config->plans.of_account("").name == "free");
  BOOST_TEST(loaded.result.config->rate_limits.registrations_per_hour_per_address == 5);
}

BOOST_AUTO_TEST_CASE(the_metrics_port_is_off_by_default_and_loopback_only) {
  BOOST_TEST(Config{}.metrics.listen.empty());
  BOOST_TEST(Config{}.metrics.max_types == 100);
  const Loaded on("metrics:\n  listen: \"127.0.0.1:9464\"\n  max_types: 20\n");
  BOOST_REQUIRE(on.result.config.has_value());
  BOOST_TEST(on.result.config->metrics.listen == "127.0.0.1:9464");
  BOOST_TEST(on.result.config->metrics.max_types == 20);
  for (const char* loopback : {"[::1]:9464", "localhost:9464", "127.0.0.2:0"}) {
    const Loaded ok(std::string("metrics:\n  listen: \"") + loopback + "\"\n");
    BOOST_TEST(ok.result.config.has_value(), loopback);
  }
  // Keyless metrics on a public address would show every account's types to anyone.
  const Loaded open("metrics:\n  listen: \"0.0.0.0:9464\"\n");
  BOOST_TEST(!open.result.config.has_value());
  BOOST_REQUIRE(!open.result.errors.empty());
  BOOST_TEST(open.result.errors.front().find("loopback") != std::string::npos);
  const Loaded garbage("metrics:\n  listen: \"nope\"\n");
  BOOST_TEST(!garbage.result.config.has_value());
  const Loaded none("metrics:\n  max_types: 0\n");
  BOOST_TEST(!none.result.config.has_value());
}
