// Durability and concurrency (spec section 4 and the storage.sync modes): a restart keeps
// records and timers (leases, delays) and processes leases that expired while the server
// was down; kill -9 loses no acknowledged write under sync batch/always; many concurrent
// workers complete every task exactly once and a stranger never completes anything.
#define BOOST_TEST_MODULE durability
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

std::string with_token(const std::string& token, json::object extra = {}) {
  extra["lease_token"] = token;
  return js(extra);
}

// Polls GET every 50 ms until the task leaves `claimed`; returns when that was seen.
WallClock::time_point wait_until_not_claimed(Client& c, const std::string& key, const std::string& id,
                                             Response& last, std::chrono::milliseconds timeout) {
  WallClock::time_point seen{};
  bool left = poll_until(
      [&] {
        last = c.get_task(key, id);
        seen = WallClock::now();
        return last.status == 200 && last.task_str("status") != "claimed";
      },
      timeout, 50ms);
  BOOST_REQUIRE_MESSAGE(left, "task " << id << " never left claimed: " << last.describe());
  return seen;
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(restart_recovery)

BOOST_AUTO_TEST_CASE(a_restart_keeps_records_and_timers) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string sfx = unique_suffix();
  const std::string t_pending = "pending_" + sfx, t_delayed = "delayed_" + sfx, t_claimed = "claimed_" + sfx,
                    t_expiring = "expiring_" + sfx, t_done = "done_" + sfx;

  const std::string pending = c.create_task_id(
      key, task_body(t_pending, {{"payload", json::object{{"kind", "pending"}, {"n", 42}}}, {"priority", 7}, {"maxAttempts", 4}}));
  Response delayed_made = c.create_task(key, task_body(t_delayed, {{"delaySeconds", 6}}));
  BATON_REQUIRE_STATUS(delayed_made, 201);
  const std::string delayed = delayed_made.task_id();
  const auto delayed_due = parse_time(delayed_made.task_str("scheduledAt"));

  const std::string claimed = c.create_task_id(key, task_body(t_claimed, {{"leaseDurationSeconds", 7}}));
  Response claim_c = c.claim(key, js({{"type", t_claimed}, {"worker_id", "w-c"}}));
  BATON_REQUIRE_STATUS(claim_c, 200);
  const auto claimed_expires = parse_time(claim_c.task_str("leaseExpiresAt"));

  const std::string expiring = c.create_task_id(key, task_body(t_expiring, {{"leaseDurationSeconds", 1}}));
  Response claim_e = c.claim(key, js({{"type", t_expiring}, {"worker_id", "w-e"}}));
  BATON_REQUIRE_STATUS(claim_e, 200);
  const auto expiring_expires = parse_time(claim_e.task_str("leaseExpiresAt"));

  const std::string done = c.create_task_id(key, task_body(t_done));
  Response claim_d = c.claim(key, js({{"type", t_done}}));
  BATON_REQUIRE_STATUS(claim_d, 200);
  BATON_REQUIRE_STATUS(c.complete(key, done, with_token(claim_d.task_str("leaseToken"), {{"output_id", "out_1"}})), 200);

  std::map<std::string, std::string> before;
  for (const auto& id : {pending, delayed, claimed, done}) before[id] = js(c.get_task(key, id).task());

  server.stop();
  // Let the 1-second lease expire while the server is down.
  std::this_thread::sleep_until(expiring_expires + 300ms);
  BOOST_TEST((WallClock::now() > expiring_expires));
  server.restart();
  const auto ready = server.ready_at_wall();
  Client c2 = server.client();

  // The lease that expired during the downtime is processed within 1 s of start.
  Response last;
  auto seen = wait_until_not_claimed(c2, key, expiring, last, 3000ms);
  BOOST_TEST(seconds(seen - ready) < 1.0);
  BOOST_TEST(last.task_str("status") == "pending");
  BOOST_TEST(last.task_str("failureReason") == "lease_expired");
  BOOST_TEST(last.task_int("attemptCount") == 1);

  // Records are intact.
  for (const auto& id : {pending, delayed, claimed, done}) {
    Response r = c2.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_TEST_CONTEXT("task " << id) { BOOST_TEST(js(r.task()) == before[id]); }
  }
  BOOST_TEST(c2.get_task(key, claimed).task_str("status") == "claimed");
  BOOST_TEST(c2.get_task(key, done).task_str("outputId") == "out_1");

  // The pending task is claimable; the delayed one only from its time.
  Response p = c2.claim(key, js({{"type", t_pending}}));
  BATON_REQUIRE_STATUS(p, 200);
  BOOST_REQUIRE(!p.task_is_null());
  BOOST_TEST(p.task_id() == pending);

  BOOST_REQUIRE((WallClock::now() < delayed_due));
  Response early = c2.claim(key, js({{"type", t_delayed}}));
  BOOST_TEST(early.task_is_null());
  WallClock::time_point got{};
  bool claimable = poll_until(
      [&] {
        Response r = c2.claim(key, js({{"type", t_delayed}}));
        if (r.status != 200 || r.task_is_null()) return false;
        got = WallClock::now();
        return true;
      },
      10000ms, 50ms);
  BOOST_REQUIRE_MESSAGE(claimable, "the delayed task never became claimable after the restart");
  BOOST_TEST(seconds(got - delayed_due) >= 0.0);
  BOOST_TEST(seconds(got - delayed_due) < 1.2);

  // The lease taken before the restart still expires on time.
  seen = wait_until_not_claimed(c2, key, claimed, last, 10000ms);
  BOOST_TEST(seconds(seen - claimed_expires) >= 0.0);
  BOOST_TEST(seconds(seen - claimed_expires) < 1.2);
  BOOST_TEST(last.task_str("failureReason") == "lease_expired");
}

