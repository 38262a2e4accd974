// baton: a durable, shard-per-core task server for autonomous agents.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/backup.hpp"
#include "cli/operator.hpp"
#include "cli/serve.hpp"
#include "core/version.hpp"
#include "store/format.hpp"
#include "config/config.hpp"

// jemalloc's options, read when it starts (MALLOC_CONF in the environment still wins).
// Background threads return freed pages to the kernel (madvise) off the shards' threads:
// measured 2 % more lifecycle requests/s and 3 % less server CPU per request
// (docs/benchmarks.md).
extern "C" const char* malloc_conf;
const char* malloc_conf = "background_thread:true";

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  baton serve [--config PATH] [--listen HOST:PORT] [--data DIR]\n"
    "      Run the server. Without --config, built-in defaults apply; --listen and --data\n"
    "      override server.listen and storage.path. BATON_<SECTION>_<KEY> environment\n"
    "      variables override the file (docs/configuration.md).\n"
    "  baton check-config PATH\n"
    "      Validate a config file and print the effective configuration (exit 2 on error).\n"
    "  baton backup --to DIR [--url URL] [--admin-key KEY]\n"
    "      Ask the running server for a consistent snapshot at DIR, an absolute path on its\n"
    "      machine (new or empty). URL defaults to http://127.0.0.1:7420; the key to\n"
    "      $BATON_ADMIN_KEY. Exit 1 when refused or failed.\n"
    "  baton restore --from DIR --data DIR\n"
    "      Copy a snapshot into a new or empty data directory, with no server running on\n"
    "      it. Exit 1 when refused or failed.\n"
    "  baton keys create [--account ID] [--label TEXT] [--plan PLAN] [--url URL] [--admin-key KEY]\n"
    "      A key for the account; without --account, a new account (on PLAN, else the\n"
    "      default plan) and its first key, whatever the registration mode. Prints the\n"
    "      secret alone on the first line: it is shown only once.\n"
    "  baton keys list --account ID [--url URL] [--admin-key KEY]\n"
    "  baton keys revoke --account ID --key KEY_ID [--url URL] [--admin-key KEY]\n"
    "  baton accounts set-plan ACCOUNT_ID PLAN [--url URL] [--admin-key KEY]\n"
    "      Through the running server, with its admin key (as for backup). Exit 1 when\n"
    "      refused or failed.\n"
    "  baton version\n"
    "  baton --help\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "baton: %s\n%s", message.c_str(), kUsage);
  return 2;
}

// Reads the `--flag value` pairs after the command into `values`, which names the flags
// the command takes (their defaults as values). nullopt when all were read; else the
// exit code: 0 after --help, 2 after a usage error.
std::optional<int> read_flags(int argc, char** argv, std::map<std::string, std::string>& values,
                              int first = 2) {
  for (int i = first; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    auto known = values.find(flag);
    if (known == values.end()) return usage_error("unknown flag " + flag);
    if (i + 1 >= argc) return usage_error(flag + " needs a value");
    known->second = argv[++i];
  }
  return std::nullopt;
}

// Loads and reports; nullopt (after printing why) when the config is invalid.
std::optional<baton::Config> load(const std::string& path) {
  baton::ConfigResult result = baton::load_config(path);
  for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  for (const auto& error : result.errors) std::fprintf(stderr, "error: %s\n", error.c_str());
  if (!result.errors.empty() || !result.config) return std::nullopt;
  return result.config;
}

// An account or key id as it goes into a URL path: the characters Baton's ids are made of.
bool is_id(const std::string& text) {
  return !text.empty() && text.size() <= 64 &&
         text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
             std::string::npos;
}

