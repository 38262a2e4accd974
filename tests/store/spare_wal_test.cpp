// WAL files written ahead of use (store/spare_wal.hpp): RocksDB writes into a spare of
// zeros, a crash image of such a WAL replays every synced write and nothing else, writes
// that run past the spare's end are kept, the next spare is ready for the next WAL file,
// files left by an earlier run are removed, and a second process leaves the spares alone.
#define BOOST_TEST_MODULE store_spare_wal
#include <boost/test/unit_test.hpp>

#include <rocksdb/db.h>
#include <rocksdb/file_system.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/db.hpp"
#include "store/spare_wal.hpp"
#include "support/db_fixtures.hpp"
#include "support/temp_dir.hpp"

using namespace baton;
using baton::test::key_of;
using baton::test::open_db;
using baton::test::value_of;
namespace fs = std::filesystem;

namespace {



// Writes keys [from, to) in batches of 10, each batch synced as the group commit does:
// an unsynced write, then sync_wal().
void write_keys(Db& db, int from, int to) {
  for (int i = from; i < to;) {
    rocksdb::WriteBatch batch;
    for (int end = std::min(to, i + 10); i < end; ++i) {
      BOOST_REQUIRE(batch.Put(db.cf(Cf::meta), key_of(i), value_of(i)).ok());
    }
    BOOST_REQUIRE(db.write(batch, false).ok());
    BOOST_REQUIRE(db.sync_wal().ok());
  }
}

int count_keys(Db& db) {
  int count = 0;
  auto it = db.iterate(Cf::meta);
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++count;
  return count;
}

void require_keys(Db& db, int count) {
  BOOST_TEST(count_keys(db) == count);
  for (int i = 0; i < count; ++i) {
    auto value = db.get(Cf::meta, key_of(i));
    BOOST_REQUIRE_MESSAGE(value, key_of(i) << " is missing");
    BOOST_TEST(*value == value_of(i));
  }
}

// Closes the database, opens it again and checks it holds keys [0, count).
void require_keys_after_reopen(std::unique_ptr<Db>& db, const fs::path& path,
                               std::uint64_t spare, int count) {
  db.reset();
  db = open_db(path, spare);
  require_keys(*db, count);
}

std::vector<fs::path> wal_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".log") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What a kill -9 leaves: the database's files as they are while it is open. The spare
// directory stays behind (a start removes it anyway), and the spare thread may be
// renaming a file there while the copy would list it.
void copy_crash_image(const fs::path& from, const fs::path& to) {
  for (const auto& entry : fs::directory_iterator(from)) {
    if (entry.is_regular_file()) {
      fs::copy_file(entry.path(), to / entry.path().filename(), fs::copy_options::overwrite_existing);
    }
  }
}

// A database with spares of `spare` bytes that wrote keys [0, count), and the image a
// kill -9 would have left of it.
struct CrashImage {
  test::TempDir dir{"baton-spare"};
  test::TempDir image{"baton-spare-image"};
  CrashImage(std::uint64_t spare, int count) {
    auto db = open_db(dir.path, spare);
    write_keys(*db, 0, count);
    copy_crash_image(dir.path, image.path);
  }
};

// Bytes of `path` up to its last non-zero byte.
std::uintmax_t data_end(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t end = bytes.find_last_not_of('\0');
  return end == std::string::npos ? 0 : end + 1;
}

// True once the background thread has a whole spare ready (up to 5 s).
bool wait_for_ready_spare(const fs::path& dir) {
  for (int i = 0; i < 500; ++i) {
    for (const auto& entry : fs::directory_iterator(dir / "wal-spares")) {
      if (entry.path().extension() == ".ready") return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_first_wal_file_is_a_spare_and_a_clean_close_trims_it) {
  constexpr std::uint64_t kSpare = 256 << 10;
  test::TempDir dir("baton-spare");
  {
    auto db = open_db(dir.path, kSpare);
    BOOST_TEST(db->wal_spare_stats().spares_used == 1u);
    BOOST_TEST(db->wal_spare_stats().spares_missed == 0u);
    write_keys(*db, 0, 20);
    auto wals = wal_files(dir.path);
    BOOST_REQUIRE(wals.size() == 1u);
    BOOST_TEST(fs::file_size(wals.front()) == kSpare);  // written into, not appended to
  }
  auto wals = wal_files(dir.path);
  BOOST_REQUIRE(wals.size() == 1u);
  BOOST_TEST(fs::file_size(wals.front()) < kSpare);
  BOOST_TEST(fs::file_size(wals.front()) == data_end(wals.front()));
  auto db = open_db(dir.path, kSpare);
  BOOST_TEST(db->wal_spare_stats().spares_used == 1u);  // a fresh spare for the new run's first WAL
  require_keys(*db, 20);
}

BOOST_AUTO_TEST_CASE(the_background_thread_makes_the_spare_of_the_next_wal_file) {
  constexpr std::uint64_t kSpare = 256 << 10;
  test::TempDir dir("baton-spare");
  auto db = open_db(dir.path, kSpare);
  write_keys(*db, 0, 20);
  // Wait for the next spare, then make RocksDB switch WAL files.
  BOOST_REQUIRE(wait_for_ready_spare(dir.path));
  BOOST_REQUIRE(db->raw().Flush(rocksdb::FlushOptions(), db->cf(Cf::meta)).ok());
  write_keys(*db, 20, 40);
  BOOST_TEST(db->wal_spare_stats().spares_used == 2u);
  BOOST_TEST(db->wal_spare_stats().spares_missed == 0u);
  require_keys_after_reopen(db, dir.path, kSpare, 40);
}

BOOST_AUTO_TEST_CASE(a_second_process_on_the_same_directory_makes_no_spares) {
  constexpr std::uint64_t kSpare = 128 << 10;
  test::TempDir dir("baton-spare");
  auto db = open_db(dir.path, kSpare);
  auto spares = [&] {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir.path / "wal-spares")) out.push_back(entry.path());
    std::sort(out.begin(), out.end());
    return out;
  };
  BOOST_REQUIRE(wait_for_ready_spare(dir.path));
  auto before = spares();
  // flock is per open file description, so a second file system here stands for another
  // process: it must neither remove the first one's spares nor make its own.
  auto second = make_spare_wal_file_system(rocksdb::FileSystem::Default(),
                                           (dir.path / "wal-spares").string(), kSpare);
  BOOST_TEST(spare_wal_stats(*second).spares_written == 0u);
  second.reset();
  auto after = spares();
  for (const fs::path& path : before) {
    bool kept = std::find(after.begin(), after.end(), path) != after.end();
    if (path.extension() == ".ready") BOOST_TEST(kept, path << " was removed");
  }
  write_keys(*db, 0, 10);
  require_keys(*db, 10);
}