BOOST_AUTO_TEST_CASE(keys_and_idempotency_records_survive_a_restart) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  Client c = server.client();
  Account account = c.register_account();
  const std::string type = "idem_restart_" + unique_suffix();
  Response first = c.create_task(account.api_key, task_body(type), {{"Idempotency-Key", "restart-key"}});
  BATON_REQUIRE_STATUS(first, 201);
  server.stop();
  server.restart();
  Client c2 = server.client();
  Response replay = c2.create_task(account.api_key, task_body(type), {{"Idempotency-Key", "restart-key"}});
  BOOST_TEST(replay.status == 201);
  BOOST_TEST(replay.body == first.body);
  Response list = c2.list_tasks(account.api_key, "type=" + type);
  BATON_REQUIRE_STATUS(list, 200);
  BOOST_TEST(list.obj().at("tasks").as_array().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(crash_safety)

BOOST_AUTO_TEST_CASE(kill_9_loses_no_acknowledged_create_or_complete_with_sync_batch) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  const int port = server.port();
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "crash_" + unique_suffix();

  // 200 creates from 8 threads.
  std::mutex mu;
  std::map<std::string, int> created;  // id -> payload n
  std::vector<std::string> errors;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
      threads.emplace_back([&, t] {
        try {
          Client own(port);
          for (int i = 0; i < 25; ++i) {
            const int n = t * 1000 + i;
            Response r = own.create_task(key, task_body(type, {{"payload", json::object{{"n", n}}}}));
            std::lock_guard lock(mu);
            if (r.status == 201)
              created[r.task_id()] = n;
            else
              errors.push_back(r.describe());
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          errors.push_back(e.what());
        }
      });
    for (auto& th : threads) th.join();
  }
  BOOST_REQUIRE_MESSAGE(errors.empty(), "create failed: " << (errors.empty() ? "" : errors.front()));
  BOOST_REQUIRE(created.size() == 200u);

  // 100 claim + complete from 4 threads.
  std::map<std::string, std::string> completed;  // id -> worker
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        try {
          Client own(port);
          const std::string worker = "w-" + std::to_string(t);
          for (int i = 0; i < 25; ++i) {
            Response claim = own.claim(key, js({{"type", type}, {"worker_id", worker}}));
            if (claim.status != 200 || claim.task_is_null()) {
              std::lock_guard lock(mu);
              errors.push_back("claim: " + claim.describe());
              return;
            }
            const std::string id = claim.task_id();
            Response done = own.complete(key, id, with_token(claim.task_str("leaseToken"), {{"result", json::object{{"worker", worker}}}}));
            std::lock_guard lock(mu);
            if (done.status == 200)
              completed[id] = worker;
            else
              errors.push_back("complete: " + done.describe());
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          errors.push_back(e.what());
        }
      });
    for (auto& th : threads) th.join();
  }
  // The WAL these writes went to began as a spare and they fit in it (the harness's are
  // 1 MiB): the crash leaves zeros after its last record.
  Response health = c.get("/health", "");
  const auto& storage = health.obj().at("storage").as_object();
  BOOST_TEST(storage.at("wal_spares_used").to_number<int>() == 1);
  BOOST_TEST(storage.at("wal_spares_missed").to_number<int>() == 0);
  std::vector<std::uintmax_t> wal_sizes;
  for (const auto& entry : std::filesystem::directory_iterator(server.data_dir())) {
    if (entry.path().extension() == ".log") wal_sizes.push_back(entry.file_size());
  }
  BOOST_TEST(wal_sizes == std::vector<std::uintmax_t>{1u << 20}, boost::test_tools::per_element());
  server.kill9();
  BOOST_REQUIRE_MESSAGE(errors.empty(), "claim/complete failed: " << (errors.empty() ? "" : errors.front()));
  BOOST_REQUIRE(completed.size() == 100u);

  server.restart();
  Client c2 = server.client();
  int missing = 0, wrong = 0;
  for (const auto& [id, n] : created) {
    Response r = c2.get_task(key, id);
    if (r.status != 200) {
      ++missing;
      BOOST_TEST_MESSAGE("lost create " << id << ": " << r.describe());
      continue;
    }
    if (r.task().at("payload").as_object().at("n").to_number<int>() != n) ++wrong;
    auto it = completed.find(id);
    if (it != completed.end()) {
      if (r.task_str("status") != "completed" ||
          r.task().at("result").as_object().at("worker").as_string() != it->second) {
        ++wrong;
        BOOST_TEST_MESSAGE("lost complete " << id << ": " << r.describe());
      }
    }
  }
  BOOST_TEST(missing == 0);
  BOOST_TEST(wrong == 0);
}

