#pragma once
// Runs the real `baton` binary ($BATON_BIN) as a command, for the tests of its
// subcommands (check-config, backup, restore, a serve that must refuse to start).
#include <sys/types.h>

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

// The same for any program (found on PATH when `program` has no slash), stdin read from
// `stdin_path` when given.
CommandRun run_program(const std::string& program, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {},
                       std::chrono::milliseconds timeout = std::chrono::seconds(15),
                       const std::string& stdin_path = {});

// Another server a test talks to (Prometheus), running until destroyed (SIGTERM, then
// SIGKILL after 5 s); its output goes to `log_path` (and `log_path`.err).
class Background {
 public:
  Background(const std::string& program, const std::vector<std::string>& args,
             const std::string& log_path);
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace baton::test
