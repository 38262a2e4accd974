#define BOOST_TEST_MODULE write_failure
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/group_commit.hpp"
#include "store/db.hpp"
#include "support/failing_fs.hpp"
#include "support/temp_dir.hpp"

// What a failing disk does to group commit, against a real RocksDB whose file system
// fails on demand: the operations of the failed write and every later one are answered
// with the storage error (never success), the database stops taking writes, what was
// answered before the failure is still there after a restart, and nothing hangs.
// The failing writes are made where group commit makes them: on the shard's thread in
// none (unless its commit thread is busy), on the commit thread in batch and always and
// for every write after the first failure. A range sealed behind a write that fails is
// reported not durable. And a write RocksDB would stall (flushes held back until the
// memtables are full) goes to the commit thread instead of blocking the shard, and lands
// in order once the stall clears.

using namespace baton;
namespace asio = boost::asio;

namespace {

using test::Faults;
using test::FailingFs;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("baton-failure") {}
  std::unique_ptr<Db> open(const std::shared_ptr<Faults>& faults = nullptr) const {
    std::shared_ptr<rocksdb::Env> env;
    if (faults) env = rocksdb::NewCompositeEnv(std::make_shared<FailingFs>(faults));
    std::string error;
    auto db = Db::open(path.string(), &error, std::move(env));
    BOOST_REQUIRE_MESSAGE(db, error);
    return db;
  }
};

// A database in `dir` on a file system failing as `faults` says, and a group committer on
// it. Closed when it goes out of scope; the directory stays, to reopen on a healthy disk.
struct Rig {
  std::shared_ptr<Faults> faults = std::make_shared<Faults>();
  std::unique_ptr<Db> db;
  asio::io_context context;
  GroupCommitter committer;
  Rig(const TempDir& dir, SyncMode mode)
      : db(dir.open(faults)), committer(context, *db, mode, 1024) {}
};

std::string key_of(int i) { return "op-" + std::to_string(1000 + i); }

struct Waited {
  std::uint64_t generation;
  std::string error;
};

// Runs `body` as a coroutine on `context` until it returns.
void run(asio::io_context& context, std::function<asio::awaitable<void>()> body) {
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        co_await body();
        context.stop();
      },
      asio::detached);
  context.run();
}

