// Snapshots and their restore (store/backup.hpp): a snapshot taken while writes go on
// holds every write made before it, carries BATON_FORMAT, and keeps no spare WAL's zeros;
// a restore copies it and opens the copy; refused targets and sources are left as they
// were, with nothing made beside them.
#define BOOST_TEST_MODULE store_backup
#include <boost/test/unit_test.hpp>

#include <rocksdb/write_batch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "store/backup.hpp"
#include "store/db.hpp"
#include "store/format.hpp"
#include "support/db_fixtures.hpp"
#include "support/temp_dir.hpp"

using namespace baton;
using baton::test::key_of;
using baton::test::open_db;
using baton::test::value_of;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSpareBytes = 1 << 20;



// Key i, written unsynced and then synced, as the group commit writes under sync: batch.
void write_key(Db& db, int i) {
  rocksdb::WriteBatch batch;
  BOOST_REQUIRE(batch.Put(db.cf(Cf::meta), key_of(i), value_of(i)).ok());
  BOOST_REQUIRE(db.write(batch, false).ok());
  BOOST_REQUIRE(db.sync_wal().ok());
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A directory with one file in it, which a refusal must leave as it was.
fs::path occupied(const fs::path& where) {
  fs::create_directory(where);
  std::ofstream(where / "precious") << "keep me";
  return where;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_snapshot_taken_under_writes_holds_every_write_made_before_it) {
  test::TempDir live("baton-live"), snapshots("baton-snapshots");
  auto db = open_db(live.path / "data", kSpareBytes);  // the WAL starts as a spare
  for (int i = 0; i < 500; ++i) write_key(*db, i);
  std::atomic<bool> stop{false};
  std::atomic<int> written{500};
  std::thread writer([&] {
    for (int i = 500; !stop && i < 100000; ++i) {
      rocksdb::WriteBatch batch;
      if (!batch.Put(db->cf(Cf::meta), key_of(i), value_of(i)).ok() || !db->write(batch, false).ok()) return;
      written = i + 1;
    }
  });
  const fs::path target = snapshots.path / "snapshot";
  SnapshotOutcome taken = take_snapshot(*db, target.string());
  stop = true;
  writer.join();
  BOOST_REQUIRE_MESSAGE(taken.ok(), taken.reason);
  BOOST_TEST(taken.path == target.string());
  BOOST_TEST(taken.sequence >= 500u);
  BOOST_TEST(taken.files > 0u);
  BOOST_TEST(fs::exists(target / kDataFormatFile));
  BOOST_TEST(check_data_directory(target.string()) == "");
  BOOST_TEST(!fs::exists(snapshots.path / "snapshot.baton-partial"));
  std::uint64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(target)) {
    bytes += entry.file_size();
    // No spare's zeros: what the WAL holds, to the end of its last 32 KiB block at most.
    if (entry.path().extension() == ".log") {
      std::ifstream in(entry.path(), std::ios::binary);
      std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::size_t data_end = content.find_last_not_of('\0') + 1;  // 0 when all zeros
      BOOST_TEST(content.size() - data_end < 32u * 1024, entry.path() << " ends in "
                                                          << content.size() - data_end << " zeros");
    }
  }
  BOOST_TEST(taken.bytes == bytes);

  const fs::path restored = snapshots.path / "restored";
  RestoreOutcome copied = restore_snapshot(target.string(), restored.string());
  BOOST_REQUIRE_MESSAGE(copied.ok(), copied.reason);
  BOOST_TEST(copied.files == taken.files);
  BOOST_TEST(copied.tasks == 0u);
  auto copy = open_db(restored);
  for (int i = 0; i < 500; ++i) {
    auto value = copy->get(Cf::meta, key_of(i));
    BOOST_REQUIRE_MESSAGE(value, key_of(i) << " written before the snapshot is not in it");
    BOOST_TEST(*value == value_of(i));
  }
  // What the writer added meanwhile is in it up to some point, and nothing past that.
  int held = 500;
  while (held < written && copy->get(Cf::meta, key_of(held))) ++held;
  for (int i = held; i < written; ++i) BOOST_TEST(!copy->get(Cf::meta, key_of(i)), key_of(i));
  BOOST_TEST_MESSAGE("snapshot of " << written << " writes holds " << held << ": " << taken.files
                                    << " files, " << taken.bytes << " bytes, " << taken.took_ms << " ms");
  // The snapshot is a data directory in itself, left whole by the restore.
  BOOST_TEST(check_data_directory(target.string()) == "");
}

