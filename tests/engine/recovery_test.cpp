#define BOOST_TEST_MODULE recovery
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "engine/local_engine.hpp"
#include "store/db.hpp"
#include "support/failing_fs.hpp"
#include "support/temp_dir.hpp"

// A storage failure whose cause goes away (a full disk) is not permanent: the engine asks
// RocksDB to resume, rebuilds every shard's queues and timers from what RocksDB holds,
// and takes writes again. What was answered before the failure is as it was; what failed
// is not there; nothing in memory is left from a write that never landed. After an I/O
// error RocksDB will not resume from, the database is reopened once the disk takes writes.

using namespace baton;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Runs `body` as a coroutine on `context` (the caller's executor the engine resumes on)
// until it returns. The context must outlive the engine: a shard may still be releasing
// its handle to it after the body resumed.
void run(asio::io_context& context, std::function<asio::awaitable<void>()> body) {
  context.restart();
  asio::co_spawn(
      context,
      [&]() -> asio::awaitable<void> {
        co_await body();
        context.stop();
      },
      [](std::exception_ptr failure) {
        if (failure) std::rethrow_exception(failure);
      });
  context.run();
}

const std::string kAccount = "acct_01JXZK00000000000000000000";

CreateRequest create_of(const std::string& type) {
  CreateRequest request;
  request.account = kAccount;
  request.type = type;
  request.payload_json = R"({"n":1})";
  return request;
}

ClaimRequest claim_of(const std::string& type) {
  return ClaimRequest{.account = kAccount, .type = type, .worker_id = std::string(1, 'w'),
                      .wait_ms = 0, .watch = nullptr};
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// An engine of two shards on a database whose file system fails on demand.
struct Rig {
  test::TempDir dir{"baton-recovery"};
  std::shared_ptr<test::Faults> faults = std::make_shared<test::Faults>();
  std::unique_ptr<Db> db;
  asio::io_context client;  // outlives the engine (see run)
  std::unique_ptr<LocalEngine> engine;

  explicit Rig(SyncMode mode) {
    std::string error;
    db = Db::open(dir.path.string(), &error,
                  rocksdb::NewCompositeEnv(std::make_shared<test::FailingFs>(faults)));
    BOOST_REQUIRE_MESSAGE(db, error);
    EngineOptions options;
    options.sync = mode;
    options.pin_shards = false;
    engine = std::make_unique<LocalEngine>(*db, options, 2);
    engine->recover();
    engine->start();
  }
  ~Rig() { engine->stop(); }
};

// Waits until storage is writable again, and checks the counters say one failure and one
// recovery.
void expect_recovered(Rig& rig) {
  BOOST_REQUIRE_MESSAGE(wait_for([&] { return rig.db->writable(); }, 10s),
                        "storage did not recover: " << rig.db->last_error());
  BOOST_TEST(rig.engine->stats().storage_failures == 1u);
  BOOST_TEST(rig.engine->stats().storage_recoveries == 1u);
}

// The task created before the failure is the one claimable "jobs" task: a claim refused
// during the failure left nothing, and a create that failed left nothing either.
asio::awaitable<void> expect_only_claimable(LocalEngine& engine, const std::string& kept) {
  Outcome first = co_await engine.claim_next(claim_of("jobs"));
  BOOST_REQUIRE(first.ok() && first.task);
  BOOST_TEST(first.task->id == kept);
  Outcome none = co_await engine.claim_next(claim_of("jobs"));
  BOOST_TEST((none.ok() && !none.task));
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_failure_whose_cause_is_gone_is_recovered_and_memory_follows_storage) {
  for (SyncMode mode : {SyncMode::none, SyncMode::batch}) {
    BOOST_TEST_CONTEXT("mode " << static_cast<int>(mode)) {
      Rig rig(mode);
      auto& [dir, faults, db, client, engine_ptr] = rig;
      LocalEngine& engine = *engine_ptr;

      std::string kept, held, held_token;
      run(client, [&]() -> asio::awaitable<void> {
        Outcome a = co_await engine.create(create_of("jobs"), nullptr);
        BOOST_REQUIRE(a.ok());
        kept = a.task->id;
        Outcome b = co_await engine.create(create_of("held"), nullptr);
        Outcome claimed = co_await engine.claim_next(claim_of("held"));
        BOOST_REQUIRE(claimed.ok() && claimed.task);
        held = claimed.task->id;
        held_token = claimed.task->lease_token;

        faults->disk_full = true;
        Outcome c = co_await engine.create(create_of("jobs"), nullptr);
        BOOST_TEST((c.error == ErrorCode::unavailable));
        Outcome refused = co_await engine.claim_next(claim_of("jobs"));
        BOOST_TEST((refused.error == ErrorCode::unavailable));
      });
      BOOST_TEST(!db->writable());
      BOOST_TEST(engine.stats().storage_failures == 1u);

      faults->disk_full = false;  // the cause is gone
      expect_recovered(rig);

      run(client, [&]() -> asio::awaitable<void> {
        co_await expect_only_claimable(engine, kept);
        // The failed create left no record either: the account's "jobs" tasks are the one.
        ListRequest jobs;
        jobs.account = kAccount;
        jobs.type = "jobs";
        ListPage page = co_await engine.list(std::move(jobs));
        BOOST_REQUIRE_EQUAL(page.tasks.size(), 1u);
        BOOST_TEST(page.tasks.front().id == kept);
        // The claim answered before the failure still holds, with its token.
        Outcome still = co_await engine.get(kAccount, held);
        BOOST_REQUIRE(still.ok());
        BOOST_TEST((still.task->status == TaskStatus::claimed));
        Command beat = HeartbeatCmd{Caller{held_token, {}}, {}};
        Outcome renewed = co_await engine.apply(kAccount, held,
                                                std::move(beat), nullptr);
        BOOST_TEST(renewed.ok());
        // And writes land again.
        Outcome fresh = co_await engine.create(create_of("jobs"), nullptr);
        BOOST_REQUIRE(fresh.ok());
        Outcome next = co_await engine.claim_next(claim_of("jobs"));
        BOOST_REQUIRE(next.ok() && next.task);
        BOOST_TEST(next.task->id == fresh.task->id);
      });
    }
  }
}

BOOST_AUTO_TEST_CASE(an_io_error_rocksdb_will_not_resume_from_is_recovered_by_reopening) {
  Rig rig(SyncMode::none);
  auto& [dir, faults, db, client, engine_ptr] = rig;
  LocalEngine& engine = *engine_ptr;
  std::string kept;
  run(client, [&]() -> asio::awaitable<void> {
    Outcome a = co_await engine.create(create_of("jobs"), nullptr);
    BOOST_REQUIRE(a.ok());
    kept = a.task->id;
  });
  faults->appends = true;
  run(client, [&]() -> asio::awaitable<void> {
    Outcome c = co_await engine.create(create_of("jobs"), nullptr);
    BOOST_TEST((c.error == ErrorCode::unavailable));
  });
  // While the disk still fails, nothing is reopened: storage stays degraded.
  std::this_thread::sleep_for(2500ms);
  BOOST_TEST(!db->writable());
  BOOST_TEST(engine.stats().storage_recoveries == 0u);
  faults->appends = false;
  expect_recovered(rig);
  run(client, [&]() -> asio::awaitable<void> {
    co_await expect_only_claimable(engine, kept);
    Outcome fresh = co_await engine.create(create_of("jobs"), nullptr);
    BOOST_TEST(fresh.ok());
  });
}
