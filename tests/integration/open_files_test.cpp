// The open-file budget (issue: descriptor exhaustion): with a low RLIMIT_NOFILE the server
// lowers its connection cap so that idle connections can never take the descriptors
// storage needs, keeps writing through a WAL switch, and refuses to start when not even
// storage fits.
#define BOOST_TEST_MODULE open_files
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "integration/harness.hpp"
#include "support/temp_dir.hpp"

using namespace baton::test;
namespace fs = std::filesystem;

namespace {

std::set<std::string> wal_files(const std::string& data_dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(data_dir)) {
    if (entry.path().extension() == ".log") names.insert(entry.path().filename().string());
  }
  return names;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_low_open_file_limit_lowers_the_connection_cap_and_storage_keeps_writing) {
  ServerOptions options;
  options.max_open_files = 600;  // storage and shards reserve 400: 200 connections are left
  options.with("server.max_connections_per_ip", "0").with("server.idle_timeout_seconds", "120");
  TestServer server(options);
  std::string log = read_file(server.log_path());
  BOOST_TEST(log.find("server.max_connections lowered to fit the open-file limit") != std::string::npos);
  BOOST_TEST(log.find("10000 -> 200") != std::string::npos, log);

  // An attacker holds every connection it can get.
  std::vector<std::unique_ptr<RawConnection>> held;
  int served = 0, refused = 0;
  for (int i = 0; i < 700; ++i) {  // more than the limit itself
    auto c = std::make_unique<RawConnection>(server.port());
    c->send(raw_request("GET", "/health", ""));
    RawRead r = c->read_response(3s);
    if (r.status() == 200) {
      ++served;
      held.push_back(std::move(c));
    } else {
      BOOST_REQUIRE_MESSAGE(r.status() == 503, r.data.substr(0, 200));
      ++refused;
    }
  }
  BOOST_TEST(served <= 200);
  BOOST_TEST(served >= 190);  // each shard's share, rounded
  BOOST_TEST(refused == 700 - served);
  held.resize(held.size() - 20);  // room for the producer below, on either shard
  // The server notices the closes as it gets to them: try until a connection is served.
  std::optional<Client> serving;
  BOOST_REQUIRE(poll_until(
      [&] {
        Client c = server.client();
        if (c.get("/health", "").status != 200) return false;
        serving.emplace(std::move(c));
        return true;
      },
      10s, 100ms));
  Client& producer = *serving;

  // Creates until RocksDB switches to a new WAL file: it must get the descriptor.
  std::string key = producer.register_key();
  std::set<std::string> first = wal_files(server.data_dir());
  const std::string blob(60000, 'x');
  bool switched = false;
  for (int i = 0; i < 3000 && !switched; ++i) {
    Response r = producer.create_task(key, js({{"type", "fd"}, {"payload", {{"blob", blob}}}}));
    BOOST_REQUIRE_MESSAGE(r.status == 201, "create " << i << ": " << r.describe());
    if (i % 50 == 49) {
      for (const std::string& name : wal_files(server.data_dir())) switched |= !first.count(name);
    }
  }
  BOOST_TEST(switched);
  Response health = producer.get("/health", "");
  BATON_CHECK_STATUS(health, 200);
  BOOST_TEST(std::string(health.obj().at("status").as_string()) == "ok");
  BATON_CHECK_STATUS(producer.create_task(key, task_body("after_switch")), 201);
  BOOST_TEST(read_file(server.log_path()).find("storage failed") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_limit_that_leaves_no_room_for_connections_refuses_to_start) {
  baton::test::TempDir dir;
  std::string data = (dir.path / "data").string();
  std::string err = (dir.path / "stderr").string();
  const char* bin = std::getenv("BATON_BIN");
  BOOST_REQUIRE(bin != nullptr);
  pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    rlimit limit{200, 200};
    ::setrlimit(RLIMIT_NOFILE, &limit);
    FILE* out = std::freopen(err.c_str(), "w", stderr);
    (void)out;
    ::execl(bin, bin, "serve", "--listen", "127.0.0.1:0", "--data", data.c_str(), nullptr);
    ::_exit(127);
  }
  int status = 0;
  for (int i = 0; i < 200 && ::waitpid(child, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  if (!WIFEXITED(status)) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
    BOOST_FAIL("serve did not exit with a limit of 200 open files");
  }
  BOOST_TEST(WEXITSTATUS(status) == 1);
  std::string text = read_file(err);
  BOOST_TEST(text.find("open-file limit leaves no room for connections") != std::string::npos, text);
  BOOST_TEST(text.find("limit 200") != std::string::npos, text);
  BOOST_TEST(!fs::exists(data), "nothing is written before the refusal");
}