// Spare WAL files are made where the WAL is fsynced, and not under sync none.
BOOST_AUTO_TEST_CASE(spare_wal_files_only_where_the_wal_is_fsynced) {
  for (const char* sync : {"always", "none"}) {
    BOOST_TEST_CONTEXT("sync " << sync) {
      TestServer server(ServerOptions{}.with("storage.sync", sync));
      Client c = server.client();
      const std::string key = c.register_key();
      BATON_REQUIRE_STATUS(c.create_task(key, task_body("spare_" + unique_suffix())), 201);
      Response health = c.get("/health", "");
      const auto& storage = health.obj().at("storage").as_object();
      const bool fsynced = std::string(sync) != "none";
      BOOST_TEST(storage.at("wal_spares_used").to_number<int>() == (fsynced ? 1 : 0));
      BOOST_TEST(storage.at("wal_spares_missed").to_number<int>() == 0);
      BOOST_TEST(std::filesystem::exists(server.data_dir() + "/wal-spares") == fsynced);
    }
  }
}

// In batch mode a claim is answered before its fsync, once it is written
// (docs/operations.md#durability): the write is in the OS page cache, so a kill -9 keeps
// every answered claim, and each one's token still completes its task. Only a power loss
// may forget one (then its token is fenced off).
BOOST_AUTO_TEST_CASE(kill_9_after_claims_keeps_every_answered_claim) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "claimcrash_" + unique_suffix();
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(c.create_task_id(key, task_body(type)));
  std::map<std::string, std::string> tokens;  // claimed id -> lease token
  for (int i = 0; i < 40; ++i) {
    Response claim = c.claim(key, js({{"type", type}, {"worker_id", "w"}}));
    BATON_REQUIRE_STATUS(claim, 200);
    BOOST_REQUIRE(!claim.task_is_null());
    tokens[claim.task_id()] = claim.task_str("leaseToken");
  }
  server.kill9();
  server.restart();
  Client c2 = server.client();
  for (const auto& id : ids) {
    Response r = c2.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);  // never lost
    BOOST_TEST(r.task_str("status") == "claimed", id);
    Response done = c2.complete(key, id, with_token(tokens[id]));
    BOOST_TEST(done.status == 200, done.describe());
  }
}

