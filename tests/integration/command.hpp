#pragma once
// Runs the real `baton` binary ($BATON_BIN) as a command, for the tests of its
// subcommands (check-config, backup, restore, a serve that must refuse to start).
#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace baton::test {

struct CommandRun {
  int exit_code = -1;  // -1: killed after the timeout, or by a signal
  std::string out, err;
};

// Runs BATON_BIN with `args`, in this process's environment without its BATON_* variables
// (environment_without_baton) plus `env`; stdout and stderr captured; killed after
// `timeout`. Throws std::runtime_error when it cannot be started.
CommandRun run_baton(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace baton::test
