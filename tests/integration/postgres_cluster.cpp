// A private PostgreSQL for the tests (see postgres_cluster.hpp). Process control is plain
// POSIX like the harness's: fork/execve with an argv vector (no shell, so no quoting), and
// only async-signal-safe calls between fork and exec.
#include "integration/postgres_cluster.hpp"
#include "integration/harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace baton::test {

namespace {

[[noreturn]] void cluster_fail(const std::string& message) {
  throw std::runtime_error("postgres cluster: " + message);
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string_view(v) != "0";
}

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::string show_command(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && std::all_of(a.begin(), a.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("-_./=:,@%+", ch);
    });
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char ch : a) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    out += '\'';
  }
  return out;
}

std::string describe_status(int status, bool timed_out) {
  if (timed_out) return "timed out, killed";
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// The child's environment: ours without PG* variables (PGHOST, PGOPTIONS, PGDATABASE…
// must not redirect or reconfigure what the commands talk to).
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "PG", 2) != 0) env.emplace_back(*e);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void close_from(int first) {
  if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0u, 0u) != 0)
    for (int fd = first; fd < 4096; ++fd) ::close(fd);
}

}  // namespace

// ---------------------------------------------------------------------------------------

PostgresCluster::PostgresCluster() {
  const char* bindir = std::getenv("BATON_TEST_PG_BINDIR");
  bindir_ = bindir && *bindir ? bindir : "/usr/lib/postgresql/15/bin";
  for (const char* tool : {"initdb", "pg_ctl", "psql", "postgres"})
    if (!executable(bin(tool)))
      cluster_fail(bin(tool) + " is missing: install PostgreSQL 15 (apt-get install postgresql-15) "
                   "or set BATON_TEST_PG_BINDIR to its bin directory");
  keep_ = env_flag("BATON_TEST_KEEP");
  as_postgres_ = ::geteuid() == 0;

  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
  if (as_postgres_) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) cluster_fail("running as root, and there is no `postgres` user to run PostgreSQL as");
    owner_uid = pw->pw_uid;
    owner_gid = pw->pw_gid;
    for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"})
      if (executable(candidate)) {
        runuser_ = candidate;
        break;
      }
    if (runuser_.empty()) cluster_fail("running as root, and runuser (util-linux) is not installed");
  }

  char tmpl[] = "/tmp/baton-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) cluster_fail(std::string("mkdtemp: ") + std::strerror(errno));
  dir_ = tmpl;
  data_dir_ = dir_ + "/data";
  log_path_ = dir_ + "/postgres.log";
  try {
    if (as_postgres_ && ::chown(dir_.c_str(), owner_uid, owner_gid) != 0)
      cluster_fail("chown " + dir_ + " to postgres: " + std::strerror(errno));
    start_watchdog();
    // --no-sync only skips initdb's own flush of the new files; the server runs with fsync.
    run_checked({bin("initdb"), "-D", data_dir_, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                 "--locale=C", "--no-sync"},
                std::chrono::seconds(180), "initdb");
    append_config("listen_addresses = '127.0.0.1'\n"
                  "unix_socket_directories = '" + dir_ + "'\n"
                  "fsync = on\n"
                  "max_connections = 200\n");
    start_server();
  } catch (...) {
    shut_down();
    throw;
  }
}

PostgresCluster::~PostgresCluster() { shut_down(); }

std::string PostgresCluster::bin(const char* tool) const { return bindir_ + "/" + tool; }