// A clean shutdown writes everything queued: every claim answered before SIGTERM is still
// held after the restart, and its token completes the task.
BOOST_AUTO_TEST_CASE(sigterm_right_after_claims_keeps_every_answered_claim) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "claimstop_" + unique_suffix();
  for (int i = 0; i < 40; ++i) c.create_task_id(key, task_body(type));
  std::map<std::string, std::string> tokens;
  for (int i = 0; i < 40; ++i) {
    Response claim = c.claim(key, js({{"type", type}}));
    BATON_REQUIRE_STATUS(claim, 200);
    BOOST_REQUIRE(!claim.task_is_null());
    tokens[claim.task_id()] = claim.task_str("leaseToken");
  }
  c.close();
  server.restart();  // SIGTERM (exit 0 checked), then start on the same data
  Client c2 = server.client();
  for (const auto& [id, token] : tokens) {
    Response r = c2.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_TEST(r.task_str("status") == "claimed", id);
    Response done = c2.complete(key, id, with_token(token));
    BOOST_TEST(done.status == 200, done.describe());
  }
}

// SIGTERM while a long poll waits: the poll gets the empty answer and the server exits 0.
BOOST_AUTO_TEST_CASE(sigterm_answers_a_waiting_long_poll_with_no_task_and_exits_0) {
  TestServer server(ServerOptions{}.with("claims.max_wait_seconds", "30"));
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "drain_" + unique_suffix();
  Response answer;
  std::thread poller([&] {
    Client own(server.port(), 20s);
    answer = own.claim(key, js({{"type", type}, {"wait_seconds", 25}}));
  });
  std::this_thread::sleep_for(300ms);
  auto before = SteadyClock::now();
  server.stop();  // throws unless exit code 0 within 10 s
  poller.join();
  BOOST_TEST((SteadyClock::now() - before < 10s));
  BATON_REQUIRE_STATUS(answer, 200);
  BOOST_TEST(answer.task_is_null());
}

BOOST_AUTO_TEST_CASE(kill_9_loses_no_acknowledged_write_with_sync_always) {
  TestServer server(ServerOptions{}.with("storage.sync", "always"));
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "always_" + unique_suffix();
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(c.create_task_id(key, task_body(type)));
  Response claim = c.claim(key, js({{"type", type}}));
  BATON_REQUIRE_STATUS(claim, 200);
  const std::string done = claim.task_id();
  BATON_REQUIRE_STATUS(c.complete(key, done, with_token(claim.task_str("leaseToken"))), 200);
  server.kill9();
  server.restart();
  Client c2 = server.client();
  for (const auto& id : ids) BATON_CHECK_STATUS(c2.get_task(key, id), 200);
  BOOST_TEST(c2.get_task(key, done).task_str("status") == "completed");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(concurrent_workers)

BOOST_AUTO_TEST_CASE(thirty_two_workers_complete_each_of_400_tasks_exactly_once) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  const int port = server.port();
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "swarm_" + unique_suffix();
  constexpr int kTasks = 400, kWorkers = 32, kCreators = 8, kIntruders = 2;

  std::mutex mu;
  std::vector<std::string> ids;
  std::vector<std::string> errors;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kCreators; ++t)
      threads.emplace_back([&] {
        try {
          Client own(port);
          for (int i = 0; i < kTasks / kCreators; ++i) {
            std::string id = own.create_task_id(key, task_body(type));
            std::lock_guard lock(mu);
            ids.push_back(id);
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          errors.push_back(e.what());
        }
      });
    for (auto& th : threads) th.join();
  }
  BOOST_REQUIRE_MESSAGE(errors.empty(), (errors.empty() ? std::string() : errors.front()));
  BOOST_REQUIRE(ids.size() == std::size_t(kTasks));

  std::map<std::string, std::vector<std::string>> claims;  // id -> workers that got it
  std::map<std::string, int> completes;                    // id -> 200 completes
  std::atomic<bool> workers_done{false};
  std::atomic<int> intruder_successes{0}, intruder_requests{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      try {
        Client own(port);
        const std::string worker = "worker-" + std::to_string(w);
        while (true) {
          Response claim = own.claim(key, js({{"type", type}, {"worker_id", worker}}));
          if (claim.status != 200) {
            std::lock_guard lock(mu);
            errors.push_back("claim: " + claim.describe());
            return;
          }
          if (claim.task_is_null()) return;  // everything is taken
          const std::string id = claim.task_id();
          {
            std::lock_guard lock(mu);
            claims[id].push_back(worker);
          }
          Response done = own.complete(key, id, with_token(claim.task_str("leaseToken"), {{"result", json::object{{"worker", worker}}}}));
          std::lock_guard lock(mu);
          if (done.status == 200 && done.task_str("status") == "completed")
            ++completes[id];
          else
            errors.push_back("complete: " + done.describe());
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        errors.push_back(e.what());
      }
    });
  // Strangers try to complete tasks they never claimed, as another worker, without a token.
  std::vector<std::thread> intruders;
  for (int i = 0; i < kIntruders; ++i)
    intruders.emplace_back([&, i] {
      try {
        Client own(port);
        const std::string body = js({{"worker_id", "intruder-" + std::to_string(i)}, {"result", json::object{{"worker", "intruder"}}}});
        for (std::size_t n = i; !workers_done.load(); n += kIntruders) {
          Response r = own.complete(key, ids[n % ids.size()], body);
          ++intruder_requests;
          if (r.status == 200) ++intruder_successes;
        }
      } catch (const std::exception& e) {
        std::lock_guard lock(mu);
        errors.push_back(std::string("intruder: ") + e.what());
      }
    });
  for (auto& th : threads) th.join();
  workers_done = true;
  for (auto& th : intruders) th.join();

  BOOST_TEST(errors.empty());
  for (std::size_t i = 0; i < std::min<std::size_t>(errors.size(), 5); ++i) BOOST_TEST_MESSAGE(errors[i]);
  BOOST_TEST(intruder_requests.load() > 0);
  BOOST_TEST(intruder_successes.load() == 0);

  int claimed_twice = 0, completed_twice = 0, never_completed = 0;
  for (const auto& id : ids) {
    if (claims[id].size() != 1) ++claimed_twice;
    if (completes[id] > 1) ++completed_twice;
    if (completes[id] == 0) ++never_completed;
  }
  BOOST_TEST(claimed_twice == 0);
  BOOST_TEST(completed_twice == 0);
  BOOST_TEST(never_completed == 0);

  // The server agrees: all 400 completed, each by the worker that claimed it.
  std::set<std::string> listed;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    Response r = c.list_tasks(key, "status=completed&type=" + type + "&limit=100" + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor)));
    BATON_REQUIRE_STATUS(r, 200);
    for (const auto& t : r.obj().at("tasks").as_array()) {
      const auto& task = t.as_object();
      std::string id(task.at("id").as_string());
      listed.insert(id);
      const auto& who = claims[id];
      BOOST_TEST((!who.empty() && task.at("result").as_object().at("worker").as_string() == who.front()));
    }
    const auto& next = r.obj().at("next_cursor");
    if (next.is_null()) break;
    cursor = std::string(next.as_string());
  }
  BOOST_TEST(listed.size() == std::size_t(kTasks));
  Response pending = c.list_tasks(key, "status=pending&type=" + type);
  BOOST_TEST(pending.obj().at("tasks").as_array().empty());
}

