// Power-loss crash images (store/sync_journal.hpp): what a file made durable is all that
// apply_power_loss() leaves of it: unsynced appends are cut, the unsynced part of a reused
// file reads as its old zeros, renames and deletes follow their file; and a database
// killed in a child process comes back with its synced writes and without the rest.
#define BOOST_TEST_MODULE store_sync_journal
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <rocksdb/file_system.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "store/db.hpp"
#include "store/sync_journal.hpp"
#include "support/temp_dir.hpp"

using namespace baton;
namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

struct Journaled {
  test::TempDir dir{"baton-sync-journal"};
  fs::path journal = dir.path / "journal";
  std::shared_ptr<rocksdb::FileSystem> files =
      make_sync_journal_file_system(rocksdb::FileSystem::Default(), journal.string());

  std::unique_ptr<rocksdb::FSWritableFile> create(const std::string& name) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    BOOST_REQUIRE(files->NewWritableFile((dir.path / name).string(), rocksdb::FileOptions(), &file,
                                         nullptr).ok());
    return file;
  }
};

void append(rocksdb::FSWritableFile& file, const std::string& bytes) {
  BOOST_REQUIRE(file.Append(bytes, rocksdb::IOOptions(), nullptr).ok());
  BOOST_REQUIRE(file.Flush(rocksdb::IOOptions(), nullptr).ok());
}

