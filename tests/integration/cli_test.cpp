// The command line (issue: CLI): `baton version`, `--help`, `check-config` (prints the
// effective config, exit 2 naming key and line, unknown keys warned), and `serve` refusing
// a data directory in a format it does not know. Runs the real binary as a child process.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "integration/command.hpp"
#include "integration/harness.hpp"
#include "store/db.hpp"
#include "store/format.hpp"
#include "support/temp_dir.hpp"

using namespace baton::test;

namespace {

std::string write_file(const baton::test::TempDir& dir, const std::string& name,
                       const std::string& text) {
  std::string path = (dir.path / name).string();
  std::ofstream(path) << text;
  return path;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A RocksDB database at `path` holding exactly these column families (besides
// "default"), as another build or another program would leave it.
void make_database(const std::string& path, const std::vector<std::string>& families) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors{
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()}};
  for (const auto& name : families) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  BOOST_REQUIRE(rocksdb::DB::Open(options, path, descriptors, &handles, &db).ok());
  BOOST_REQUIRE(db->Put(rocksdb::WriteOptions(), handles.back(), "k", "v").ok());
  for (auto* handle : handles) db->DestroyColumnFamilyHandle(handle);
  delete db;
}

// Every file under `path` with its size and modification time: equal before and after
// means nothing was created, removed or written there.
std::map<std::string, std::string> directory_state(const std::string& path) {
  std::map<std::string, std::string> state;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
    std::ostringstream what;
    if (entry.is_directory()) what << "dir"; else what << entry.file_size();
    what << '@' << entry.last_write_time().time_since_epoch().count();
    state[std::filesystem::relative(entry.path(), path).string()] = what.str();
  }
  return state;
}

std::string serve_config(const baton::test::TempDir& dir) {
  // batch with spares: an open would write a spare WAL file and a new WAL at once.
  return write_file(dir, "baton.yaml",
                    "server:\n  listen: \"127.0.0.1:0\"\n  shards: 1\n"
                    "storage:\n  sync: batch\n  wal_spare_bytes: 1048576\n");
}

// Runs `baton serve` on `data`, which it must refuse (exit 1) without touching it;
// returns what it said.
std::string refused_untouched(const baton::test::TempDir& dir, const std::string& data) {
  auto before = directory_state(data);
  CommandRun run = run_baton({"serve", "--config", serve_config(dir), "--data", data}, {}, 20s);
  BOOST_TEST(run.exit_code == 1, "exit " << run.exit_code << ": " << run.err);
  BOOST_TEST(has(run.err, "cannot serve this data directory"), run.err);
  BOOST_TEST((directory_state(data) == before), "serve changed the refused directory");
  BOOST_TEST(!std::filesystem::exists(data + "/wal-spares"));
  return run.err;
}

}  // namespace

BOOST_AUTO_TEST_CASE(version_and_help_exit_0) {
  CommandRun version = run_baton({"version"});
  BOOST_TEST(version.exit_code == 0);
  BOOST_TEST(version.out.rfind("baton ", 0) == 0u, version.out);
  BOOST_TEST(has(version.out, "data format " + std::to_string(baton::kDataFormat)), version.out);
  CommandRun help = run_baton({"--help"});
  BOOST_TEST(help.exit_code == 0);
  for (const char* command : {"serve", "check-config", "version"})
    BOOST_TEST(has(help.out, command), "--help does not mention " << command);
  CommandRun unknown = run_baton({"frobnicate"});
  BOOST_TEST(unknown.exit_code == 2);
}