BOOST_AUTO_TEST_SUITE_END()

// In batch mode a claim is answered before its fsync but after its write: a listing (which
// reads storage directly) sent right behind the claim on the same connection, pipelined
// in the same packet, already shows the task claimed and no longer pending.
BOOST_AUTO_TEST_CASE(a_claim_answered_with_sync_batch_is_visible_to_the_next_listing) {
  TestServer server(ServerOptions{}.with("storage.sync", "batch"));
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string type = "visible_" + unique_suffix();
  for (int i = 0; i < 30; ++i) c.create_task_id(key, task_body(type));
  RawConnection raw(server.port());
  for (int i = 0; i < 30; ++i) {
    std::string claim_body = js({{"type", type}, {"worker_id", "w"}});
    BOOST_REQUIRE(raw.send(raw_request("POST", "/v1/tasks/claim", key, claim_body) +
                           raw_request("GET", "/v1/tasks?status=pending&limit=100&type=" + type, key)));
    RawRead claimed = raw.read_response(5s);
    BOOST_REQUIRE_MESSAGE(claimed.status() == 200, claimed.data);
    std::string id = parse_raw_response(claimed.data).task_id();
    RawRead listed = raw.read_response(5s);
    BOOST_REQUIRE_MESSAGE(listed.status() == 200, listed.data);
    Response pending = parse_raw_response(listed.data);
    const auto& tasks = pending.obj().at("tasks").as_array();
    BOOST_TEST(static_cast<int>(tasks.size()) == 29 - i);
    for (const auto& t : tasks) BOOST_TEST(std::string(t.at("id").as_string()) != id);
  }
}
