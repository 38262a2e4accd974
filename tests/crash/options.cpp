#include "crash/options.hpp"

#include <charconv>
#include <random>
#include <string_view>

namespace baton::crash {

namespace {

template <class Number>
bool parse_number(std::string_view text, Number& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string usage() {
  return "usage: crash_loop [--cycles N] [--seed S] [--sync batch|always|none] [--accounts N]\n"
         "                  [--types N] [--producers N] [--workers N] [--min-run-ms N]\n"
         "                  [--max-run-ms N] [--long-run-chance P] [--recovery-kill-chance P]\n"
         "                  [--power-loss] [--json] [--keep]\n"
         "Runs the real server ($BATON_BIN) under producers and workers, kills it with\n"
         "SIGKILL at random moments (also while it recovers), restarts it, and checks that\n"
         "nothing acknowledged was lost. --power-loss: each kill also drops what was not\n"
         "fsynced (a clean power loss). Exit 0: no violation; 1: violations; 2: usage;\n"
         "3: the tool itself failed (server would not start, transport error in a check).\n";
}

std::optional<Options> parse_options(int argc, char** argv, std::string& error) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) {
        error = std::string(arg) + " needs a value";
        return std::nullopt;
      }
      return std::string_view(argv[++i]);
    };
    auto count = [&](int& out, int least) -> bool {
      auto text = value();
      if (!text) return false;
      if (!parse_number(*text, out) || out < least) {
        error = std::string(arg) + " must be an integer >= " + std::to_string(least);
        return false;
      }
      return true;
    };
    auto probability = [&](double& out) -> bool {
      auto text = value();
      if (!text) return false;
      try {
        out = std::stod(std::string(*text));
      } catch (const std::exception&) {
        out = -1;
      }
      if (!(out >= 0 && out <= 1)) {
        error = std::string(arg) + " must be a number from 0 to 1";
        return false;
      }
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      error.clear();
      return std::nullopt;
    } else if (arg == "--power-loss") {
      options.power_loss = true;
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--keep") {
      options.keep = true;
    } else if (arg == "--cycles") {
      if (!count(options.cycles, 0)) return std::nullopt;
    } else if (arg == "--accounts") {
      if (!count(options.accounts, 1)) return std::nullopt;
    } else if (arg == "--types") {
      if (!count(options.types, 1)) return std::nullopt;
    } else if (arg == "--producers") {
      if (!count(options.producers, 1)) return std::nullopt;
    } else if (arg == "--workers") {
      if (!count(options.workers, 1)) return std::nullopt;
    } else if (arg == "--min-run-ms") {
      if (!count(options.min_run_ms, 1)) return std::nullopt;
    } else if (arg == "--max-run-ms") {
      if (!count(options.max_run_ms, 1)) return std::nullopt;
    } else if (arg == "--seed") {
      auto text = value();
      if (!text) return std::nullopt;
      if (!parse_number(*text, options.seed)) {
        error = "--seed must be an unsigned integer";
        return std::nullopt;
      }
      options.seed_given = true;
    } else if (arg == "--sync") {
      auto text = value();
      if (!text) return std::nullopt;
      // The docs promise the same under kill -9 for all three modes (none differs only
      // on a power loss), so all three can be checked here.
      if (*text != "batch" && *text != "always" && *text != "none") {
        error = "--sync must be batch, always or none";
        return std::nullopt;
      }
      options.sync = std::string(*text);
    } else if (arg == "--recovery-kill-chance") {
      if (!probability(options.recovery_kill_chance)) return std::nullopt;
    } else if (arg == "--long-run-chance") {
      if (!probability(options.long_run_chance)) return std::nullopt;
    } else {
      error = "unknown argument " + std::string(arg);
      return std::nullopt;
    }
  }
  if (options.power_loss && options.sync == "none") {
    error = "--power-loss needs --sync batch or always: sync none may lose recent changes then";
    return std::nullopt;
  }
  if (options.min_run_ms > options.max_run_ms) {
    error = "--min-run-ms must not exceed --max-run-ms";
    return std::nullopt;
  }
  if (!options.seed_given)
    options.seed = std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32);
  return options;
}

}  // namespace baton::crash
