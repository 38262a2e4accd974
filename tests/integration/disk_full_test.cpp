// A full disk, for real: the server's data directory lives on a small tmpfs this test
// mounts (it runs as root, as CI does), and a filler file takes the last free byte.
// Writes must get 503 `unavailable` with a contract and Retry-After, /health must say
// `degraded`, reads must keep working, nothing acknowledged may be lost, and once the
// filler is gone the server must take writes again by itself.
#define BOOST_TEST_MODULE disk_full
#include <boost/test/included/unit_test.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "integration/harness.hpp"

using namespace baton::test;
using namespace std::chrono_literals;

namespace {

// A tmpfs of `megabytes`, mounted for the test's lifetime.
struct SmallDisk {
  std::filesystem::path path;

  explicit SmallDisk(int megabytes) {
    char pattern[] = "/tmp/baton-disk-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path = pattern;
    const std::string size = "size=" + std::to_string(megabytes) + "m";
    if (::mount("tmpfs", path.c_str(), "tmpfs", 0, size.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      std::filesystem::remove(path);
      throw std::runtime_error("cannot mount a tmpfs for the data directory (" + why +
                               "): this test needs root, as CI runs it");
    }
  }
  ~SmallDisk() {
    ::umount2(path.c_str(), MNT_DETACH);
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

// Writes to `file` until the file system refuses: returns the bytes written.
std::uintmax_t fill(const std::filesystem::path& file) {
  std::FILE* out = std::fopen(file.c_str(), "wb");
  if (!out) throw std::runtime_error("cannot create the filler file");
  std::vector<char> block(64 * 1024, 'f');
  std::uintmax_t written = 0;
  for (;;) {
    std::size_t n = std::fwrite(block.data(), 1, block.size(), out);
    written += n;
    if (n < block.size() || std::fflush(out) != 0) break;
  }
  std::fclose(out);
  return written;
}


}  // namespace

BOOST_AUTO_TEST_CASE(a_full_disk_answers_503_keeps_reads_loses_nothing_and_recovers_by_itself) {
  SmallDisk disk(256);
  ServerOptions options = ServerOptions{}
                              .with("storage.sync", "batch")
                              .with("storage.wal_spare_bytes", "0");
  options.data_dir = (disk.path / "data").string();
  TestServer server(options);
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "diskfull_" + unique_suffix();
  const json::object padded{{"payload", json::object{{"pad", std::string(60000, 'p')}}}};

  std::vector<std::string> acknowledged;
  for (int i = 0; i < 20; ++i) acknowledged.push_back(c.create_task_id(key, task_body(type, padded)));

  const std::filesystem::path filler = disk.path / "filler";
  const std::uintmax_t filled = fill(filler);
  BOOST_TEST_MESSAGE("filler took " << filled / 1024 << " KiB");

  // Creates until one is refused: the first write that needs a new byte on disk.
  Response refused;
  for (int i = 0; i < 4000 && refused.status == 0; ++i) {
    Response r = c.create_task(key, task_body(type, padded));
    if (r.status == 201) {
      acknowledged.push_back(r.task_id());
    } else {
      refused = r;
    }
  }
  BOOST_TEST_MESSAGE(acknowledged.size() << " creates acknowledged before the refusal");
  BATON_CHECK_ERROR(refused, "unavailable");
  BOOST_TEST(refused.has_header("Retry-After"));

  Response health = c.get("/health", "");
  BATON_CHECK_STATUS(health, 503);
  BOOST_TEST(health.obj().at("status").as_string() == "degraded");
  BOOST_TEST(health.obj().at("storage").at("writable").as_bool() == false);
  BOOST_TEST(health.has_header("Retry-After"));

  // Reads go on: every acknowledged task, and the listing.
  for (const auto& id : acknowledged) BATON_CHECK_STATUS(c.get_task(key, id), 200);
  BATON_CHECK_STATUS(c.list_tasks(key), 200);
  // And so do refusals of writes, with the same contract.
  BATON_CHECK_ERROR(c.create_task(key, task_body(type)), "unavailable");

  std::filesystem::remove(filler);
  BOOST_TEST(poll_until([&] { return c.get("/health", "").status == 200; }, 20s),
             "storage recovers by itself once there is room");
  Response after = c.create_task(key, task_body(type));
  BATON_CHECK_STATUS(after, 201);
  if (after.status == 201) acknowledged.push_back(after.task_id());
  BOOST_TEST(c.get("/health", "").obj().at("storage").at("recoveries").as_int64() >= 1);

  // Nothing acknowledged is lost, also across a crash.
  for (const auto& id : acknowledged) BATON_CHECK_STATUS(c.get_task(key, id), 200);
  server.kill9();
  server.restart();
  Client again = server.client();
  for (const auto& id : acknowledged) BATON_CHECK_STATUS(again.get_task(key, id), 200);
}