BOOST_AUTO_TEST_CASE(a_snapshot_goes_only_into_a_new_or_empty_directory_outside_the_data) {
  test::TempDir live("baton-live"), snapshots("baton-snapshots");
  auto db = open_db(live.path / "data");
  write_key(*db, 0);
  auto refused = [&](const fs::path& target, const std::string& says) {
    SnapshotOutcome outcome = take_snapshot(*db, target.string());
    BOOST_TEST((outcome.failure == SnapshotFailure::bad_target), target);
    BOOST_TEST(has(outcome.reason, says), outcome.reason);
  };
  fs::path full = occupied(snapshots.path / "full");
  refused(full, "is not empty");
  BOOST_TEST(fs::exists(full / "precious"));
  refused(snapshots.path / "missing" / "snapshot", "does not exist");
  refused(live.path / "data" / "snapshot", "inside the data directory");
  refused("/", "names no directory");
  fs::create_directory(snapshots.path / "left.baton-partial");
  refused(snapshots.path / "left", "interrupted");
  BOOST_TEST(!fs::exists(snapshots.path / "full.baton-partial"));

  fs::create_directory(snapshots.path / "empty");
  SnapshotOutcome into_empty = take_snapshot(*db, (snapshots.path / "empty/").string());
  BOOST_REQUIRE_MESSAGE(into_empty.ok(), into_empty.reason);
  BOOST_TEST(into_empty.path == (snapshots.path / "empty").string());
  BOOST_TEST(fs::exists(snapshots.path / "empty" / kDataFormatFile));
}

BOOST_AUTO_TEST_CASE(a_restore_takes_only_a_snapshot_into_a_new_or_empty_directory) {
  test::TempDir live("baton-live"), dirs("baton-restores");
  {
    auto db = open_db(live.path / "data", kSpareBytes);  // leaves wal-spares/ behind
    BOOST_REQUIRE(record_data_format((live.path / "data").string()).empty());  // as serve does
    write_key(*db, 0);
    BOOST_REQUIRE(take_snapshot(*db, (dirs.path / "snapshot").string()).ok());
  }
  const std::string snapshot = (dirs.path / "snapshot").string();
  auto refused = [&](const fs::path& from, const fs::path& data, RestoreFailure failure,
                     const std::string& says) {
    RestoreOutcome outcome = restore_snapshot(from.string(), data.string());
    BOOST_TEST((outcome.failure == failure), from << " -> " << data);
    BOOST_TEST(has(outcome.reason, says), outcome.reason);
  };
  fs::path full = occupied(dirs.path / "full");
  refused(snapshot, full, RestoreFailure::bad_target, "is not empty");
  BOOST_TEST(fs::exists(full / "precious"));
  refused(snapshot, dirs.path / "missing" / "data", RestoreFailure::bad_target, "does not exist");
  refused(full, dirs.path / "data", RestoreFailure::bad_source, kDataFormatFile);
  refused(dirs.path / "nowhere", dirs.path / "data", RestoreFailure::bad_source, "is not a directory");
  fs::create_directory(dirs.path / "data.baton-partial");
  refused(snapshot, dirs.path / "data", RestoreFailure::bad_target, "interrupted");
  fs::remove(dirs.path / "data.baton-partial");
  BOOST_TEST(!fs::exists(dirs.path / "data"));
  BOOST_TEST(!fs::exists(dirs.path / "full.baton-partial"));

  // A data directory of a stopped server restores too (its LOCK is not held).
  RestoreOutcome from_stopped = restore_snapshot((live.path / "data").string(), (dirs.path / "data").string());
  BOOST_REQUIRE_MESSAGE(from_stopped.ok(), from_stopped.reason);
  BOOST_TEST(!fs::exists(dirs.path / "data" / "wal-spares"));
  auto db = open_db(dirs.path / "data");
  BOOST_TEST(db->get(Cf::meta, key_of(0)).value_or("") == value_of(0));
}
