// The command line (issue: CLI): `baton version`, `--help`, `check-config` (prints the
// effective config, exit 2 naming key and line, unknown keys warned), and `serve` refusing
// a data directory in a format it does not know. Runs the real binary as a child process.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "store/db.hpp"
#include "store/format.hpp"
#include "store/keys.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;

struct Run {
  int exit_code = -1;  // -1: killed after the timeout or by a signal
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs BATON_BIN with `args`, stdout and stderr captured; killed after `timeout`.
Run run_baton(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 15s) {
  const char* bin = std::getenv("BATON_BIN");
  BOOST_REQUIRE_MESSAGE(bin, "BATON_BIN is not set");
  baton::test::TempDir io("baton-cli");
  std::string out_path = (io.path / "out").string(), err_path = (io.path / "err").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> argv_strings{bin};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int spawned = posix_spawn(&pid, bin, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  BOOST_REQUIRE_MESSAGE(spawned == 0, "cannot start " << bin);
  Run run;
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
    std::this_thread::sleep_for(10ms);
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  run.out = slurp(out_path);
  run.err = slurp(err_path);
  return run;
}

std::string write_file(const baton::test::TempDir& dir, const std::string& name,
                       const std::string& text) {
  std::string path = (dir.path / name).string();
  std::ofstream(path) << text;
  return path;
}

// Adds a column family this binary does not know, as another build's layout would.
void add_family(baton::Db& db, const std::string& name) {
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  BOOST_REQUIRE(db.raw().CreateColumnFamily(rocksdb::ColumnFamilyOptions(), name, &handle).ok());
  db.raw().DestroyColumnFamilyHandle(handle);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(serve_refuses_a_directory_of_another_layout) {
  // As an early build left it: families this binary does not know, no format recorded.
  baton::test::TempDir dir("baton-cli");
  std::string data = (dir.path / "data").string();
  {
    std::string error;
    auto db = baton::Db::open(data, &error);
    BOOST_REQUIRE_MESSAGE(db, error);
    add_family(*db, "ready");
    add_family(*db, "timers");
  }
  std::string config = write_file(dir, "baton.yaml",
                                  "server:\n  listen: \"127.0.0.1:0\"\n  shards: 1\n"
                                  "storage:\n  sync: none\n");
  Run refused = run_baton({"serve", "--config", config, "--data", data}, 20s);
  BOOST_TEST(refused.exit_code == 1, "exit " << refused.exit_code << ": " << refused.err);
  BOOST_TEST(has(refused.err, "ready, timers"), refused.err);
  std::string error;
  auto db = baton::Db::open(data, &error);
  BOOST_REQUIRE_MESSAGE(db, error);
  BOOST_TEST(!db->get(baton::Cf::meta, baton::keys::kMetaFormatVersion), "nothing recorded for it");
}

BOOST_AUTO_TEST_CASE(version_and_help_exit_0) {
  Run version = run_baton({"version"});
  BOOST_TEST(version.exit_code == 0);
  BOOST_TEST(version.out.rfind("baton ", 0) == 0u, version.out);
  BOOST_TEST(has(version.out, "data format " + std::to_string(baton::kDataFormat)), version.out);
  Run help = run_baton({"--help"});
  BOOST_TEST(help.exit_code == 0);
  for (const char* command : {"serve", "check-config", "version"})
    BOOST_TEST(has(help.out, command), "--help does not mention " << command);
  Run unknown = run_baton({"frobnicate"});
  BOOST_TEST(unknown.exit_code == 2);
}

BOOST_AUTO_TEST_CASE(check_config_prints_the_effective_config_and_names_bad_keys) {
  baton::test::TempDir dir("baton-cli");
  std::string good = write_file(dir, "good.yaml",
                                "server:\n  listen: \"127.0.0.1:7999\"\nstorage:\n  sync: always\n");
  Run ok = run_baton({"check-config", good});
  BOOST_TEST(ok.exit_code == 0, ok.err);
  BOOST_TEST(has(ok.out, "127.0.0.1:7999"), ok.out);
  BOOST_TEST(has(ok.out, "always"), ok.out);
  BOOST_TEST(has(ok.out, "max_body_bytes"), "defaults are printed too: " << ok.out);

  // A bad value: exit 2, and the message names the key and its line.
  std::string bad = write_file(dir, "bad.yaml", "server:\n  shards: 2\n  max_body_bytes: lots\n");
  Run refused = run_baton({"check-config", bad});
  BOOST_TEST(refused.exit_code == 2);
  std::string said = refused.out + refused.err;
  BOOST_TEST(has(said, bad + ":3: server.max_body_bytes"), "file, line 3 and key: " << said);

  // An unknown key: a warning naming it, and the config is still valid.
  std::string odd = write_file(dir, "odd.yaml", "server:\n  shards: 1\n  shard_count: 4\n");
  Run warned = run_baton({"check-config", odd});
  BOOST_TEST(warned.exit_code == 0, warned.err);
  BOOST_TEST(has(warned.err, odd + ":3: server.shard_count"), warned.err);
  BOOST_TEST(has(warned.err, "warning"), warned.err);

  Run missing = run_baton({"check-config", (dir.path / "nope.yaml").string()});
  BOOST_TEST(missing.exit_code == 2);
}

BOOST_AUTO_TEST_CASE(serve_records_the_data_format_and_refuses_a_newer_one) {
  baton::test::TempDir dir("baton-cli");
  std::string data = (dir.path / "data").string();
  std::string config = write_file(dir, "baton.yaml",
                                  "server:\n  listen: \"127.0.0.1:0\"\n  shards: 1\n"
                                  "storage:\n  sync: none\nlog:\n  level: warn\n");
  // A directory written in a format from the future, holding one record of ours and a
  // column family this binary does not know.
  {
    std::string error;
    auto db = baton::Db::open(data, &error);
    BOOST_REQUIRE_MESSAGE(db, error);
    add_family(*db, "tomorrow");
    rocksdb::WriteBatch batch;
    batch.Put(db->cf(baton::Cf::meta), baton::keys::kMetaFormatVersion, std::to_string(baton::kDataFormat + 1));
    batch.Put(db->cf(baton::Cf::accounts), "acct_kept", "x");
    BOOST_REQUIRE(db->write(batch, true).empty());
  }
  Run refused = run_baton({"serve", "--config", config, "--data", data}, 20s);
  BOOST_TEST(refused.exit_code == 1, "exit " << refused.exit_code << ": " << refused.err);
  std::string said = refused.out + refused.err;
  BOOST_TEST(has(said, "format " + std::to_string(baton::kDataFormat + 1)), said);
  BOOST_TEST(has(said, "newer"), said);
  BOOST_TEST(!has(said, "not opened"), "RocksDB's own refusal, not ours: " << said);
  {
    std::string error;
    auto db = baton::Db::open(data, &error);
    BOOST_REQUIRE_MESSAGE(db, error);
    BOOST_TEST(*db->get(baton::Cf::meta, baton::keys::kMetaFormatVersion) == std::to_string(baton::kDataFormat + 1));
    BOOST_TEST(db->get(baton::Cf::accounts, "acct_kept").has_value());
    BOOST_TEST(db->unknown_families() == std::vector<std::string>{"tomorrow"});
  }

  // A directory without a recorded format (as every one before it was recorded) is
  // format 1: served, and the format is written down.
  data = (dir.path / "unrecorded").string();
  {
    std::string error;
    auto db = baton::Db::open(data, &error);
    BOOST_REQUIRE_MESSAGE(db, error);
  }
  BOOST_REQUIRE(baton::kDataFormat == 1);  // else this part needs a migration to test
  {
    std::string error;
    auto db = baton::Db::open(data, &error);
    BOOST_REQUIRE_MESSAGE(db, error);
    BOOST_TEST(baton::check_format(*db) == "");
    BOOST_TEST(*db->get(baton::Cf::meta, baton::keys::kMetaFormatVersion) == "1");
    BOOST_TEST(baton::check_format(*db) == "");  // and again, once recorded
  }
  // A corrupt value is refused, not taken for a format.
  {
    std::string error;
    auto db = baton::Db::open(data, &error);
    BOOST_REQUIRE_MESSAGE(db, error);
    rocksdb::WriteBatch batch;
    batch.Put(db->cf(baton::Cf::meta), baton::keys::kMetaFormatVersion, "1x");
    BOOST_REQUIRE(db->write(batch, true).empty());
    BOOST_TEST(has(baton::check_format(*db), "not a format number"));
  }
}
