// baton: a durable, shard-per-core task server for autonomous agents.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/serve.hpp"
#include "core/version.hpp"
#include "store/format.hpp"
#include "config/config.hpp"

// jemalloc's options, read when it starts (MALLOC_CONF in the environment still wins).
// Background threads return freed pages to the kernel (madvise) off the shards' threads:
// measured 2 % more lifecycle requests/s and 3 % less server CPU per request
// (docs/benchmarks.md, tenth session).
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
    "  baton version\n"
    "  baton --help\n";

int usage_error(const std::string& message) {
  std::fprintf(stderr, "baton: %s\n%s", message.c_str(), kUsage);
  return 2;
}

// Loads and reports; nullopt (after printing why) when the config is invalid.
std::optional<baton::Config> load(const std::string& path) {
  baton::ConfigResult result = baton::load_config(path);
  for (const auto& warning : result.warnings) std::fprintf(stderr, "warning: %s\n", warning.c_str());
  for (const auto& error : result.errors) std::fprintf(stderr, "error: %s\n", error.c_str());
  if (!result.errors.empty() || !result.config) return std::nullopt;
  return result.config;
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
    std::string config_path, listen, data;
    for (int i = 2; i < argc; ++i) {
      std::string flag = argv[i];
      auto value = [&](std::string& out) {
        if (i + 1 >= argc) return false;
        out = argv[++i];
        return true;
      };
      bool ok = true;
      if (flag == "--config") ok = value(config_path);
      else if (flag == "--listen") ok = value(listen);
      else if (flag == "--data") ok = value(data);
      else if (flag == "--help" || flag == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      } else return usage_error("unknown flag " + flag);
      if (!ok) return usage_error(flag + " needs a value");
    }
    auto config = load(config_path);
    if (!config) return 2;
    if (!listen.empty()) config->server.listen = listen;
    if (!data.empty()) config->storage.path = data;
    return baton::serve(*config);
  }
  return usage_error("unknown command " + command);
}
