#pragma once
// A private PostgreSQL 15 server for one test process, for the tests of the postgres
// storage engine: initdb into a fresh /tmp/baton-pg-XXXXXX, a free loopback port, the
// unix socket in that directory, trust authentication, fsync on. Each test makes its own
// database with create_database() and points its servers at url(name).
//
// PostgreSQL refuses to run as root: under root, initdb, pg_ctl and psql run as the
// `postgres` system user (runuser) and the directory is chowned to it first.
//
// The binaries come from /usr/lib/postgresql/15/bin (BATON_TEST_PG_BINDIR overrides).
// The destructor stops the server (pg_ctl -m immediate stop) and removes the directory,
// which BATON_TEST_KEEP=1 keeps. A watchdog process does the same if the test process dies
// without running it (a crash, a kill by the test runner's timeout), so no server is left
// behind. Failures throw std::runtime_error with the command and its output.
#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace baton::test {

class PostgresCluster {
 public:
  PostgresCluster();  // initdb and start; throws when either fails
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  const std::string& log_path() const { return log_path_; }

  // CREATE DATABASE with a fresh name (baton_<pid>_<salt>_<n>); returns the name.
  std::string create_database();
  // libpq conninfo: "host=127.0.0.1 port=<port> dbname=<database> user=postgres".
  std::string url(const std::string& database) const;
  // psql -At -c <sql> against `database`: the output without its trailing newline
  // (rows on lines, columns separated by '|'). Throws on any SQL error.
  std::string query(const std::string& database, const std::string& sql);
  // The server log's last lines, for failure messages.
  std::string log_tail(std::size_t lines = 40) const;

 private:
  struct Outcome {
    int status = 0;  // waitpid status
    bool timed_out = false;
    std::string out, err;
  };
  std::string bin(const char* tool) const;
  // `args` as the owner of the cluster: the current user, or postgres under root.
  std::vector<std::string> as_owner(const std::vector<std::string>& args) const;
  Outcome run(const std::vector<std::string>& args, std::chrono::seconds timeout) const;
  std::string run_checked(const std::vector<std::string>& args, std::chrono::seconds timeout,
                          const std::string& what) const;
  void append_config(const std::string& lines) const;
  void start_server();
  void start_watchdog();
  void stop_watchdog() noexcept;
  void shut_down() noexcept;  // stop the server, the watchdog, remove the directory

  std::string bindir_, runuser_, dir_, data_dir_, log_path_;
  int port_ = 0;
  bool as_postgres_ = false;
  bool keep_ = false;
  bool started_ = false;
  pid_t watchdog_ = -1;
  int watchdog_fd_ = -1;  // closing it (or the process dying) wakes the watchdog
  std::mutex mu_;         // create_database and query may come from several threads
};

// One cluster per test process, started on first use; a failed start is remembered and
// rethrown, so later tests fail at once with the same reason.
PostgresCluster& shared_postgres();
void release_shared_postgres();  // stops it (also done at exit)
// Use as BOOST_TEST_GLOBAL_FIXTURE(baton::test::SharedPostgresGuard);
struct SharedPostgresGuard {
  SharedPostgresGuard() = default;
  ~SharedPostgresGuard() { release_shared_postgres(); }
};

}  // namespace baton::test