// Adds ops first..first+count-1, `per_turn` per event-loop turn, then waits for each.
asio::awaitable<std::vector<Waited>> add_and_wait(Db& db, GroupCommitter& committer,
                                                  asio::io_context& context, int first,
                                                  int count, int per_turn) {
  std::vector<std::uint64_t> generations;
  for (int i = first; i < first + count; ++i) {
    committer.batch().Put(db.cf(Cf::meta), key_of(i), "v");
    generations.push_back(committer.add_op());
    if ((i - first + 1) % per_turn == 0) co_await asio::post(context, asio::use_awaitable);
  }
  std::vector<Waited> out;
  for (auto generation : generations) {
    // Not co_await inside a braced initializer: g++ 12 destroys the result too early.
    std::string error = (co_await committer.wait(generation)).message;
    out.push_back(Waited{generation, std::move(error)});
  }
  co_return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_failed_write_fails_its_operations_and_every_later_one) {
  for (SyncMode mode : {SyncMode::batch, SyncMode::none, SyncMode::always}) {
    BOOST_TEST_CONTEXT("mode " << static_cast<int>(mode)) {
      TempDir dir;
      std::vector<std::pair<std::uint64_t, bool>> reported;  // on_durable, in call order
      {
        Rig rig(dir, mode);
        auto& [faults, db, context, committer] = rig;
        committer.set_on_durable([&](std::uint64_t g, bool ok) { reported.emplace_back(g, ok); });
        std::vector<Waited> before, after, refused;
        run(context, [&]() -> asio::awaitable<void> {
          before = co_await add_and_wait(*db, committer, context, 0, 10, 3);
          faults->appends = true;
          after = co_await add_and_wait(*db, committer, context, 10, 10, 3);
          faults->appends = false;  // the disk is back, but the database stays stopped
          refused = co_await add_and_wait(*db, committer, context, 20, 4, 2);
        });
        for (const auto& w : before) BOOST_TEST(w.error.empty());
        BOOST_REQUIRE_EQUAL(after.size(), 10u);
        for (const auto& w : after) BOOST_TEST(!w.error.empty(), "op of generation " << w.generation);
        BOOST_TEST(after.front().error.find("injected append failure") != std::string::npos,
                   after.front().error);
        for (const auto& w : refused) BOOST_TEST(!w.error.empty());
        BOOST_TEST(!db->writable());
        BOOST_TEST(db->last_error().find("injected append failure") != std::string::npos);
        // Durable reports: successes only for generations before the failure, and a
        // failure reported for it.
        std::uint64_t first_failed = after.front().generation;
        bool failure_reported = false;
        for (auto [g, ok] : reported) {
          if (ok) BOOST_TEST(g < first_failed);
          if (!ok) failure_reported = true;
        }
        BOOST_TEST(failure_reported);
        committer.finish_pending();  // must not hang on a stopped database
      }
      // After a restart on a healthy disk: every op answered as written is there, and no
      // op answered as failed.
      auto db = dir.open();
      for (int i = 0; i < 24; ++i) {
        BOOST_TEST_CONTEXT("op " << i) { BOOST_TEST(db->get(Cf::meta, key_of(i)).has_value() == (i < 10)); }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_failed_fsync_fails_its_wait_and_every_later_one) {
  TempDir dir;
  Rig rig(dir, SyncMode::batch);
  auto& [faults, db, context, committer] = rig;
  std::string first, failed, later;
  run(context, [&]() -> asio::awaitable<void> {
    committer.batch().Put(db->cf(Cf::meta), key_of(0), "v");
    first = (co_await committer.wait(committer.add_op())).message;
    faults->syncs = true;
    committer.batch().Put(db->cf(Cf::meta), key_of(1), "v");
    failed = (co_await committer.wait(committer.add_op())).message;
    committer.batch().Put(db->cf(Cf::meta), key_of(2), "v");
    later = (co_await committer.wait(committer.add_op())).message;
  });
  BOOST_TEST(first.empty());
  BOOST_TEST(failed.find("injected sync failure") != std::string::npos, failed);
  BOOST_TEST(!later.empty());
  BOOST_TEST(!db->writable());
  committer.finish_pending();
}

// While the commit thread's synced write is inside its fsync, the shard seals the next
// round; when that round's write then fails, the range the fsync covered stays durable
// while the failed range, and every later one, is not.
BOOST_AUTO_TEST_CASE(a_write_that_fails_after_a_held_sync_leaves_the_synced_range_durable) {
  TempDir dir;
  {
    Rig rig(dir, SyncMode::batch);
    auto& [faults, db, context, committer] = rig;
    std::string first_durable, second_durable, later;
    run(context, [&]() -> asio::awaitable<void> {
      // The commit thread writes the first range and is held inside its fsync.
      faults->hold_syncs = true;
      committer.batch().Put(db->cf(Cf::meta), key_of(0), "v");
      std::uint64_t first = committer.add_op();
      asio::steady_timer poll(context);
      for (int i = 0; i < 5000 && faults->syncs_held == 0; ++i) {
        poll.expires_after(std::chrono::milliseconds(1));
        co_await poll.async_wait(asio::use_awaitable);
      }
      BOOST_REQUIRE_EQUAL(faults->syncs_held.load(), 1);
      // A second range is sealed while the fsync is held: its write follows it, and fails.
      committer.batch().Put(db->cf(Cf::meta), key_of(1), "v");
      std::uint64_t second = committer.add_op();
      poll.expires_after(std::chrono::milliseconds(20));  // sealed at the end of this turn
      co_await poll.async_wait(asio::use_awaitable);
      faults->appends = true;
      faults->hold_syncs = false;
      first_durable = (co_await committer.wait(first)).message;
      second_durable = (co_await committer.wait(second)).message;
      committer.batch().Put(db->cf(Cf::meta), key_of(2), "v");
      later = (co_await committer.wait(committer.add_op())).message;
    });
    BOOST_TEST(first_durable.empty(), first_durable);
    BOOST_TEST(second_durable.find("injected append failure") != std::string::npos, second_durable);
    BOOST_TEST(!later.empty());
    BOOST_TEST(!db->writable());
    committer.finish_pending();
  }
  auto db = dir.open();
  BOOST_TEST(db->get(Cf::meta, key_of(0)).has_value());
  BOOST_TEST(!db->get(Cf::meta, key_of(1)).has_value());
}

BOOST_AUTO_TEST_CASE(a_write_rocksdb_would_stall_goes_to_the_commit_thread_and_lands_in_order) {
  for (SyncMode mode : {SyncMode::batch, SyncMode::none}) {
    BOOST_TEST_CONTEXT("mode " << static_cast<int>(mode)) {
      TempDir dir;
      constexpr int kOps = 48;
      // The active family's memtable holds 16 MB and RocksDB keeps two: with flushes held
      // back, 1 MB values stop writes after about 32 of them.
      const std::string value(1 << 20, 'x');
      auto value_of = [&](int i) { return std::to_string(i) + value; };
      {
        Rig rig(dir, mode);
        auto& [faults, db, context, committer] = rig;
        committer.set_on_durable([&](std::uint64_t, bool ok) { BOOST_TEST(ok); });
        faults->hold_tables = true;
        std::vector<std::string> errors;
        run(context, [&]() -> asio::awaitable<void> {
          std::vector<std::uint64_t> generations;
          asio::steady_timer gap(context);
          for (int i = 0; i < kOps; ++i) {  // one op per turn: each turn's write is one op
            committer.batch().Put(db->cf(Cf::active), key_of(i), value_of(i));
            // Every op also rewrites one key: only writes made in order leave the last.
            committer.batch().Put(db->cf(Cf::meta), "last", std::to_string(i));
            std::uint64_t writes_before = committer.writes();
            generations.push_back(committer.add_op());
            // A moment between turns lets the commit thread go idle after a write it
            // took, so that the shard writes the next turn itself unless RocksDB stalls:
            // until this turn is written (up to 40 ms on a busy machine; a stalled write
            // is not, and the loop goes on after that long).
            for (int wait = 0; wait < 20 && committer.writes() == writes_before; ++wait) {
              gap.expires_after(std::chrono::milliseconds(2));
              co_await gap.async_wait(asio::use_awaitable);
            }
            gap.expires_after(std::chrono::milliseconds(1));
            co_await gap.async_wait(asio::use_awaitable);
          }
          // Only now let flushes run, so the writes above met the stall.
          asio::steady_timer pause(context, std::chrono::milliseconds(200));
          co_await pause.async_wait(asio::use_awaitable);
          faults->hold_tables = false;
          for (auto generation : generations) {
            std::string error = (co_await committer.wait(generation)).message;
            errors.push_back(std::move(error));
          }
        });
        BOOST_REQUIRE_EQUAL(errors.size(), static_cast<std::size_t>(kOps));
        for (const auto& error : errors) BOOST_TEST(error.empty(), error);
        BOOST_TEST_MESSAGE("writes " << committer.writes() << ", on the shard " << committer.writes_here());
        if (mode == SyncMode::none) {
          // The writes before the stall (about 32 MB) went on the shard, the stalled ones
          // to the commit thread.
          BOOST_TEST(committer.writes_here() >= 20u);
          BOOST_TEST(committer.writes() > committer.writes_here());
        } else {
          BOOST_TEST(committer.writes_here() == 0u);  // synced writes are the commit thread's
        }
        BOOST_TEST(committer.ops() == static_cast<std::uint64_t>(kOps));
        BOOST_TEST(db->writable());
        committer.finish_pending();
      }
      auto db = dir.open();
      for (int i = 0; i < kOps; ++i) {
        BOOST_TEST_CONTEXT("op " << i) { BOOST_TEST((db->get(Cf::active, key_of(i)) == value_of(i))); }
      }
      BOOST_TEST(db->get(Cf::meta, "last").value_or("") == std::to_string(kOps - 1));
    }
  }
}

// A failed write says what kind of failure it was, so recovery can tell a full disk
// (which frees up) from an I/O error; once storage is unwritable, a sync says so.
BOOST_AUTO_TEST_CASE(failures_carry_their_kind) {
  TempDir dir;
  auto faults = std::make_shared<Faults>();
  auto db = dir.open(faults);
  rocksdb::WriteBatch batch;
  batch.Put(db->cf(Cf::meta), "k", "v");
  BOOST_TEST(db->write(batch, false).ok());

  faults->disk_full = true;
  StorageStatus full = db->write(batch, false);
  BOOST_TEST((full.kind == StorageStatus::Kind::no_space), to_string(full.kind) << ": " << full.message);
  BOOST_TEST(!full.message.empty());
  StorageStatus sync = db->sync_wal();
  BOOST_TEST((sync.kind == StorageStatus::Kind::not_writable), to_string(sync.kind));
  BOOST_TEST(sync.message == db->last_error());
  faults->disk_full = false;
}