// `baton keys …` and `baton accounts …`: the subcommand, its positional arguments, then
// flags, with the server's URL and admin key as for backup.
int operator_command(int argc, char** argv) {
  std::string command = argv[1];
  if (argc < 3) return usage_error(command + " needs a subcommand");
  std::string sub = argv[2];
  std::vector<std::string> positional;
  int first_flag = 3;
  while (first_flag < argc && !std::string(argv[first_flag]).starts_with("--")) {
    positional.push_back(argv[first_flag++]);
  }
  const char* key_from_environment = std::getenv("BATON_ADMIN_KEY");
  std::map<std::string, std::string> flags{
      {"--url", "http://" + baton::Config{}.server.listen},
      {"--admin-key", key_from_environment ? key_from_environment : ""},
      {"--account", ""}, {"--label", ""}, {"--plan", ""}, {"--key", ""}};
  if (auto exit_code = read_flags(argc, argv, flags, first_flag)) return *exit_code;
  if (flags["--admin-key"].empty()) {
    return usage_error(command + " needs the server's admin key: --admin-key or BATON_ADMIN_KEY");
  }
  baton::ServerAccess server{flags["--url"], flags["--admin-key"]};
  const std::string& account = flags["--account"];
  if (!account.empty() && !is_id(account)) return usage_error("--account is not an account id");
  if (command == "keys" && sub == "create" && positional.empty()) {
    return baton::keys_create(server, account, flags["--label"], flags["--plan"]);
  }
  if (command == "keys" && sub == "list" && positional.empty() && !account.empty()) {
    return baton::keys_list(server, account);
  }
  if (command == "keys" && sub == "revoke" && positional.empty() && !account.empty() &&
      is_id(flags["--key"])) {
    return baton::keys_revoke(server, account, flags["--key"]);
  }
  if (command == "accounts" && sub == "set-plan" && positional.size() == 2 &&
      is_id(positional[0]) && is_id(positional[1])) {
    return baton::accounts_set_plan(server, positional[0], positional[1]);
  }
  return usage_error("bad arguments for " + command + " " + sub);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("missing command");
  std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "version" || command == "--version") {
    std::printf("baton %s (data format %d)\n", baton::kBatonVersion, baton::kDataFormat);
    return 0;
  }
  if (command == "check-config") {
    if (argc != 3) return usage_error("check-config needs exactly one PATH");
    auto config = load(argv[2]);
    if (!config) return 2;
    std::fputs(baton::render_config(*config).c_str(), stdout);
    return 0;
  }
  if (command == "serve") {
    std::map<std::string, std::string> flags{{"--config", ""}, {"--listen", ""}, {"--data", ""}};
    if (auto exit_code = read_flags(argc, argv, flags)) return *exit_code;
    auto config = load(flags["--config"]);
    if (!config) return 2;
    if (!flags["--listen"].empty()) config->server.listen = flags["--listen"];
    if (!flags["--data"].empty()) config->storage.path = flags["--data"];
    return baton::serve(*config, flags["--config"]);
  }
  if (command == "backup") {
    const char* key_from_environment = std::getenv("BATON_ADMIN_KEY");
    std::map<std::string, std::string> flags{
        {"--to", ""},
        {"--url", "http://" + baton::Config{}.server.listen},
        {"--admin-key", key_from_environment ? key_from_environment : ""}};
    if (auto exit_code = read_flags(argc, argv, flags)) return *exit_code;
    // A path on the server's machine: relative to which of its directories, no one knows.
    if (!flags["--to"].starts_with('/')) return usage_error("backup needs --to, an absolute path");
    if (flags["--admin-key"].empty()) {
      return usage_error("backup needs the server's admin key: --admin-key or BATON_ADMIN_KEY");
    }
    return baton::backup(flags["--url"], flags["--admin-key"], flags["--to"]);
  }
  if (command == "keys" || command == "accounts") return operator_command(argc, argv);
  if (command == "restore") {
    std::map<std::string, std::string> flags{{"--from", ""}, {"--data", ""}};
    if (auto exit_code = read_flags(argc, argv, flags)) return *exit_code;
    if (flags["--from"].empty() || flags["--data"].empty()) {
      return usage_error("restore needs --from and --data");
    }
    return baton::restore(flags["--from"], flags["--data"]);
  }
  return usage_error("unknown command " + command);
}