std::vector<std::string> PostgresCluster::as_owner(const std::vector<std::string>& args) const {
  if (!as_postgres_) return args;
  std::vector<std::string> out = {runuser_, "-u", "postgres", "--"};
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

void PostgresCluster::append_config(const std::string& lines) const {
  // Later lines of postgresql.conf win over earlier ones. Root may write the postgres
  // user's file; it keeps its owner.
  std::ofstream conf(data_dir_ + "/postgresql.conf", std::ios::app);
  conf << "\n# baton integration tests\n" << lines;
  conf.flush();
  if (!conf) cluster_fail("cannot append to " + data_dir_ + "/postgresql.conf");
}

void PostgresCluster::start_server() {
  // The port is free when picked, and may be taken before the server binds it: then
  // another one.
  for (int attempt = 1;; ++attempt) {
    port_ = pick_free_port();
    append_config("port = " + std::to_string(port_) + "\n");
    Outcome o = run({bin("pg_ctl"), "-D", data_dir_, "-l", log_path_, "-w", "-t", "60", "start"},
                    std::chrono::seconds(90));
    if (!o.timed_out && WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0) break;
    const std::string log = read_file(log_path_);
    const bool port_taken = log.find("could not bind") != std::string::npos ||
                            log.find("Address already in use") != std::string::npos;
    if (port_taken && attempt < 3) {
      // A failed start may leave a postmaster.pid behind only if the server runs; stop
      // quietly in case it does, then try another port.
      run({bin("pg_ctl"), "-D", data_dir_, "-m", "immediate", "-w", "stop"}, std::chrono::seconds(30));
      continue;
    }
    cluster_fail("pg_ctl start failed (" + describe_status(o.status, o.timed_out) + "): " +
                 o.out + o.err + "\nserver log " + log_path_ + ":\n" + log_tail());
  }
  started_ = true;
  const std::string one = query("postgres", "SELECT 1");
  if (one != "1") cluster_fail("SELECT 1 answered \"" + one + "\"");
}

// ---------------------------------------------------------------------------------------
// Commands

PostgresCluster::Outcome PostgresCluster::run(const std::vector<std::string>& args,
                                              std::chrono::seconds timeout) const {
  std::vector<std::string> full = as_owner(args);
  std::vector<std::string> env = child_environment();
  std::vector<char*> argv = pointers(full);
  std::vector<char*> envp = pointers(env);
  const char* cwd = dir_.c_str();

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) cluster_fail(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    cluster_fail(std::string("pipe: ") + std::strerror(errno));
  }
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t child = ::fork();
  if (child < 0) {
    int e = errno;
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], null_fd})
      if (fd >= 0) ::close(fd);
    cluster_fail(std::string("fork: ") + std::strerror(e));
  }
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    // The postgres user may not be allowed into the test's working directory.
    if (::chdir(cwd) != 0) {
    }
    close_from(3);
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "postgres cluster: execve failed\n";
    [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (null_fd >= 0) ::close(null_fd);

  Outcome outcome;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_pipes = 2;
  const auto deadline = SteadyClock::now() + timeout;
  while (open_pipes > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) {
      outcome.timed_out = true;
      break;
    }
    int rc = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (rc < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[8192];
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? outcome.out : outcome.err).append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      ::close(fds[i].fd);
      fds[i].fd = -1;  // poll skips it from now on
      --open_pipes;
    }
  }
  if (outcome.timed_out) ::kill(child, SIGKILL);
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  outcome.status = status;
  return outcome;
}

std::string PostgresCluster::run_checked(const std::vector<std::string>& args,
                                         std::chrono::seconds timeout,
                                         const std::string& what) const {
  Outcome o = run(args, timeout);
  if (o.timed_out || !WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0)
    cluster_fail(what + " failed (" + describe_status(o.status, o.timed_out) + "): " +
                 show_command(as_owner(args)) + "\n" + o.out + o.err);
  return o.out;
}

std::string PostgresCluster::create_database() {
  const std::string name = "baton_" + unique_suffix();  // [a-z0-9_]: no quoting needed
  query("postgres", "CREATE DATABASE " + name);
  return name;
}

std::string PostgresCluster::url(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + database + " user=postgres";
}