void sync(rocksdb::FSWritableFile& file) {
  BOOST_REQUIRE(file.Sync(rocksdb::IOOptions(), nullptr).ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(unsynced_appends_are_cut_and_the_journal_emptied) {
  Journaled j;
  auto file = j.create("000001.log");
  append(*file, "abc");
  sync(*file);
  append(*file, "def");
  BOOST_REQUIRE(read_all(j.dir.path / "000001.log") == "abcdef");  // all of it reached the OS
  PowerLossFigures figures = apply_power_loss(j.journal.string());
  BOOST_TEST(read_all(j.dir.path / "000001.log") == "abc");
  BOOST_TEST(figures.files == 1);
  BOOST_TEST(figures.bytes_dropped == 3u);
  BOOST_TEST(fs::file_size(j.journal) == 0u);
  // A second image of the same files changes nothing: the journal starts over.
  BOOST_TEST(apply_power_loss(j.journal.string()).files == 0);
  BOOST_TEST(read_all(j.dir.path / "000001.log") == "abc");
}

BOOST_AUTO_TEST_CASE(a_file_never_synced_is_left_empty) {
  Journaled j;
  auto file = j.create("000002.sst");
  append(*file, "never synced");
  BOOST_REQUIRE(file->Close(rocksdb::IOOptions(), nullptr).ok());  // a close syncs nothing
  apply_power_loss(j.journal.string());
  BOOST_TEST(fs::file_size(j.dir.path / "000002.sst") == 0u);
}

BOOST_AUTO_TEST_CASE(a_reused_file_keeps_its_zeros_past_the_last_sync) {
  Journaled j;
  write_file(j.dir.path / "spare", std::string(16, '\0'));
  std::unique_ptr<rocksdb::FSWritableFile> file;
  BOOST_REQUIRE(j.files->ReuseWritableFile((j.dir.path / "000003.log").string(),
                                           (j.dir.path / "spare").string(),
                                           rocksdb::FileOptions(), &file, nullptr).ok());
  append(*file, "xy");
  sync(*file);
  append(*file, "zz");
  BOOST_REQUIRE(read_all(j.dir.path / "000003.log").substr(0, 4) == "xyzz");
  apply_power_loss(j.journal.string());
  BOOST_TEST(read_all(j.dir.path / "000003.log") == "xy" + std::string(14, '\0'));
}

BOOST_AUTO_TEST_CASE(renames_and_deletes_follow_their_file) {
  Journaled j;
  auto current = j.create("CURRENT.tmp");
  append(*current, "MANIFEST-000005\n");
  sync(*current);
  BOOST_REQUIRE(current->Close(rocksdb::IOOptions(), nullptr).ok());
  BOOST_REQUIRE(j.files->RenameFile((j.dir.path / "CURRENT.tmp").string(),
                                    (j.dir.path / "CURRENT").string(), rocksdb::IOOptions(),
                                    nullptr).ok());
  auto unsynced = j.create("tmp2");
  append(*unsynced, "lost");
  BOOST_REQUIRE(j.files->RenameFile((j.dir.path / "tmp2").string(), (j.dir.path / "other").string(),
                                    rocksdb::IOOptions(), nullptr).ok());
  auto deleted = j.create("gone");
  append(*deleted, "x");
  BOOST_REQUIRE(j.files->DeleteFile((j.dir.path / "gone").string(), rocksdb::IOOptions(),
                                    nullptr).ok());
  PowerLossFigures figures = apply_power_loss(j.journal.string());
  BOOST_TEST(read_all(j.dir.path / "CURRENT") == "MANIFEST-000005\n");
  BOOST_TEST(fs::file_size(j.dir.path / "other") == 0u);
  BOOST_TEST(!fs::exists(j.dir.path / "gone"));
  BOOST_TEST(figures.files == 2);
}

BOOST_AUTO_TEST_CASE(a_reopened_file_keeps_what_was_known_of_it) {
  Journaled j;
  const std::string path = (j.dir.path / "000004.log").string();
  auto file = j.create("000004.log");
  append(*file, "abc");
  sync(*file);
  append(*file, "def");  // not synced
  BOOST_REQUIRE(file->Close(rocksdb::IOOptions(), nullptr).ok());
  // Reopened in the same run (RocksDB reopens its last WAL): the unsynced tail stays
  // unsynced, and what is appended and synced after counts from the file's end.
  std::unique_ptr<rocksdb::FSWritableFile> again;
  BOOST_REQUIRE(j.files->ReopenWritableFile(path, rocksdb::FileOptions(), &again, nullptr).ok());
  append(*again, "gh");
  PowerLossFigures figures = apply_power_loss(j.journal.string());
  BOOST_TEST(read_all(path) == "abc");
  BOOST_TEST(figures.bytes_dropped == 5u);
  BOOST_TEST(figures.missing == 0);
}

BOOST_AUTO_TEST_CASE(a_file_gone_at_the_image_is_counted_as_missing) {
  Journaled j;
  auto file = j.create("000005.sst");
  append(*file, "x");
  fs::remove(j.dir.path / "000005.sst");  // behind the journal's back
  PowerLossFigures figures = apply_power_loss(j.journal.string());
  BOOST_TEST(figures.missing == 1);
  BOOST_TEST(figures.files == 0);
}

BOOST_AUTO_TEST_CASE(a_corrupt_journal_is_refused) {
  test::TempDir dir{"baton-sync-journal"};
  write_file(dir.path / "journal", "sync\tnot-a-number\t/x\n");
  BOOST_CHECK_THROW(apply_power_loss((dir.path / "journal").string()), std::runtime_error);
  write_file(dir.path / "journal", "chmod\t/x\n");
  BOOST_CHECK_THROW(apply_power_loss((dir.path / "journal").string()), std::runtime_error);
  // A line the kill cut short was never a returned event: it is ignored.
  write_file(dir.path / "journal", "open\t0\t0\t" + (dir.path / "f").string() + "\nsync\t4");
  write_file(dir.path / "f", "data");
  BOOST_TEST(apply_power_loss((dir.path / "journal").string()).files == 1);
  BOOST_TEST(fs::file_size(dir.path / "f") == 0u);
}

// A child process opens the database on the journaling file system, makes one synced and
// one unsynced write, and exits without closing it, as a kill would leave it. The image
// keeps the first and drops the second, with and without spare WAL files. Both children
// are forked before this process runs any RocksDB thread of its own.
BOOST_AUTO_TEST_CASE(a_killed_database_comes_back_with_only_its_synced_writes) {
  struct Run {
    std::uint64_t spare;
    test::TempDir dir{"baton-sync-journal-db"};
    std::string data = (dir.path / "data").string();
    std::string journal = (dir.path / "journal").string();
    pid_t child = -1;
  };
  Run runs[2] = {{0}, {std::uint64_t{1} << 20}};
  for (Run& run : runs) {
    run.child = ::fork();
    BOOST_REQUIRE(run.child >= 0);
    if (run.child > 0) continue;
    std::string error;
    auto db = Db::open(run.data, &error, nullptr, run.spare, -1,
                       make_sync_journal_file_system(rocksdb::FileSystem::Default(), run.journal));
    if (!db) ::_exit(2);
    rocksdb::WriteBatch synced;
    synced.Put(db->cf(Cf::meta), "synced", "yes");
    if (!db->write(synced, true).ok()) ::_exit(3);
    rocksdb::WriteBatch unsynced;
    unsynced.Put(db->cf(Cf::meta), "unsynced", "lost at power loss");
    if (!db->write(unsynced, false).ok()) ::_exit(4);
    ::_exit(0);  // no close: what a kill -9 leaves
  }
  for (Run& run : runs) {
    int status = 0;
    BOOST_REQUIRE(::waitpid(run.child, &status, 0) == run.child);
    BOOST_REQUIRE(WIFEXITED(status));
    BOOST_REQUIRE(WEXITSTATUS(status) == 0);
  }
  for (Run& run : runs) {
    BOOST_TEST_CONTEXT("spare " << run.spare) {
      {
        // Without the image, the kill kept both (they were in the page cache).
        test::TempDir copy{"baton-sync-journal-copy"};
        fs::copy(run.data, copy.path / "data", fs::copy_options::recursive);
        std::string error;
        auto db = Db::open((copy.path / "data").string(), &error);
        BOOST_REQUIRE_MESSAGE(db, error);
        BOOST_TEST(db->get(Cf::meta, "unsynced").has_value());
      }
      PowerLossFigures figures = apply_power_loss(run.journal);
      BOOST_TEST(figures.bytes_dropped > 0u);
      std::string error;
      auto db = Db::open(run.data, &error, nullptr, run.spare);
      BOOST_REQUIRE_MESSAGE(db, error);
      BOOST_TEST(db->get(Cf::meta, "synced").value_or("") == "yes");
      BOOST_TEST(!db->get(Cf::meta, "unsynced").has_value());
    }
  }
}
