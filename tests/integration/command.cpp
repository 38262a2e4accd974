#include "integration/command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "integration/harness.hpp"
#include "support/temp_dir.hpp"

namespace baton::test {

namespace {

// Starts `program` with `args`, stdout and stderr to the files named, stdin from
// `stdin_path` ("" = inherited).
pid_t spawn(const std::string& program, const std::vector<std::string>& args,
            const std::map<std::string, std::string>& env, const std::string& out_path,
            const std::string& err_path, const std::string& stdin_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!stdin_path.empty()) posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = environment_without_baton();
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& var : env_strings) envp.push_back(var.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int spawned = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("cannot start " + program);
  return pid;
}

}  // namespace

CommandRun run_baton(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env,
                     std::chrono::milliseconds timeout) {
  const char* bin = std::getenv("BATON_BIN");
  if (!bin) throw std::runtime_error("BATON_BIN is not set");
  return run_program(bin, args, env, timeout);
}

CommandRun run_program(const std::string& program, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env,
                       std::chrono::milliseconds timeout, const std::string& stdin_path) {
  TempDir io("baton-cli");
  std::string out_path = (io.path / "out").string(), err_path = (io.path / "err").string();
  pid_t pid = spawn(program, args, env, out_path, err_path, stdin_path);
  CommandRun run;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.out = read_file(out_path);
  run.err = read_file(err_path);
  return run;
}

Background::Background(const std::string& program, const std::vector<std::string>& args,
                       const std::string& log_path)
    : log_path_(log_path) {
  pid_ = spawn(program, args, {}, log_path, log_path + ".err", "");
}

Background::~Background() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
  }
}

std::string Background::log() const { return read_file(log_path_) + read_file(log_path_ + ".err"); }

}  // namespace baton::test