BOOST_AUTO_TEST_CASE(check_config_prints_the_effective_config_and_names_bad_keys) {
  baton::test::TempDir dir("baton-cli");
  std::string good = write_file(dir, "good.yaml",
                                "server:\n  listen: \"127.0.0.1:7999\"\nstorage:\n  sync: always\n");
  CommandRun ok = run_baton({"check-config", good});
  BOOST_TEST(ok.exit_code == 0, ok.err);
  BOOST_TEST(has(ok.out, "127.0.0.1:7999"), ok.out);
  BOOST_TEST(has(ok.out, "always"), ok.out);
  BOOST_TEST(has(ok.out, "max_body_bytes"), "defaults are printed too: " << ok.out);

  // A bad value: exit 2, and the message names the key and its line.
  std::string bad = write_file(dir, "bad.yaml", "server:\n  shards: 2\n  max_body_bytes: lots\n");
  CommandRun refused = run_baton({"check-config", bad});
  BOOST_TEST(refused.exit_code == 2);
  std::string said = refused.out + refused.err;
  BOOST_TEST(has(said, bad + ":3: server.max_body_bytes"), "file, line 3 and key: " << said);

  // An unknown key: a warning naming it, and the config is still valid.
  std::string odd = write_file(dir, "odd.yaml", "server:\n  shards: 1\n  shard_count: 4\n");
  CommandRun warned = run_baton({"check-config", odd});
  BOOST_TEST(warned.exit_code == 0, warned.err);
  BOOST_TEST(has(warned.err, odd + ":3: server.shard_count"), warned.err);
  BOOST_TEST(has(warned.err, "warning"), warned.err);

  CommandRun missing = run_baton({"check-config", (dir.path / "nope.yaml").string()});
  BOOST_TEST(missing.exit_code == 2);
}

BOOST_AUTO_TEST_CASE(serve_refuses_a_newer_format_and_writes_nothing) {
  baton::test::TempDir dir("baton-cli");
  std::string data = (dir.path / "data").string();
  {
    std::string error;
    auto db = baton::Db::open(data, &error);
    BOOST_REQUIRE_MESSAGE(db, error);
  }
  write_file(dir, "data/" + std::string(baton::kDataFormatFile),
             std::to_string(baton::kDataFormat + 1) + "\n");
  std::string said = refused_untouched(dir, data);
  BOOST_TEST(has(said, "format " + std::to_string(baton::kDataFormat + 1)), said);
  BOOST_TEST(has(said, "newer"), said);

  // Not a number: refused as well, not read as some format.
  write_file(dir, "data/" + std::string(baton::kDataFormatFile), "1x\n");
  BOOST_TEST(has(refused_untouched(dir, data), "does not hold a format number"));
}

BOOST_AUTO_TEST_CASE(serve_refuses_another_layout_or_a_foreign_database_and_writes_nothing) {
  baton::test::TempDir dir("baton-cli");
  // As an early build left it: `ready` and `timers` where `active` is now.
  std::string old_layout = (dir.path / "old").string();
  make_database(old_layout, {"tasks", "ready", "timers", "listing", "idempotency", "accounts",
                             "keys", "meta"});
  std::string said = refused_untouched(dir, old_layout);
  BOOST_TEST(has(said, "ready, timers"), said);
  // Another program's RocksDB database: none of Baton's families.
  std::string foreign = (dir.path / "foreign").string();
  make_database(foreign, {});
  said = refused_untouched(dir, foreign);
  BOOST_TEST(has(said, "not a Baton data directory"), said);
  BOOST_TEST(has(said, "tasks, active"), said);
}

BOOST_AUTO_TEST_CASE(serve_records_the_format_of_a_directory_without_one) {
  TestServer server;
  std::string file = server.data_dir() + "/" + baton::kDataFormatFile;
  BOOST_TEST(read_file(file) == std::to_string(baton::kDataFormat) + "\n");
  // A directory from before the file existed: served as format 1, and recorded.
  server.stop();
  std::filesystem::remove(file);
  BOOST_REQUIRE(baton::kDataFormat == 1);  // a later format needs a migration test here
  BOOST_TEST(baton::check_data_directory(server.data_dir()) == "");
  server.restart();
  BATON_CHECK_STATUS(server.client().get("/health", ""), 200);
  BOOST_TEST(read_file(file) == "1\n");
  BOOST_TEST(!std::filesystem::exists(file + ".partial"));
}