BOOST_AUTO_TEST_CASE(a_crash_image_replays_every_synced_write_and_stops_at_the_zeros) {
  constexpr std::uint64_t kSpare = 1 << 20;
  CrashImage crash(kSpare, 300);
  const fs::path& image = crash.image.path;
  auto wals = wal_files(image);
  BOOST_REQUIRE(wals.size() == 1u);
  BOOST_TEST(fs::file_size(wals.front()) == kSpare);
  BOOST_TEST(data_end(wals.front()) > 300u * 50);
  BOOST_TEST(data_end(wals.front()) < kSpare);  // the image ends in the spare's zeros
  auto db = open_db(image, kSpare);
  require_keys(*db, 300);
  // And the recovered database takes new writes and keeps them.
  write_keys(*db, 300, 320);
  require_keys_after_reopen(db, image, kSpare, 320);
}

BOOST_AUTO_TEST_CASE(writes_past_the_end_of_a_spare_are_kept) {
  constexpr std::uint64_t kSpare = 64 << 10;
  CrashImage crash(kSpare, 1000);  // ~250 KB of values: the WAL outgrows its spare
  auto wals = wal_files(crash.image.path);
  BOOST_REQUIRE(wals.size() == 1u);
  BOOST_TEST(fs::file_size(wals.front()) > kSpare);
  auto db = open_db(crash.image.path, kSpare);
  require_keys(*db, 1000);
}

BOOST_AUTO_TEST_CASE(files_left_by_an_earlier_run_are_removed_not_reused) {
  constexpr std::uint64_t kSpare = 128 << 10;
  test::TempDir dir("baton-spare");
  fs::create_directories(dir.path / "wal-spares");
  auto make = [&](const std::string& name, std::uint64_t size) {
    std::ofstream out(dir.path / "wal-spares" / name, std::ios::binary);
    out << std::string(static_cast<std::size_t>(size), '\0');
  };
  make("left-whole.ready", kSpare);
  make("left-short.ready", kSpare / 2);
  make("left-cut.partial", kSpare);
  auto db = open_db(dir.path, kSpare);
  BOOST_TEST(db->wal_spare_stats().spares_used == 1u);  // a spare written by this run
  BOOST_TEST(!fs::exists(dir.path / "wal-spares" / "left-whole.ready"));
  BOOST_TEST(!fs::exists(dir.path / "wal-spares" / "left-short.ready"));
  BOOST_TEST(!fs::exists(dir.path / "wal-spares" / "left-cut.partial"));
  write_keys(*db, 0, 10);
  require_keys_after_reopen(db, dir.path, kSpare, 10);
}

BOOST_AUTO_TEST_CASE(a_new_data_directory_gets_spares_and_a_missing_parent_still_fails) {
  constexpr std::uint64_t kSpare = 128 << 10;
  test::TempDir dir("baton-spare");
  {
    auto db = open_db(dir.path / "data", kSpare);  // created by the open, as RocksDB does
    BOOST_TEST(db->wal_spare_stats().spares_used == 1u);
  }
  std::string error;
  BOOST_TEST(!Db::open((dir.path / "missing" / "data").string(), &error, nullptr, kSpare));
  BOOST_TEST(!fs::exists(dir.path / "missing"));
}

BOOST_AUTO_TEST_CASE(no_spares_when_the_size_is_zero) {
  test::TempDir dir("baton-spare");
  auto db = open_db(dir.path, 0);
  write_keys(*db, 0, 10);
  BOOST_TEST(db->wal_spare_stats().spares_used == 0u);
  BOOST_TEST(!fs::exists(dir.path / "wal-spares"));
  BOOST_REQUIRE(wal_files(dir.path).size() == 1u);
  BOOST_TEST(fs::file_size(wal_files(dir.path).front()) == data_end(wal_files(dir.path).front()));
}

BOOST_AUTO_TEST_CASE(no_spare_when_the_disk_could_not_keep_four_more_free) {
  // No disk here has the 20 PiB free that this needs: the spare must not even be started.
  constexpr std::uint64_t kHuge = std::uint64_t{1} << 52;
  test::TempDir dir("baton-spare");
  auto db = open_db(dir.path, kHuge);
  BOOST_TEST(db->wal_spare_stats().spares_used == 0u);
  BOOST_TEST(db->wal_spare_stats().spares_missed == 1u);  // the first WAL file was created as usual
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path / "wal-spares")) {
    files += entry.path().filename() != "LOCK";
  }
  BOOST_TEST(files == 0u);
  write_keys(*db, 0, 10);
  require_keys_after_reopen(db, dir.path, kHuge, 10);
}