std::string PostgresCluster::query(const std::string& database, const std::string& sql) {
  std::lock_guard lock(mu_);
  // -X: no ~/.psqlrc; -q: no command tags; -At: bare rows. Notices go to stderr, apart.
  std::string out = run_checked({bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                 "-h", "127.0.0.1", "-p", std::to_string(port_), "-U", "postgres",
                                 "-d", database, "-c", sql},
                                std::chrono::seconds(120), "psql (" + sql.substr(0, 200) + ")");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string PostgresCluster::log_tail(std::size_t lines) const {
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string out;
  for (const auto& l : tail) out += "  | " + l + "\n";
  return out.empty() ? "  | (empty)\n" : out;
}

// ---------------------------------------------------------------------------------------
// Watchdog: a child in a session of its own (the test runner's kill of our process group
// does not reach it) that blocks reading a pipe whose only writer is this process. One
// byte means "cleaned up, exit"; end of file means this process died: it stops the server
// and removes the directory itself.

void PostgresCluster::start_watchdog() {
  std::vector<std::string> stop_args =
      as_owner({bin("pg_ctl"), "-D", data_dir_, "-m", "immediate", "-w", "-t", "30", "stop"});
  std::vector<std::string> rm_args = {"/bin/rm", "-rf", dir_};
  std::vector<std::string> env = child_environment();
  std::vector<char*> stop_argv = pointers(stop_args);
  std::vector<char*> rm_argv = pointers(rm_args);
  std::vector<char*> envp = pointers(env);
  const bool keep = keep_;
  const char* cwd = dir_.c_str();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) cluster_fail(std::string("pipe: ") + std::strerror(errno));
  // Well above 3, so that the child's dup2s below cannot land on them.
  int read_fd = ::fcntl(fds[0], F_DUPFD_CLOEXEC, 10);
  int write_fd = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
  ::close(fds[0]);
  ::close(fds[1]);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (read_fd < 0 || write_fd < 0 || null_fd < 0) {
    for (int fd : {read_fd, write_fd, null_fd})
      if (fd >= 0) ::close(fd);
    cluster_fail(std::string("watchdog pipe: ") + std::strerror(errno));
  }
  pid_t child = ::fork();
  if (child < 0) {
    int e = errno;
    ::close(read_fd);
    ::close(write_fd);
    ::close(null_fd);
    cluster_fail(std::string("fork: ") + std::strerror(e));
  }
  if (child == 0) {
    // Single-threaded from here, but a copy of a possibly multi-threaded process: only
    // async-signal-safe calls, and everything prepared above.
    ::setsid();
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::signal(sig, SIG_IGN);
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
    ::dup2(read_fd, 3);
    close_from(4);  // our copy of the write end too, else EOF never comes
    char byte = 0;
    ssize_t n;
    do {
      n = ::read(3, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) ::_exit(0);  // the owner cleaned up
    ::close(3);
    pid_t stopper = ::fork();
    if (stopper == 0) {
      if (::chdir(cwd) != 0) {
      }
      ::execve(stop_argv[0], stop_argv.data(), envp.data());
      ::_exit(127);
    }
    if (stopper > 0) {
      int status;
      while (::waitpid(stopper, &status, 0) < 0 && errno == EINTR) {
      }
    }
    if (keep) ::_exit(0);
    if (::chdir("/") != 0) {
    }
    ::execve(rm_argv[0], rm_argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(read_fd);
  ::close(null_fd);
  watchdog_ = child;
  watchdog_fd_ = write_fd;
}

void PostgresCluster::stop_watchdog() noexcept {
  int status = 0;
  if (watchdog_ > 0 && ::waitpid(watchdog_, &status, WNOHANG) == watchdog_)
    watchdog_ = -1;  // it is gone (only SIGKILL stops it): a write would raise SIGPIPE
  if (watchdog_fd_ >= 0) {
    if (watchdog_ > 0) {
      const char done = 'q';
      [[maybe_unused]] auto n = ::write(watchdog_fd_, &done, 1);
    }
    ::close(watchdog_fd_);
    watchdog_fd_ = -1;
  }
  if (watchdog_ > 0) {
    while (::waitpid(watchdog_, &status, 0) < 0 && errno == EINTR) {
    }
    watchdog_ = -1;
  }
}

void PostgresCluster::shut_down() noexcept {
  try {
    // Also after a start that failed half-way: a postmaster may be up all the same.
    std::error_code ec;
    if (started_ || (!data_dir_.empty() && std::filesystem::exists(data_dir_ + "/postmaster.pid", ec))) {
      started_ = false;
      Outcome o = run({bin("pg_ctl"), "-D", data_dir_, "-m", "immediate", "-w", "-t", "30", "stop"},
                      std::chrono::seconds(60));
      if (o.timed_out || !WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0)
        std::cerr << "[postgres] pg_ctl stop failed (" << describe_status(o.status, o.timed_out)
                  << "): " << o.out << o.err << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "[postgres] stopping the server: " << e.what() << std::endl;
  }
  stop_watchdog();
  if (dir_.empty()) return;
  if (keep_) {
    std::cerr << "[postgres] kept " << dir_ << " (server log " << log_path_ << ")" << std::endl;
  } else {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  dir_.clear();
}

// ---------------------------------------------------------------------------------------
// Shared cluster

namespace {
struct SharedSlot {
  std::mutex mu;
  std::unique_ptr<PostgresCluster> cluster;
  std::string failure;  // why the first start failed
};
SharedSlot& shared_slot() {
  static SharedSlot slot;
  return slot;
}
}  // namespace

PostgresCluster& shared_postgres() {
  SharedSlot& slot = shared_slot();
  std::lock_guard lock(slot.mu);
  if (slot.cluster) return *slot.cluster;
  if (!slot.failure.empty()) throw std::runtime_error(slot.failure + " (first start, remembered)");
  try {
    slot.cluster = std::make_unique<PostgresCluster>();
  } catch (const std::exception& e) {
    slot.failure = e.what();
    throw;
  }
  return *slot.cluster;
}

void release_shared_postgres() {
  SharedSlot& slot = shared_slot();
  std::lock_guard lock(slot.mu);
  slot.cluster.reset();
}

}  // namespace baton::test
