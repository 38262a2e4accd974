// The PostgreSQL storage engine (storage.engine: postgres) against the real binary: the
// task lifecycle, leases, priorities, idempotency and long polls with the data in
// PostgreSQL; a restart that keeps nothing of the node's own data directory; several
// nodes on one database (exactly-once under 32 workers, cross-node wake-ups, a node killed
// mid-lease, keys known everywhere, dependencies and pauses, acceptance gates, schedules);
// and schema migration. Each test has a database of its own in one private PostgreSQL 15
// (postgres_cluster.hpp) started for the whole run.
#define BOOST_TEST_MODULE postgres
#include <boost/test/unit_test.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "core/time.hpp"
#include "integration/harness.hpp"
#include "integration/postgres_cluster.hpp"
#include "store/records.hpp"

#include <array>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>

using namespace baton::test;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

BOOST_TEST_GLOBAL_FIXTURE(SharedPostgresGuard);

namespace {

// A fresh database of the shared cluster.
struct Database {
  PostgresCluster& pg = shared_postgres();
  std::string name = pg.create_database();
  std::string url = pg.url(name);
};

// A node's options: the harness's defaults (leases.min_seconds 1, …) with the postgres
// engine on `url`. storage.postgres is one flow mapping, as tls_test passes server.tls.
ServerOptions postgres_options(const std::string& url, std::string_view wake = "notify") {
  return ServerOptions{}
      .with("storage.engine", "postgres")
      .with("storage.postgres", "{url: \"" + url + "\", connections_per_shard: 4, wake: " +
                                    std::string(wake) + ", poll_interval_ms: 200, sweep_interval_ms: 100}");
}

// A TCP relay in front of PostgreSQL that can go silent: from then on it accepts
// connections and answers nothing (a server that hangs, a partition that drops replies),
// and the connections it relayed are cut.
class SilentableRelay {
 public:
  explicit SilentableRelay(int target) : target_(target) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    accepting_ = std::thread([this] { accept_loop(); });
  }
  ~SilentableRelay() {
    stopping_ = true;
    // A blocking accept() is not woken by closing its socket from another thread: a
    // connection wakes it.
    boost::system::error_code ignored;
    tcp::socket poke(io_);
    poke.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())), ignored);
    accepting_.join();
    acceptor_.close(ignored);
    cut_all();
    for (std::thread& t : pumps_) t.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  void go_silent() {
    silent_ = true;
    cut_all();
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      auto client = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*client, ec);
      if (ec || stopping_) return;
      std::lock_guard lock(mutex_);
      sockets_.push_back(client);
      if (silent_) continue;  // held open, never answered
      auto server = std::make_shared<tcp::socket>(io_);
      server->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(target_)), ec);
      if (ec) continue;
      sockets_.push_back(server);
      pumps_.emplace_back([client, server] { pump(*client, *server); });
      pumps_.emplace_back([client, server] { pump(*server, *client); });
    }
  }
  static void pump(tcp::socket& from, tcp::socket& to) {
    std::array<char, 16384> buffer;
    boost::system::error_code ec;
    for (;;) {
      std::size_t n = from.read_some(asio::buffer(buffer), ec);
      if (ec || asio::write(to, asio::buffer(buffer.data(), n), ec) != n || ec) break;
    }
    to.shutdown(tcp::socket::shutdown_both, ec);
  }
  void cut_all() {
    std::lock_guard lock(mutex_);
    boost::system::error_code ignored;
    for (auto& socket : sockets_) socket->shutdown(tcp::socket::shutdown_both, ignored);
  }

  int target_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::atomic<bool> silent_{false}, stopping_{false};
  std::mutex mutex_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::thread accepting_;
  std::vector<std::thread> pumps_;
};

std::string with_token(const std::string& token, json::object extra = {}) {
  extra["lease_token"] = token;
  return js(extra);
}

// One node on a fresh database, an account and a task type.
struct PgNode {
  Database db;
  TestServer server{postgres_options(db.url)};
  Client c = server.client();
  std::string key = c.register_key();
  std::string type = "pg_" + unique_suffix();

  std::string create(const json::object& extra = {}) { return c.create_task_id(key, task_body(type, extra)); }
  Response claim_as(const std::string& worker) {
    Response r = c.claim(key, js({{"type", type}, {"worker_id", worker}}));
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_REQUIRE_MESSAGE(!r.task_is_null(), "expected a task: " << r.describe());
    return r;
  }
  Response get(const std::string& id) {
    Response r = c.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);
    return r;
  }
  bool nothing_to_claim() {
    Response r = c.claim(key, js({{"type", type}}));
    BATON_REQUIRE_STATUS(r, 200);
    return r.task_is_null();
  }
  std::size_t count(const std::string& query) {
    Response r = c.list_tasks(key, "limit=100&" + query);
    BATON_REQUIRE_STATUS(r, 200);
    return r.obj().at("tasks").as_array().size();
  }
};

// Every task a listing gives, following next_cursor. `query` without limit and cursor.
std::vector<json::object> list_all(Client& c, const std::string& key, const std::string& query) {
  std::vector<json::object> out;
  std::string cursor;
  for (int page = 0; page < 1000; ++page) {
    Response r = c.list_tasks(key, query + "&limit=100" + (cursor.empty() ? "" : "&cursor=" + url_encode(cursor)));
    BOOST_REQUIRE_MESSAGE(r.status == 200, "list " << query << ": " << r.describe());
    for (const json::value& t : r.obj().at("tasks").as_array()) out.push_back(t.as_object());
    const json::value& next = r.obj().at("next_cursor");
    if (next.is_null()) return out;
    cursor = std::string(next.as_string());
  }
  BOOST_FAIL("list " << query << ": more than 1000 pages");
  return out;
}

// A long-poll claim on its own connection in another thread (as in long_poll_test).
struct Waited {
  Response response;
  SteadyClock::time_point returned_at;
  std::string failure;
};

std::future<Waited> wait_claim(int port, std::string key, std::string body) {
  return std::async(std::launch::async, [port, key = std::move(key), body = std::move(body)] {
    Waited w;
    try {
      Client c(port, 40s);
      w.response = c.claim(key, body);
      w.returned_at = SteadyClock::now();
    } catch (const std::exception& e) {
      w.failure = e.what();
    }
    return w;
  });
}

Waited get_waited(std::future<Waited>& f) {
  BOOST_REQUIRE_MESSAGE(f.wait_for(45s) == std::future_status::ready, "long poll never returned");
  Waited w = f.get();
  BOOST_REQUIRE_MESSAGE(w.failure.empty(), "long poll failed: " << w.failure);
  return w;
}

const json::array& array_of(const Response& r, std::string_view field) {
  BOOST_REQUIRE_MESSAGE(r.json.is_object() && r.obj().contains(field) && r.obj().at(field).is_array(),
                        "no array " << field << " in " << r.describe());
  return r.obj().at(field).as_array();
}

const json::object& next_of(const Response& r) {
  BOOST_REQUIRE_MESSAGE(r.json.is_object() && r.obj().contains("next") && r.obj().at("next").is_object(),
                        "no \"next\" object in " << r.describe());
  return r.obj().at("next").as_object();
}

std::string str(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The task `id` as its row's record holds it.
baton::Task stored_task(Database& db, const std::string& id) {
  std::string hex = db.pg.query(db.name, "SELECT encode(record, 'hex') FROM baton_tasks WHERE id = '" + id + "'");
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  std::optional<baton::Task> task = baton::records::decode_task(bytes);
  BOOST_REQUIRE_MESSAGE(task, "task " << id << " has no row that decodes");
  return std::move(*task);
}

// Writes `task` over its row, as a node would have left it (status and record; the
// deadline column as `deadline`).
void store_task(Database& db, const baton::Task& task, std::int64_t deadline) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : baton::records::encode_task(task)) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  db.pg.query(db.name, "UPDATE baton_tasks SET status = " + std::to_string(static_cast<int>(task.status)) +
                           ", lease_expires_at = " + std::to_string(deadline) + ", record = decode('" +
                           hex + "', 'hex') WHERE id = '" + task.id + "'");
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(single_node)

BOOST_FIXTURE_TEST_CASE(the_whole_lifecycle_runs_on_postgres, PgNode) {
  // Baton made its schema in this test's database: the URL is the one in use.
  const std::string tables = db.pg.query(
      db.name, "SELECT count(*) FROM information_schema.tables "
               "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')");
  BOOST_TEST_MESSAGE("tables Baton made: " << tables);
  BOOST_TEST(std::stoi(tables) > 0);

  const json::value payload = json::object{{"doc", "a.pdf"}, {"pages", 3}};
  Response created = c.create_task(key, task_body(type, {{"payload", payload}, {"priority", 7},
                                                         {"maxAttempts", 4}, {"leaseDurationSeconds", 30}}));
  BATON_REQUIRE_STATUS(created, 201);
  const std::string id = created.task_id();
  BOOST_TEST(id.rfind("tsk_", 0) == 0u);
  BOOST_TEST(id.size() == 30u);
  BOOST_TEST(created.task_str("status") == "pending");
  BOOST_TEST(created.task_str("type") == type);
  BOOST_TEST(created.task_int("priority") == 7);
  BOOST_TEST(created.task_int("maxAttempts") == 4);
  BOOST_TEST(created.task_int("attemptCount") == 0);
  BOOST_TEST(created.task_int("leaseDurationSeconds") == 30);
  BOOST_CHECK_MESSAGE(created.task().at("payload") == payload, created.describe());
  BOOST_TEST(field_is_null(created.task(), "leaseToken"));
  BOOST_TEST(field_is_null(created.task(), "claimedBy"));
  BATON_CHECK_CONTRACT(created.contract());
  BOOST_TEST(created.recommended_action() == "claim_task");
  // The task is a row of this database (baton_tasks: src/pg/schema.cpp).
  BOOST_TEST(db.pg.query(db.name, "SELECT count(*) FROM baton_tasks WHERE id = '" + id + "'") == "1");

  Response got = get(id);
  BOOST_TEST(got.task_str("status") == "pending");
  BOOST_CHECK_MESSAGE(got.task().at("payload") == payload, got.describe());
  BOOST_TEST(got.task_str("createdAt") == created.task_str("createdAt"));

  Response listed = c.list_tasks(key, "type=" + type);
  BATON_REQUIRE_STATUS(listed, 200);
  BATON_CHECK_CONTRACT(listed.contract());
  const json::array& tasks = listed.obj().at("tasks").as_array();
  BOOST_REQUIRE_EQUAL(tasks.size(), 1u);
  BOOST_TEST(str(tasks[0].as_object(), "id") == id);
  BOOST_TEST(listed.obj().at("next_cursor").is_null());
  BOOST_TEST(count("status=pending&type=" + type) == 1u);
  BOOST_TEST(count("status=claimed&type=" + type) == 0u);

  // Claim.
  const auto before_claim = WallClock::now();
  Response claimed = claim_as("w-1");
  BOOST_TEST(claimed.task_id() == id);
  BOOST_TEST(claimed.task_str("status") == "claimed");
  BOOST_TEST(claimed.task_int("attemptCount") == 1);
  BOOST_TEST(claimed.task_str("claimedBy") == "w-1");
  const std::string token = claimed.task_str("leaseToken");
  BOOST_TEST(token.rfind("lse_", 0) == 0u);
  BOOST_TEST(token.size() == 36u);
  const auto expires = parse_time(claimed.task_str("leaseExpiresAt"));
  BOOST_TEST(std::abs(seconds(expires - before_claim) - 30.0) < 2.0);
  BATON_CHECK_CONTRACT(claimed.contract());
  BOOST_TEST(claimed.recommended_action() == "heartbeat");
  BOOST_TEST(nothing_to_claim());

  Response during = get(id);
  BOOST_TEST(during.task_str("status") == "claimed");
  BOOST_TEST(during.task_str("claimedBy") == "w-1");
  BOOST_TEST(field_is_null(during.task(), "leaseToken"));
  BOOST_TEST(count("status=claimed&type=" + type) == 1u);

  // Another account sees nothing; an unknown id is task_not_found.
  Client other = server.client();
  const std::string other_key = other.register_key();
  BATON_CHECK_ERROR(other.get_task(other_key, id), "task_not_found");
  BATON_CHECK_ERROR(other.complete(other_key, id, with_token(token)), "task_not_found");
  BATON_CHECK_ERROR(c.get_task(key, "tsk_01ARZ3NDEKTSV4RRFFQ69G5FAV"), "task_not_found");

  // A heartbeat moves the lease, and the new expiry is what GET shows.
  std::this_thread::sleep_for(400ms);
  Response hb = c.heartbeat(key, id, with_token(token));
  BATON_REQUIRE_STATUS(hb, 200);
  BOOST_TEST(hb.task_str("status") == "claimed");
  BOOST_TEST(hb.task_str("leaseToken") == token);
  const auto renewed = parse_time(hb.task_str("leaseExpiresAt"));
  BOOST_TEST(seconds(renewed - expires) >= 0.3);
  BOOST_TEST(get(id).task_str("leaseExpiresAt") == hb.task_str("leaseExpiresAt"));

  // A wrong token, or another worker, is refused and changes nothing.
  const std::string wrong = "lse_" + std::string(32, '0');
  BATON_CHECK_ERROR(c.complete(key, id, with_token(wrong, {{"result", json::object{{"by", "wrong"}}}})),
                    "lease_expired");
  BATON_CHECK_ERROR(c.heartbeat(key, id, with_token(wrong)), "lease_expired");
  BATON_CHECK_ERROR(c.fail(key, id, with_token(wrong, {{"reason", "not mine"}})), "lease_expired");
  BATON_CHECK_ERROR(c.complete(key, id, js({{"worker_id", "w-2"}, {"result", json::object{}}})),
                    "lease_expired");
  Response still = get(id);
  BOOST_TEST(still.task_str("status") == "claimed");
  BOOST_TEST(field_is_null(still.task(), "result"));
  BOOST_TEST(still.task_str("leaseExpiresAt") == hb.task_str("leaseExpiresAt"));

  // Complete with the token.
  const json::value result = json::object{{"answer", 42}, {"summary", "ok"}};
  const std::string complete_body = with_token(token, {{"result", result}, {"output_id", "out_7"}});
  Response done = c.complete(key, id, complete_body);
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
  BOOST_CHECK_MESSAGE(done.task().at("result") == result, done.describe());
  BOOST_TEST(done.task_str("outputId") == "out_7");
  BOOST_TEST(!done.task_str("completedAt").empty());
  BOOST_TEST(field_is_null(done.task(), "leaseToken"));
  BATON_CHECK_CONTRACT(done.contract());
  BOOST_TEST(done.recommended_action() == "download_artifact");

  // The same complete again is the same 200; anything else on a terminal task is refused.
  Response again = c.complete(key, id, complete_body);
  BATON_CHECK_STATUS(again, 200);
  BOOST_TEST(again.task_str("status") == "completed");
  BATON_CHECK_ERROR(c.heartbeat(key, id, with_token(token)), "invalid_transition");
  BATON_CHECK_ERROR(c.cancel(key, id), "invalid_transition");
  BATON_CHECK_ERROR(c.claim_id(key, id), "invalid_transition");

  Response final_state = get(id);
  BOOST_TEST(final_state.task_str("status") == "completed");
  BOOST_CHECK_MESSAGE(final_state.task().at("result") == result, final_state.describe());
  BOOST_TEST(final_state.task_int("attemptCount") == 1);
  BOOST_TEST(count("status=completed&type=" + type) == 1u);
  BOOST_TEST(count("status=pending&type=" + type) == 0u);
  BOOST_TEST(nothing_to_claim());

  // Cancel: a pending task, and a claimed one whose worker is then told to stop.
  const std::string second = create();
  Response cancelled = c.cancel(key, second);
  BATON_REQUIRE_STATUS(cancelled, 200);
  BOOST_TEST(cancelled.task_str("status") == "cancelled");
  BOOST_TEST(nothing_to_claim());
  BATON_CHECK_ERROR(c.claim_id(key, second), "invalid_transition");

  const std::string third = create();
  Response third_claim = claim_as("w-3");
  BOOST_REQUIRE(third_claim.task_id() == third);
  BATON_REQUIRE_STATUS(c.cancel(key, third), 200);
  BATON_CHECK_ERROR(c.heartbeat(key, third, with_token(third_claim.task_str("leaseToken"))), "task_cancelled");
  BOOST_TEST(get(third).task_str("status") == "cancelled");
  BOOST_TEST(count("status=cancelled&type=" + type) == 2u);
}

BOOST_FIXTURE_TEST_CASE(fail_retries_then_dead_letters_and_requeue_brings_it_back, PgNode) {
  const std::string id = create({{"maxAttempts", 2}});

  Response first = claim_as("w-1");
  BOOST_REQUIRE(first.task_id() == id);
  const std::string token1 = first.task_str("leaseToken");
  Response retried = c.fail(key, id, with_token(token1, {{"reason", "boom"}, {"retry_after_seconds", 0}}));
  BATON_REQUIRE_STATUS(retried, 200);
  BOOST_TEST(retried.task_str("status") == "pending");
  BOOST_TEST(retried.task_str("failureReason") == "boom");
  BOOST_TEST(retried.task_int("attemptCount") == 1);
  BOOST_TEST(field_is_null(retried.task(), "scheduledAt"));
  BOOST_TEST(retried.recommended_action() == "claim_task");
  // That attempt is over: its token no longer acts.
  BATON_CHECK_ERROR(c.complete(key, id, with_token(token1)), "lease_expired");

  Response second = claim_as("w-2");
  BOOST_TEST(second.task_id() == id);
  BOOST_TEST(second.task_int("attemptCount") == 2);
  const std::string token2 = second.task_str("leaseToken");
  BOOST_TEST(token2 != token1);
  Response dead = c.fail(key, id, with_token(token2, {{"reason", "boom again"}, {"retry_after_seconds", 0}}));
  BATON_REQUIRE_STATUS(dead, 200);
  BOOST_TEST(dead.task_str("status") == "dead_letter");
  BOOST_TEST(dead.task_str("failureReason") == "boom again");
  BOOST_TEST(dead.task_int("attemptCount") == 2);
  BATON_CHECK_CONTRACT(dead.contract());
  BOOST_TEST(dead.recommended_action() == "requeue_task");

  BOOST_TEST(nothing_to_claim());
  BATON_CHECK_ERROR(c.claim_id(key, id), "invalid_transition");
  BATON_CHECK_ERROR(c.fail(key, id, with_token(token2)), "invalid_transition");
  BOOST_TEST(count("status=dead_letter&type=" + type) == 1u);
  BOOST_TEST(get(id).task_str("status") == "dead_letter");

  Response requeued = c.requeue(key, id);
  BATON_REQUIRE_STATUS(requeued, 200);
  BOOST_TEST(requeued.task_str("status") == "pending");
  BOOST_TEST(requeued.task_int("attemptCount") == 0);
  BOOST_TEST(field_is_null(requeued.task(), "scheduledAt"));
  BATON_CHECK_ERROR(c.requeue(key, id), "invalid_transition");
  BOOST_TEST(count("status=dead_letter&type=" + type) == 0u);

  Response third = claim_as("w-3");
  BOOST_TEST(third.task_id() == id);
  BOOST_TEST(third.task_int("attemptCount") == 1);
  // retryable: false dead-letters although attempts remain.
  Response fatal = c.fail(key, id, with_token(third.task_str("leaseToken"), {{"reason", "fatal"}, {"retryable", false}}));
  BATON_REQUIRE_STATUS(fatal, 200);
  BOOST_TEST(fatal.task_str("status") == "dead_letter");
  BOOST_TEST(fatal.task_int("attemptCount") == 1);
  BOOST_TEST(get(id).task_str("failureReason") == "fatal");
}

BOOST_FIXTURE_TEST_CASE(a_retry_delay_holds_the_task_back_and_wakes_a_long_poll_on_time, PgNode) {
  const std::string id = create({{"maxAttempts", 3}});
  Response claimed = claim_as("w-1");
  const auto before = WallClock::now();
  Response failed = c.fail(key, id, with_token(claimed.task_str("leaseToken"),
                                               {{"reason", "later"}, {"retry_after_seconds", 2}}));
  BATON_REQUIRE_STATUS(failed, 200);
  BOOST_TEST(failed.task_str("status") == "pending");
  const auto due = parse_time(failed.task_str("scheduledAt"));
  BOOST_TEST(seconds(due - before) > 1.8);
  BOOST_TEST(seconds(due - before) < 2.6);

  BOOST_TEST(nothing_to_claim());
  BATON_CHECK_ERROR(c.claim_id(key, id), "not_yet_claimable");

  // A long poll is answered when the delay ends: not before, and within the spec's second.
  c.set_timeout(20s);
  Response r = c.claim(key, js({{"type", type}, {"wait_seconds", 10}, {"worker_id", "w-2"}}));
  const auto returned = WallClock::now();
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_REQUIRE_MESSAGE(!r.task_is_null(), "the retried task never came: " << r.describe());
  BOOST_TEST(r.task_id() == id);
  BOOST_TEST(r.task_int("attemptCount") == 2);
  BOOST_TEST(seconds(returned - due) >= 0.0);
  BOOST_TEST(seconds(returned - due) < 1.2);
}

BOOST_FIXTURE_TEST_CASE(an_expired_lease_goes_back_to_the_queue_and_fences_its_worker, PgNode) {
  const std::string id = create({{"leaseDurationSeconds", 1}, {"maxAttempts", 3}});
  const std::string last_try_type = type + "_last";
  const std::string last_try = c.create_task_id(key, task_body(last_try_type, {{"leaseDurationSeconds", 1}, {"maxAttempts", 1}}));

  Response first = claim_as("w-1");
  BOOST_REQUIRE(first.task_id() == id);
  const std::string token1 = first.task_str("leaseToken");
  const auto expires = parse_time(first.task_str("leaseExpiresAt"));
  BOOST_TEST(std::abs(seconds(expires - WallClock::now()) - 1.0) < 0.5);
  Response last_claim = c.claim(key, js({{"type", last_try_type}, {"worker_id", "w-1"}}));
  BATON_REQUIRE_STATUS(last_claim, 200);
  BOOST_REQUIRE(!last_claim.task_is_null());

  // The sweeper returns it within the spec's second (sweep_interval_ms is 100).
  Response last;
  WallClock::time_point seen{};
  bool left = poll_until(
      [&] {
        last = get(id);
        seen = WallClock::now();
        return last.task_str("status") != "claimed";
      },
      5000ms, 50ms);
  BOOST_REQUIRE_MESSAGE(left, "the lease never expired: " << last.describe());
  BOOST_TEST(seconds(seen - expires) >= 0.0);
  BOOST_TEST(seconds(seen - expires) < 1.2);
  BOOST_TEST(last.task_str("status") == "pending");
  BOOST_TEST(last.task_str("failureReason") == "lease_expired");
  BOOST_TEST(last.task_int("attemptCount") == 1);
  BOOST_TEST(last.recommended_action() == "claim_task");

  // Its last attempt gone, the other one is a dead letter.
  BOOST_REQUIRE(poll_until([&] { return get(last_try).task_str("status") != "claimed"; }, 3000ms));
  Response dead = get(last_try);
  BOOST_TEST(dead.task_str("status") == "dead_letter");
  BOOST_TEST(dead.task_str("failureReason") == "lease_expired");

  // The old token is fenced off before and after someone else claims the task.
  BATON_CHECK_ERROR(c.heartbeat(key, id, with_token(token1)), "lease_expired");
  Response second = claim_as("w-2");
  BOOST_TEST(second.task_id() == id);
  BOOST_TEST(second.task_int("attemptCount") == 2);
  BOOST_TEST(second.task_str("claimedBy") == "w-2");
  const std::string token2 = second.task_str("leaseToken");
  BOOST_TEST(token2 != token1);
  BATON_CHECK_ERROR(c.complete(key, id, with_token(token1, {{"result", json::object{{"by", "w-1"}}}})),
                    "lease_expired");
  BATON_CHECK_ERROR(c.fail(key, id, with_token(token1)), "lease_expired");
  Response now = get(id);
  BOOST_TEST(now.task_str("status") == "claimed");
  BOOST_TEST(now.task_str("claimedBy") == "w-2");
  BOOST_TEST(field_is_null(now.task(), "result"));

  Response done = c.complete(key, id, with_token(token2, {{"result", json::object{{"by", "w-2"}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
  BOOST_TEST(str(done.task().at("result").as_object(), "by") == "w-2");
}

BOOST_FIXTURE_TEST_CASE(claims_follow_priority_then_creation_order, PgNode) {
  const std::string low = create({{"priority", 1}});
  const std::string high = create({{"priority", 90}});
  const std::string medium = create({{"priority", 50}});
  const std::string medium_later = create({{"priority", 50}});
  for (const std::string& expected : {high, medium, medium_later, low}) {
    Response r = claim_as("w");
    BOOST_TEST(r.task_id() == expected);
  }
  BOOST_TEST(nothing_to_claim());

  // Without a type: across the account's types, in the same order.
  const std::string type_a = type + "_a", type_b = type + "_b";
  const std::string a10 = c.create_task_id(key, task_body(type_a, {{"priority", 10}}));
  const std::string b20 = c.create_task_id(key, task_body(type_b, {{"priority", 20}}));
  const std::string a30 = c.create_task_id(key, task_body(type_a, {{"priority", 30}}));
  for (const std::string& expected : {a30, b20, a10}) {
    Response r = c.claim(key, js({{"worker_id", "w"}}));
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_REQUIRE_MESSAGE(!r.task_is_null(), r.describe());
    BOOST_TEST(r.task_id() == expected);
  }
  Response none = c.claim(key);
  BATON_REQUIRE_STATUS(none, 200);
  BOOST_TEST(none.task_is_null());
  BATON_CHECK_CONTRACT(none.contract());
  BOOST_TEST(none.recommended_action() == "retry_after_wait");
}

BOOST_FIXTURE_TEST_CASE(an_idempotent_create_replays_byte_for_byte_on_every_node, PgNode) {
  const std::string body = task_body(type, {{"priority", 3}});
  const Headers idem{{"Idempotency-Key", "order-" + unique_suffix()}};
  Response first = c.create_task(key, body, idem);
  BATON_REQUIRE_STATUS(first, 201);
  Response replay = c.create_task(key, body, idem);
  BOOST_TEST(replay.status == 201);
  BOOST_TEST(replay.body == first.body);

  // The same JSON written another way is the same request.
  const std::string reformatted =
      "{ \"priority\" : 3,\n  \"payload\": {\"n\":1}, \"type\": \"" + type + "\" }";
  Response third = c.create_task(key, reformatted, idem);
  BOOST_TEST(third.status == 201);
  BOOST_TEST(third.body == first.body);

  // Another body under the same key: a conflict, and no task.
  BATON_CHECK_ERROR(c.create_task(key, task_body(type, {{"priority", 4}}), idem), "idempotency_conflict");

  // The records are in PostgreSQL: a second node replays and refuses the same way.
  TestServer node_b(postgres_options(db.url));
  Client cb = node_b.client();
  Response via_b = cb.create_task(key, body, idem);
  BOOST_TEST(via_b.status == 201);
  BOOST_TEST(via_b.body == first.body);
  BATON_CHECK_ERROR(cb.create_task(key, task_body(type, {{"priority", 4}}), idem), "idempotency_conflict");
  BOOST_TEST(count("type=" + type) == 1u);

  // The key is scoped per account: another account's same key makes its own task.
  const std::string other_key = cb.register_key();
  Response theirs = cb.create_task(other_key, body, idem);
  BATON_REQUIRE_STATUS(theirs, 201);
  BOOST_TEST(theirs.task_id() != first.task_id());
  BOOST_TEST(count("type=" + type) == 1u);
}

BOOST_FIXTURE_TEST_CASE(a_long_poll_gets_a_task_created_while_it_waits, PgNode) {
  auto waiter = wait_claim(server.port(), key, js({{"type", type}, {"wait_seconds", 5}, {"worker_id", "w-1"}}));
  std::this_thread::sleep_for(300ms);
  BOOST_REQUIRE_MESSAGE(waiter.wait_for(0s) == std::future_status::timeout,
                        "the long poll returned before any task existed");
  Client creator = server.client();
  const auto created_at = SteadyClock::now();
  const std::string id = creator.create_task_id(key, task_body(type));

  Waited w = get_waited(waiter);
  BATON_REQUIRE_STATUS(w.response, 200);
  BOOST_REQUIRE_MESSAGE(!w.response.task_is_null(), w.response.describe());
  BOOST_TEST(w.response.task_id() == id);
  BOOST_TEST(w.response.task_str("status") == "claimed");
  BOOST_TEST(w.response.task_str("claimedBy") == "w-1");
  BOOST_TEST(w.response.task_str("leaseToken").rfind("lse_", 0) == 0u);
  BOOST_TEST(seconds(w.returned_at - created_at) < 1.0);
  BOOST_TEST(get(id).task_str("status") == "claimed");

  // Nothing comes: the empty answer after about wait_seconds.
  const auto began = SteadyClock::now();
  Response empty = c.claim(key, js({{"type", type}, {"wait_seconds", 1}}));
  const double elapsed = seconds(SteadyClock::now() - began);
  BATON_REQUIRE_STATUS(empty, 200);
  BOOST_TEST(empty.task_is_null());
  BOOST_TEST(empty.recommended_action() == "retry_after_wait");
  BOOST_TEST(elapsed >= 0.9);
  BOOST_TEST(elapsed <= 2.0);
}

BOOST_FIXTURE_TEST_CASE(max_tasks_and_claim_next_on_postgres, PgNode) {
  std::map<int, std::string> by_priority;
  for (int p = 1; p <= 5; ++p) by_priority[p * 10] = create({{"priority", p * 10}});

  Response many = c.claim(key, js({{"type", type}, {"worker_id", "w-1"}, {"max_tasks", 3}}));
  BATON_REQUIRE_STATUS(many, 200);
  BATON_CHECK_CONTRACT(many.contract());
  const json::array& got = array_of(many, "tasks");
  BOOST_REQUIRE_EQUAL(got.size(), 3u);
  std::set<std::string> tokens;
  const int expected_priorities[] = {50, 40, 30};
  for (std::size_t i = 0; i < got.size(); ++i) {
    const json::object& task = got[i].as_object().at("task").as_object();
    BOOST_TEST(str(task, "id") == by_priority[expected_priorities[i]]);
    BOOST_TEST(str(task, "status") == "claimed");
    BOOST_TEST(str(task, "claimedBy") == "w-1");
    tokens.insert(str(task, "leaseToken"));
  }
  BOOST_TEST(tokens.size() == 3u);
  BOOST_TEST(!tokens.count(""));

  // complete with claim_next: each answer carries the next best task, claimed.
  const json::object& best = got[0].as_object().at("task").as_object();
  std::string id = str(best, "id");
  std::string token = str(best, "leaseToken");
  for (int expected : {20, 10}) {
    Response done = c.complete(key, id, with_token(token, {{"result", json::object{}},
                                                           {"claim_next", json::object{{"type", type}, {"worker_id", "w-1"}}}}));
    BATON_REQUIRE_STATUS(done, 200);
    BOOST_TEST(done.task_str("status") == "completed");
    const json::object& next = next_of(done);
    BOOST_REQUIRE_MESSAGE(next.at("task").is_object(), done.describe());
    const json::object& task = next.at("task").as_object();
    BOOST_TEST(str(task, "id") == by_priority[expected]);
    BOOST_TEST(str(task, "status") == "claimed");
    BOOST_TEST(str(task, "leaseToken").rfind("lse_", 0) == 0u);
    BOOST_TEST(get(id).task_str("status") == "completed");
    id = str(task, "id");
    token = str(task, "leaseToken");
  }
  Response last = c.complete(key, id, with_token(token, {{"claim_next", json::object{{"type", type}}}}));
  BATON_REQUIRE_STATUS(last, 200);
  BOOST_TEST(next_of(last).at("task").is_null());
  BOOST_TEST(count("status=completed&type=" + type) == 3u);
  BOOST_TEST(count("status=claimed&type=" + type) == 2u);
}

// The review gate is the state machine's alone: approve, reject and revise work here too.
BOOST_FIXTURE_TEST_CASE(review_gate_on_postgres, PgNode) {
  const std::string id = create({{"review", json::object{{"required", true}}}});
  Response claimed = claim_as("w-review");
  BOOST_TEST(str(claimed.task(), "id") == id);
  Response done = c.complete(key, id, with_token(claimed.task_str("leaseToken"),
                                                 {{"result", json::object{{"draft", 1}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "awaiting_review");
  Response revise = c.post("/v1/tasks/" + id + "/review", key,
                           R"({"decision":"revise","feedback":"add the tests"})");
  BATON_REQUIRE_STATUS(revise, 200);
  BOOST_TEST(revise.task_str("status") == "pending");
  Response again = claim_as("w-review-2");
  BOOST_TEST(again.task_int("attemptCount") == 2);
  BOOST_TEST(again.task_str("reviewFeedback") == "add the tests");
  BATON_REQUIRE_STATUS(c.complete(key, id, with_token(again.task_str("leaseToken"))), 200);
  Response approve = c.post("/v1/tasks/" + id + "/review", key, R"({"decision":"approve"})");
  BATON_REQUIRE_STATUS(approve, 200);
  BOOST_TEST(approve.task_str("status") == "completed");
  BATON_CHECK_ERROR(c.post("/v1/tasks/" + id + "/review", key, R"({"decision":"approve"})"),
                    "invalid_transition");
}

// A batch of the largest size is sent as one pipeline of 3 002 statements (BEGIN, then a
// key, a row and a stored answer per item, COMMIT) carrying megabytes (each payload is in
// its row and in its stored answer); its retry finds the keys held, and answers every item
// again from what was stored, in order, creating nothing.
BOOST_FIXTURE_TEST_CASE(the_largest_idempotent_batch_is_written_whole_and_replayed_whole, PgNode) {
  constexpr int kItems = 1000;
  json::array items;
  for (int i = 0; i < kItems; ++i) {
    items.push_back(json::object{{"type", type}, {"priority", i % 7},
                                 {"payload", {{"n", i}, {"text", std::string(700, static_cast<char>('a' + i % 26))}}}});
  }
  const std::string body = js(json::object{{"tasks", items}});
  c.set_timeout(60s);  // the retry answers item by item: 2 000 round trips
  const Headers key_header{{"Idempotency-Key", "big-" + unique_suffix()}};
  Response first = c.post("/v1/tasks/batch", key, body, key_header);
  BATON_REQUIRE_STATUS(first, 201);
  const json::array& ids = first.obj().at("taskIds").as_array();
  BOOST_REQUIRE_EQUAL(ids.size(), static_cast<std::size_t>(kItems));
  const std::string stored = db.pg.query(db.name, "SELECT count(*) FROM baton_tasks");
  BOOST_TEST(std::stoi(stored) == kItems);
  BOOST_TEST(std::stoi(db.pg.query(db.name, "SELECT count(*) FROM baton_idempotency WHERE status = 201")) == kItems);
  const json::object& item_500 = first.obj().at("tasks").as_array()[500].as_object().at("task").as_object();
  BOOST_TEST(item_500.at("payload").as_object().at("n").as_int64() == 500);

  Response again = c.post("/v1/tasks/batch", key, body, key_header);
  BATON_REQUIRE_STATUS(again, 201);
  BOOST_TEST(js(again.obj().at("taskIds")) == js(first.obj().at("taskIds")));
  BOOST_TEST(js(again.obj().at("tasks").as_array()[999]) == js(first.obj().at("tasks").as_array()[999]));
  BOOST_TEST(db.pg.query(db.name, "SELECT count(*) FROM baton_tasks") == stored);

  // The highest priority, first created, is the first claimed: the rows are whole.
  Response claimed = claim_as("w-big");
  BOOST_TEST(claimed.task_str("id") == std::string(ids[6].as_string()));
  BOOST_TEST(claimed.task().at("payload").as_object().at("text").as_string().size() == 700u);
}

// A database that stops answering (connections cut, new ones accepted and never answered)
// holds no thread: while every pool is reconnecting, up to its connect timeout, /health
// answers at once on every thread, and the operations that need the database fail with
// 503 within that timeout instead of hanging. (Keys are looked up blocking on a miss of
// the node's caches: the test's key is in every thread's cache before.)
BOOST_AUTO_TEST_CASE(a_database_that_stops_answering_holds_no_thread) {
  Database db;
  SilentableRelay relay(db.pg.port());
  TestServer server(postgres_options(db.url + " port=" + std::to_string(relay.port()) + " connect_timeout=3"));
  Client c = server.client();
  const std::string key = c.register_key();
  const std::string id = c.create_task_id(key, task_body("silent_" + unique_suffix()));
  for (int i = 0; i < 16; ++i) BATON_REQUIRE_STATUS(server.client().get_task(key, id), 200);
  // /health names the engine, without the embedded engine's own figures.
  Response healthy = c.get("/health", "");
  BATON_REQUIRE_STATUS(healthy, 200);
  BOOST_TEST(healthy.obj().at("storage").at("engine").as_string() == "postgres");
  BOOST_TEST(!healthy.obj().at("storage").as_object().contains("sync"));

  relay.go_silent();
  // Reads on many connections, so that every thread's pool reconnects.
  std::vector<std::future<std::pair<int, double>>> reads;
  for (int i = 0; i < 8; ++i) {
    reads.push_back(std::async(std::launch::async, [&] {
      Client own = server.client(20s);
      auto start = SteadyClock::now();
      Response r = own.get_task(key, id);
      return std::make_pair(r.status, seconds(SteadyClock::now() - start));
    }));
  }
  std::this_thread::sleep_for(500ms);
  double slowest = 0;
  for (int i = 0; i < 16; ++i) {
    Client probe = server.client(20s);
    auto start = SteadyClock::now();
    Response health = probe.get("/health", "");
    slowest = std::max(slowest, seconds(SteadyClock::now() - start));
    // Degraded (503) while the database does not answer: told, not waited for.
    BOOST_TEST((health.status == 200 || health.status == 503), health.describe());
  }
  BOOST_TEST(slowest < 1.0, "the slowest /health took " << slowest << " s");
  for (auto& read : reads) {
    auto [status, took] = read.get();
    BOOST_TEST((status == 503 || status == 200), "status " << status);
    BOOST_TEST(took < 10.0, "a read took " << took << " s");
  }
}

// A schedule's row that is not Baton's (its record does not decode) stops firing and is
// reported; the node's other schedules go on.
BOOST_FIXTURE_TEST_CASE(a_schedule_row_that_does_not_decode_holds_up_no_other, PgNode) {
  auto made = [&](const char* name) {
    Response r = c.post("/v1/schedules", key,
                        js({{"name", name}, {"cron", "* * * * * *"},
                            {"task", {{"type", type}, {"payload", json::object{}}}}}));
    BATON_REQUIRE_STATUS(r, 201);
    return std::string(r.obj().at("schedule").at("id").as_string());
  };
  const std::string bad = made("bad");
  // Due long ago, so that it is the first a look takes.
  db.pg.query(db.name, "UPDATE baton_schedules SET record = '\\x00ff'::bytea, next_due = 1 WHERE id = '" +
                           bad + "'");
  const std::string good = made("good");
  BOOST_TEST(poll_until([&] { return c.get("/v1/schedules/" + good, key).obj().at("schedule").at("runs").as_int64() >= 2; },
                        10s, 50ms));
  BOOST_TEST(db.pg.query(db.name, "SELECT next_due FROM baton_schedules WHERE id = '" + bad + "'") == "0");
  Response health = c.get("/health", "");
  BATON_REQUIRE_STATUS(health, 200);
  BOOST_TEST(health.obj().at("failures").at("schedule_firing").as_int64() >= 1);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(restart)

BOOST_FIXTURE_TEST_CASE(a_killed_node_restarts_with_every_task_from_postgres, PgNode) {
  const std::string pending = create({{"payload", json::object{{"kind", "pending"}}}, {"priority", 9}});
  const std::string held = create({{"leaseDurationSeconds", 60}});
  Response held_claim = c.claim_id(key, held, R"({"worker_id":"w-held"})");
  BATON_REQUIRE_STATUS(held_claim, 200);
  const std::string held_token = held_claim.task_str("leaseToken");

  const std::string done = create();
  Response done_claim = c.claim_id(key, done, R"({"worker_id":"w-done"})");
  BATON_REQUIRE_STATUS(done_claim, 200);
  BATON_REQUIRE_STATUS(c.complete(key, done, with_token(done_claim.task_str("leaseToken"),
                                                        {{"result", json::object{{"ok", true}}}})), 200);
  const std::string cancelled = create();
  BATON_REQUIRE_STATUS(c.cancel(key, cancelled), 200);

  const std::string expiring = create({{"leaseDurationSeconds", 1}});
  Response expiring_claim = c.claim_id(key, expiring, R"({"worker_id":"w-gone"})");
  BATON_REQUIRE_STATUS(expiring_claim, 200);
  const auto expiring_at = parse_time(expiring_claim.task_str("leaseExpiresAt"));

  const std::string idem_type = type + "_idem";
  const Headers idem{{"Idempotency-Key", "restart-" + unique_suffix()}};
  Response idem_first = c.create_task(key, task_body(idem_type), idem);
  BATON_REQUIRE_STATUS(idem_first, 201);

  std::map<std::string, json::value> before;
  for (const std::string& id : {pending, held, done, cancelled}) before[id] = get(id).task();

  server.kill9();
  // Nothing in the node's own data directory is needed: empty it.
  for (const auto& entry : std::filesystem::directory_iterator(server.data_dir()))
    std::filesystem::remove_all(entry.path());
  // Let the 1-second lease expire while no node runs.
  std::this_thread::sleep_until(expiring_at + 300ms);
  server.restart();
  const auto ready = server.ready_at_wall();
  Client c2 = server.client();

  // The key is still known, and every task is as it was.
  for (const std::string& id : {pending, held, done, cancelled}) {
    Response r = c2.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);
    BOOST_CHECK_MESSAGE(json::value(r.task()) == before[id],
                        "task " << id << " changed across the restart: " << js(before[id]) << " -> " << js(r.task()));
  }
  BOOST_TEST(c2.get_task(key, held).task_str("status") == "claimed");
  BOOST_TEST(c2.get_task(key, done).task_str("status") == "completed");

  // The lease that expired meanwhile is processed soon after the start.
  Response last;
  WallClock::time_point seen{};
  bool left = poll_until(
      [&] {
        last = c2.get_task(key, expiring);
        seen = WallClock::now();
        return last.status == 200 && last.task_str("status") != "claimed";
      },
      5000ms, 50ms);
  BOOST_REQUIRE_MESSAGE(left, "the lease that expired during the downtime stayed: " << last.describe());
  BOOST_TEST(seconds(seen - ready) < 1.2);
  BOOST_TEST(last.task_str("status") == "pending");
  BOOST_TEST(last.task_str("failureReason") == "lease_expired");

  // The claim made before the kill still completes with its token.
  Response finished = c2.complete(key, held, with_token(held_token, {{"result", json::object{}}}));
  BATON_CHECK_STATUS(finished, 200);
  BOOST_TEST(finished.task_str("status") == "completed");
  // The queue is intact: the priority-9 task first, then the expired one.
  Response next = c2.claim(key, js({{"type", type}}));
  BATON_REQUIRE_STATUS(next, 200);
  BOOST_REQUIRE(!next.task_is_null());
  BOOST_TEST(next.task_id() == pending);
  Response after = c2.claim(key, js({{"type", type}}));
  BATON_REQUIRE_STATUS(after, 200);
  BOOST_REQUIRE(!after.task_is_null());
  BOOST_TEST(after.task_id() == expiring);
  BOOST_TEST(after.task_int("attemptCount") == 2);
  // And the idempotency record.
  Response replay = c2.create_task(key, task_body(idem_type), idem);
  BOOST_TEST(replay.status == 201);
  BOOST_TEST(replay.body == idem_first.body);
}

// Schema version 2 kept no deadline for a gated task: the migration to version 3 gives
// each its record's, so a gate stored before the upgrade still times out.
BOOST_FIXTURE_TEST_CASE(a_gate_stored_by_schema_version_2_still_times_out_after_the_migration, PgNode) {
  const std::string id = create({{"definition_of_done", "x"}, {"acceptance", json::object{{"timeout_seconds", 3}}}});
  Response claim = c.claim_id(key, id, R"({"worker_id":"w"})");
  BATON_REQUIRE_STATUS(claim, 200);
  Response done = c.complete(key, id, with_token(claim.task_str("leaseToken")));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_REQUIRE_EQUAL(done.task_str("status"), "awaiting_acceptance");
  server.kill9();
  // As version 2 left it: no deadline in the column, nothing version 3 added.
  db.pg.query(db.name, "UPDATE baton_tasks SET lease_expires_at = 0 WHERE id = '" + id +
                           "'; DROP INDEX baton_tasks_gates; DROP INDEX baton_usage_by_account; "
                           "DROP TABLE baton_workers; DROP TABLE baton_logs; DROP INDEX baton_links_to; "
                           "CREATE INDEX baton_links_waiting ON baton_links (to_id) WHERE kind = 0; "
                           "DROP TABLE baton_schedules; DROP TABLE baton_schedule_runs; "
                           "UPDATE baton_schema SET version = 2");
  server.restart();
  Client c2 = server.client();
  BOOST_TEST(db.pg.query(db.name, "SELECT version FROM baton_schema") == "4");
  BOOST_TEST(db.pg.query(db.name, "SELECT lease_expires_at > 0 FROM baton_tasks WHERE id = '" + id + "'") == "t");
  BOOST_TEST(poll_until([&] { return c2.get_task(key, id).task_str("status") == "dead_letter"; }, 10s, 50ms));
  BOOST_TEST(c2.get_task(key, id).task_str("failureReason") == "acceptance_timeout");
}

// The retention purge on PostgreSQL: what ended longer ago than the plan keeps goes, with
// its links (a parent's and its child's); the month's quota still counts what it removed
// (it sums the usage rows, which stay).
BOOST_AUTO_TEST_CASE(the_retention_purge_takes_links_along_and_the_quota_still_counts_purged_tasks) {
  Database db;
  const std::string admin = "pg-admin-key-0123456789";
  ServerOptions options = postgres_options(db.url);
  options.with("admin_key", "\"" + admin + "\"").with("tasks.purge_interval_seconds", "1");
  options.extra_yaml = "plans:\n  brief: { retention_seconds: 1, tasks_per_month: 4 }\n";
  TestServer server(options);
  Client c = server.client();
  const std::string key = c.register_key();
  Response status = c.get("/v1/billing/status", key);
  BATON_REQUIRE_STATUS(status, 200);
  const std::string account(status.obj().at("accountId").as_string());
  BATON_REQUIRE_STATUS(c.request("PUT", "/v1/admin/accounts/" + account + "/plan", js({{"plan", "brief"}}),
                                 {{"Authorization", "Bearer " + admin}}),
                       200);
  const std::string type = "pg_brief_" + unique_suffix();
  const std::string parent = c.create_task_id(key, task_body(type));
  const std::string child = c.create_task_id(key, task_body(type, {{"parent_task_id", parent}}));
  std::vector<std::string> ids{parent, child, c.create_task_id(key, task_body(type)),
                               c.create_task_id(key, task_body(type))};
  BOOST_TEST(db.pg.query(db.name, "SELECT count(*) FROM baton_links") == "1");
  for (const std::string& id : ids) BATON_REQUIRE_STATUS(c.cancel(key, id), 200);

  BOOST_TEST(poll_until([&] { return c.list_tasks(key, "limit=10").obj().at("tasks").as_array().empty(); },
                        15s, 100ms));
  for (const std::string& id : ids) BATON_CHECK_ERROR(c.get_task(key, id), "task_not_found");
  BOOST_TEST(db.pg.query(db.name, "SELECT count(*) FROM baton_links") == "0");
  BOOST_TEST(c.get("/health", "").obj().at("retention").at("purged").as_int64() == 4);
  BATON_CHECK_ERROR(c.create_task(key, task_body(type)), "quota_exceeded");
  BOOST_TEST(c.get("/v1/usage", key).obj().at("totals").at("cancelled").as_int64() == 4);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(several_nodes)

// Two nodes on one fresh database, a client of each.
struct TwoNodes {
  Database db;
  TestServer node_a{postgres_options(db.url)};
  TestServer node_b{postgres_options(db.url)};
  Client ca = node_a.client(), cb = node_b.client();
};

BOOST_AUTO_TEST_CASE(two_nodes_and_32_workers_complete_each_of_2000_tasks_exactly_once) {
  Database db;
  TestServer node_a(postgres_options(db.url));
  TestServer node_b(postgres_options(db.url));
  Client ca = node_a.client(60s), cb = node_b.client(60s);

  // An account registered on A authenticates on B: keys live in PostgreSQL.
  const Account account = ca.register_account();
  const std::string key = account.api_key;
  BATON_REQUIRE_STATUS(cb.list_tasks(key), 200);
  BATON_CHECK_ERROR(cb.list_tasks("orch_live_" + std::string(64, '0')), "invalid_api_key");

  const std::string type = "swarm_" + unique_suffix();
  constexpr int kTasks = 2000, kPerBatch = 1000, kWorkersPerNode = 16;
  std::set<std::string> ids;
  for (int b = 0; b < kTasks / kPerBatch; ++b) {
    json::array items;
    for (int i = 0; i < kPerBatch; ++i)
      items.push_back(json::object{{"type", type}, {"payload", json::object{{"n", b * kPerBatch + i}}}});
    Client& via = b % 2 == 0 ? ca : cb;  // one batch through each node
    Response made = via.post("/v1/tasks/batch", key, js(json::object{{"tasks", items}}));
    BATON_REQUIRE_STATUS(made, 201);
    const json::array& task_ids = array_of(made, "taskIds");
    BOOST_REQUIRE_EQUAL(task_ids.size(), std::size_t(kPerBatch));
    for (const json::value& v : task_ids) ids.insert(std::string(v.as_string()));
    const json::array& answers = array_of(made, "tasks");
    BOOST_REQUIRE_EQUAL(answers.size(), std::size_t(kPerBatch));
    BOOST_TEST(str(answers[0].as_object().at("task").as_object(), "status") == "pending");
  }
  BOOST_REQUIRE_EQUAL(ids.size(), std::size_t(kTasks));

  std::mutex mu;
  std::map<std::string, std::vector<std::string>> claims;  // id -> workers that got it
  std::map<std::string, int> completes;                    // id -> 200 completes
  std::vector<std::string> errors;
  std::atomic<int> completed_total{0}, claims_a{0}, claims_b{0}, empty_claims{0};
  std::atomic<bool> stop{false};
  const auto deadline = SteadyClock::now() + 150s;
  std::vector<std::thread> threads;
  for (int node = 0; node < 2; ++node)
    for (int w = 0; w < kWorkersPerNode; ++w)
      threads.emplace_back([&, node, w] {
        const std::string worker = std::string(node == 0 ? "a-" : "b-") + std::to_string(w);
        auto fail_with = [&](const std::string& what) {
          std::lock_guard lock(mu);
          errors.push_back(worker + ": " + what);
          stop = true;
        };
        try {
          Client own(node == 0 ? node_a.port() : node_b.port());
          while (!stop && completed_total.load() < kTasks) {
            if (SteadyClock::now() > deadline) return fail_with("deadline passed");
            Response claim = own.claim(key, js({{"type", type}, {"worker_id", worker}}));
            if (claim.status != 200) return fail_with("claim: " + claim.describe());
            if (claim.task_is_null()) {  // the rest is held by others, or a claim missed
              ++empty_claims;
              std::this_thread::sleep_for(20ms);
              continue;
            }
            const std::string id = claim.task_id();
            ++(node == 0 ? claims_a : claims_b);
            {
              std::lock_guard lock(mu);
              claims[id].push_back(worker);
            }
            Response done = own.complete(key, id, with_token(claim.task_str("leaseToken"),
                                                             {{"result", json::object{{"worker", worker}}}}));
            if (done.status != 200 || done.task_str("status") != "completed")
              return fail_with("complete: " + done.describe());
            std::lock_guard lock(mu);
            ++completes[id];
            ++completed_total;
          }
        } catch (const std::exception& e) {
          fail_with(e.what());
        }
      });
  for (auto& t : threads) t.join();

  BOOST_CHECK_MESSAGE(errors.empty(), errors.size() << " workers failed, first: " << (errors.empty() ? "" : errors.front()));
  for (std::size_t i = 1; i < std::min<std::size_t>(errors.size(), 5); ++i) BOOST_TEST_MESSAGE(errors[i]);
  BOOST_TEST_MESSAGE("claims through A " << claims_a.load() << ", through B " << claims_b.load()
                                         << ", empty claims " << empty_claims.load());
  BOOST_TEST(completed_total.load() == kTasks);
  BOOST_TEST(claims_a.load() > 0);
  BOOST_TEST(claims_b.load() > 0);

  int claimed_twice = 0, completed_twice = 0, never_completed = 0, unknown = 0;
  for (const std::string& id : ids) {
    if (claims[id].size() != 1) ++claimed_twice;
    if (completes[id] > 1) ++completed_twice;
    if (completes[id] == 0) ++never_completed;
  }
  for (const auto& [id, n] : completes)
    if (!ids.count(id)) ++unknown;
  BOOST_TEST(claimed_twice == 0);
  BOOST_TEST(completed_twice == 0);
  BOOST_TEST(never_completed == 0);
  BOOST_TEST(unknown == 0);

  // The database holds the 2000 tasks and no more, all completed (status 2 is
  // TaskStatus::completed, as src/pg/schema.cpp stores it).
  BOOST_TEST(db.pg.query(db.name, "SELECT count(*), count(*) FILTER (WHERE status = 2) FROM baton_tasks") ==
             std::to_string(kTasks) + "|" + std::to_string(kTasks));

  // Both nodes agree: all 2000 completed, each with the result of the worker that claimed it.
  for (Client* via : {&ca, &cb}) {
    BOOST_TEST_CONTEXT("listing through node " << (via == &ca ? "A" : "B")) {
      std::set<std::string> listed;
      int wrong_result = 0;
      for (const json::object& task : list_all(*via, key, "status=completed&type=" + type)) {
        const std::string id = str(task, "id");
        listed.insert(id);
        const auto& who = claims[id];
        const json::value* result = task.if_contains("result");
        if (who.empty() || !result || !result->is_object() || str(result->as_object(), "worker") != who.front())
          ++wrong_result;
      }
      BOOST_TEST(listed.size() == std::size_t(kTasks));
      BOOST_TEST((listed == ids));
      BOOST_TEST(wrong_result == 0);
      BOOST_TEST(list_all(*via, key, "status=pending&type=" + type).empty());
      BOOST_TEST(list_all(*via, key, "status=claimed&type=" + type).empty());
    }
  }
}

// Both nodes look for due schedules: each slot fires once, and the schedule goes on
// firing on B after A, where it was made, is killed. A webhook delivery retried through
// the other node with its key makes no second task.
BOOST_FIXTURE_TEST_CASE(a_schedule_fires_once_a_slot_on_two_nodes_and_goes_on_when_one_dies, TwoNodes) {
  const std::string key = ca.register_key();
  const std::string type = "tick_" + unique_suffix();
  Response made = ca.post("/v1/schedules", key,
                          js({{"cron", "* * * * * *"}, {"webhook", true},
                              {"task", {{"type", type}, {"payload", {{"n", 1}}}}}}));
  BATON_REQUIRE_STATUS(made, 201);
  const std::string id(made.obj().at("schedule").at("id").as_string());
  const std::string url(made.obj().at("webhook").at("url").as_string());
  auto runs = [&]() {
    Response r = cb.get("/v1/schedules/" + id + "/runs?limit=100", key);
    BATON_REQUIRE_STATUS(r, 200);
    return r.obj().at("runs").as_array();
  };
  Response once = ca.post(url, "", js({{"n", 2}}), {{"Idempotency-Key", "delivery-1"}});
  BATON_REQUIRE_STATUS(once, 201);
  Response again = cb.post(url, "", js({{"n", 2}}), {{"Idempotency-Key", "delivery-1"}});
  BATON_REQUIRE_STATUS(again, 201);
  BOOST_TEST(again.task_id() == once.task_id());

  std::this_thread::sleep_for(3s);
  node_a.kill9();
  const std::size_t before_kill = runs().size();
  std::this_thread::sleep_for(3500ms);
  BATON_REQUIRE_STATUS(cb.request("PATCH", "/v1/schedules/" + id, js({{"enabled", false}}),
                                  {{"Authorization", "Bearer " + key}}),
                       200);
  json::array all = runs();
  BOOST_TEST(all.size() >= before_kill + 2, "B fired " << all.size() - before_kill << " after A died");
  std::set<std::string> dues, tasks;
  int webhooks = 0;
  std::int64_t seq = all[0].at("seq").as_int64();
  for (const json::value& run : all) {
    BOOST_TEST(run.at("seq").as_int64() == seq--);  // no gap, no repeat
    BOOST_REQUIRE_MESSAGE(run.at("task_id").is_string(), json::serialize(run));
    BOOST_TEST(tasks.insert(std::string(run.at("task_id").as_string())).second);
    if (run.at("trigger").as_string() == "webhook") {
      ++webhooks;
    } else {
      BOOST_TEST(run.at("trigger").as_string() == "cron");
      BOOST_TEST(dues.insert(std::string(run.at("due_at").as_string())).second, "slot fired twice");
    }
  }
  BOOST_TEST(seq == 0);
  BOOST_TEST(webhooks == 1);
  // The tasks of the type are exactly the firings'.
  Response listed = cb.list_tasks(key, "limit=100&type=" + type);
  BATON_REQUIRE_STATUS(listed, 200);
  BOOST_TEST(listed.obj().at("tasks").as_array().size() == all.size());
}

BOOST_AUTO_TEST_CASE(a_long_poll_on_one_node_is_woken_by_a_create_on_another) {
  for (const char* wake : {"notify", "poll"}) {
    BOOST_TEST_CONTEXT("wake: " << wake) {
      Database db;
      TestServer node_a(postgres_options(db.url, wake));
      TestServer node_b(postgres_options(db.url, wake));
      Client ca = node_a.client(), cb = node_b.client();
      // An account registered on B authenticates on A.
      const std::string key = cb.register_key();
      BATON_REQUIRE_STATUS(ca.list_tasks(key), 200);
      const std::string type = "wake_" + unique_suffix();

      auto waiter = wait_claim(node_a.port(), key, js({{"type", type}, {"wait_seconds", 10}, {"worker_id", "on-a"}}));
      std::this_thread::sleep_for(500ms);
      BOOST_REQUIRE_MESSAGE(waiter.wait_for(0s) == std::future_status::timeout,
                            "the long poll returned before any task existed");
      const auto created_at = SteadyClock::now();
      const std::string id = cb.create_task_id(key, task_body(type));
      Waited w = get_waited(waiter);
      BATON_REQUIRE_STATUS(w.response, 200);
      BOOST_REQUIRE_MESSAGE(!w.response.task_is_null(), "no task within the wait: " << w.response.describe());
      BOOST_TEST(w.response.task_id() == id);
      BOOST_TEST(w.response.task_str("claimedBy") == "on-a");
      BOOST_TEST(seconds(w.returned_at - created_at) < 2.0);
      Response on_b = cb.get_task(key, id);
      BATON_REQUIRE_STATUS(on_b, 200);
      BOOST_TEST(on_b.task_str("status") == "claimed");
      BOOST_TEST(on_b.task_str("claimedBy") == "on-a");

      // A typeless long poll on A wakes for a task of any type created on B.
      auto any = wait_claim(node_a.port(), key, js({{"wait_seconds", 10}}));
      std::this_thread::sleep_for(500ms);
      BOOST_REQUIRE(any.wait_for(0s) == std::future_status::timeout);
      const auto made_at = SteadyClock::now();
      const std::string other = cb.create_task_id(key, task_body(type + "_other"));
      Waited w2 = get_waited(any);
      BATON_REQUIRE_STATUS(w2.response, 200);
      BOOST_REQUIRE_MESSAGE(!w2.response.task_is_null(), w2.response.describe());
      BOOST_TEST(w2.response.task_id() == other);
      BOOST_TEST(seconds(w2.returned_at - made_at) < 2.0);
    }
  }
}

BOOST_FIXTURE_TEST_CASE(a_lease_held_through_a_killed_node_expires_and_another_node_takes_the_task, TwoNodes) {
  const std::string key = ca.register_key();
  const std::string type = "failover_" + unique_suffix();
  const std::string id = ca.create_task_id(key, task_body(type, {{"leaseDurationSeconds", 1}, {"maxAttempts", 3}}));

  Response on_a = ca.claim(key, js({{"type", type}, {"worker_id", "w-a"}}));
  BATON_REQUIRE_STATUS(on_a, 200);
  BOOST_REQUIRE(!on_a.task_is_null());
  BOOST_REQUIRE(on_a.task_id() == id);
  const std::string token_a = on_a.task_str("leaseToken");
  const auto expires = parse_time(on_a.task_str("leaseExpiresAt"));
  ca.close();
  node_a.kill9();

  // While the lease runs B has nothing to give; after it, B's sweeper frees the task.
  if (WallClock::now() + 200ms < expires) {
    Response early = cb.claim(key, js({{"type", type}, {"worker_id", "w-b"}}));
    BATON_REQUIRE_STATUS(early, 200);
    BOOST_TEST(early.task_is_null());
  }
  Response got;
  WallClock::time_point got_at{};
  bool taken = poll_until(
      [&] {
        got = cb.claim(key, js({{"type", type}, {"worker_id", "w-b"}}));
        got_at = WallClock::now();
        return got.status == 200 && !got.task_is_null();
      },
      5000ms, 50ms);
  BOOST_REQUIRE_MESSAGE(taken, "node B never got the task of the killed node: " << got.describe());
  BOOST_TEST(seconds(got_at - expires) >= 0.0);
  BOOST_TEST(seconds(got_at - expires) < 1.5);
  BOOST_TEST(got.task_id() == id);
  BOOST_TEST(got.task_int("attemptCount") == 2);
  BOOST_TEST(got.task_str("claimedBy") == "w-b");
  const std::string token_b = got.task_str("leaseToken");
  BOOST_TEST(token_b != token_a);

  // The dead node's worker is fenced off on B.
  BATON_CHECK_ERROR(cb.complete(key, id, with_token(token_a, {{"result", json::object{{"by", "a"}}}})),
                    "lease_expired");
  BATON_CHECK_ERROR(cb.heartbeat(key, id, with_token(token_a)), "lease_expired");
  Response done = cb.complete(key, id, with_token(token_b, {{"result", json::object{{"by", "b"}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_TEST(done.task_str("status") == "completed");
  BOOST_TEST(str(done.task().at("result").as_object(), "by") == "b");
}

// Each node caches the keys it has checked; a revocation through A reaches B's cache
// through baton_revision, within a sweep.
BOOST_FIXTURE_TEST_CASE(a_key_revoked_through_one_node_is_refused_by_the_other, TwoNodes) {
  const Account account = ca.register_account();
  BATON_REQUIRE_STATUS(cb.list_tasks(account.api_key), 200);  // now in B's cache
  BATON_REQUIRE_STATUS(ca.del("/v1/keys/" + account.key_id, account.api_key), 200);
  const auto revoked = SteadyClock::now();
  Response refused;
  bool gone = poll_until(
      [&] {
        refused = cb.list_tasks(account.api_key);
        return refused.status == 401;
      },
      3000ms, 20ms);
  BOOST_REQUIRE_MESSAGE(gone, "node B still accepts the revoked key: " << refused.describe());
  BOOST_TEST(seconds(SteadyClock::now() - revoked) < 1.0);
  BATON_CHECK_ERROR(refused, "invalid_api_key");
  BATON_CHECK_ERROR(ca.list_tasks(account.api_key), "invalid_api_key");
}

// What one node writes of the workflow, the other acts on: a dependency completed through
// B releases its dependent created through A (and a long poll parked on A for it); a type
// paused through A hands out nothing through B until resumed through B.
BOOST_FIXTURE_TEST_CASE(dependencies_and_pauses_hold_across_two_nodes, TwoNodes) {
  const std::string key = ca.register_key();
  const std::string first = "pg_first_" + unique_suffix(), then = "pg_then_" + unique_suffix();

  const std::string dependency = ca.create_task_id(key, task_body(first));
  Response dependent = ca.create_task(key, task_body(then, {{"depends_on", json::array{json::string(dependency)}}}));
  BATON_REQUIRE_STATUS(dependent, 201);
  BOOST_TEST(dependent.task_str("status") == "blocked");
  Client poller = node_a.client(30s);
  auto waiting = std::async(std::launch::async, [&] {
    return poller.claim(key, js({{"type", then}, {"worker_id", "w-then"}, {"wait_seconds", 20}}));
  });
  Response claimed = cb.claim(key, js({{"type", first}, {"worker_id", "w-first"}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  BATON_REQUIRE_STATUS(cb.complete(key, dependency, with_token(claimed.task_str("leaseToken"))), 200);
  Response released = waiting.get();
  BATON_REQUIRE_STATUS(released, 200);
  BOOST_TEST(released.task_id() == dependent.task_id());
  BOOST_TEST(released.task().at("waitingOn").as_array().empty());

  const std::string held = "pg_held_" + unique_suffix();
  const std::string waiting_id = ca.create_task_id(key, task_body(held));
  BATON_REQUIRE_STATUS(ca.post("/v1/queues/" + held + "/pause", key), 200);
  Response refused = cb.claim(key, js({{"type", held}, {"worker_id", "w-held"}}));
  BATON_REQUIRE_STATUS(refused, 200);
  BOOST_TEST(refused.task_is_null());
  BOOST_TEST(refused.contract().at("queue_context").at("reason").as_string() == "queue_paused");
  BOOST_TEST(cb.claim(key, js({{"worker_id", "w-any"}})).task_is_null());  // passed over
  BATON_REQUIRE_STATUS(cb.post("/v1/queues/" + held + "/resume", key), 200);
  Response served = ca.claim(key, js({{"type", held}, {"worker_id", "w-held"}}));
  BATON_REQUIRE_STATUS(served, 200);
  BOOST_TEST(served.task_id() == waiting_id);
}

// A plan's worker limit counts the account's live leases in PostgreSQL under the
// account's row lock: 16 claimers spread over two nodes take exactly the limit.
BOOST_AUTO_TEST_CASE(the_worker_limit_holds_across_two_nodes) {
  const std::string admin = "pg-admin-key-0123456789abcdef";
  Database db;
  auto options = [&] {
    ServerOptions o = postgres_options(db.url);
    o.with("admin_key", "\"" + admin + "\"");
    o.extra_yaml = "plans:\n  two: { workers: 2 }\n";
    return o;
  };
  TestServer node_a(options());
  TestServer node_b(options());
  Client ca = node_a.client();
  const Account account = ca.register_account();
  Response planned = ca.request("PUT", "/v1/admin/accounts/" + account.account_id + "/plan",
                                js({{"plan", "two"}}), {{"Authorization", "Bearer " + admin}});
  BATON_REQUIRE_STATUS(planned, 200);
  const std::string type = "limited_" + unique_suffix();
  for (int i = 0; i < 10; ++i) ca.create_task_id(account.api_key, task_body(type));

  std::atomic<int> claimed{0}, refused{0};
  std::mutex mu;
  std::vector<std::string> other;
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      Client c = (i % 2 == 0 ? node_a : node_b).client();
      std::string worker = "w";
      worker += std::to_string(i);
      Response r = c.claim(account.api_key, js({{"type", type}, {"worker_id", worker}}));
      if (r.status == 200 && !r.task_is_null()) {
        ++claimed;
      } else if (r.status == 429 && r.error() == "max_workers_reached") {
        ++refused;
      } else {
        std::lock_guard lock(mu);
        other.push_back(r.describe());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  BOOST_TEST(other.empty(), (other.empty() ? "" : other.front()));
  BOOST_TEST(claimed.load() == 2);
  BOOST_TEST(refused.load() == 14);
  Response status = node_b.client().get("/v1/billing/status", account.api_key);
  BATON_REQUIRE_STATUS(status, 200);
  BOOST_TEST(status.obj().at("usage").as_object().at("workers_in_use").as_int64() == 2);
}

// A verification runs wherever its steps are served: the gate reached through A, the
// verifier claimed and completed through B, the verdict read through A. A gate that a
// node left without its verifier (it died before starting it) is started by a sweeper,
// with exactly one verifier whichever nodes look.
BOOST_FIXTURE_TEST_CASE(verifications_run_across_nodes_and_a_dead_nodes_gate_is_resumed, TwoNodes) {
  const std::string key = ca.register_key();
  const std::string work = "pg_work_" + unique_suffix(), verify = "pg_verify_" + unique_suffix();
  const json::object gate{{"definition_of_done", "three pages"}, {"verification", json::object{{"type", verify}}}};
  auto verification_state = [&](const std::string& id) {
    Response r = ca.get_task(key, id);
    BATON_REQUIRE_STATUS(r, 200);
    return std::string(r.task().at("verification").at("state").as_string());
  };

  const std::string id = ca.create_task_id(key, task_body(work, gate));
  Response claim = ca.claim_id(key, id, R"({"worker_id":"w"})");
  BATON_REQUIRE_STATUS(claim, 200);
  Response done = ca.complete(key, id, with_token(claim.task_str("leaseToken"), {{"result", json::object{{"pages", 3}}}}));
  BATON_REQUIRE_STATUS(done, 200);
  BOOST_REQUIRE_EQUAL(done.task_str("status"), "awaiting_acceptance");
  Response verifier = cb.claim(key, js({{"type", verify}, {"worker_id", "v"}, {"wait_seconds", 10}}));
  BATON_REQUIRE_STATUS(verifier, 200);
  BOOST_REQUIRE_MESSAGE(!verifier.task_is_null(), verifier.describe());
  BOOST_TEST(verifier.task_str("verifiesTaskId") == id);
  BOOST_TEST(verifier.task().at("payload").at("result").at("pages").as_int64() == 3);
  BATON_REQUIRE_STATUS(cb.complete(key, verifier.task_id(), with_token(verifier.task_str("leaseToken"),
                                                                         {{"result", json::object{{"passed", true}}}})),
                       200);
  BOOST_TEST(poll_until([&] { return verification_state(id) == "passed"; }, 5s, 20ms));

  // Left by a node that died between the gate and its verifier: gated, its verification
  // pending, no verifier, changed a minute ago.
  const std::string orphan = ca.create_task_id(key, task_body(work, gate));
  baton::Task task = stored_task(db, orphan);
  task.status = baton::TaskStatus::awaiting_acceptance;
  task.verification = baton::Verification::pending;
  task.attempt_count = 1;
  task.result_json = R"({"pages":2})";
  task.updated_at = baton::wall_now_ms() - 60'000;
  store_task(db, task, 0);
  Response resumed = cb.claim(key, js({{"type", verify}, {"worker_id", "v"}, {"wait_seconds", 15}}));
  BATON_REQUIRE_STATUS(resumed, 200);
  BOOST_REQUIRE_MESSAGE(!resumed.task_is_null(), "no verifier was started for the orphaned gate");
  BOOST_TEST(resumed.task_str("verifiesTaskId") == orphan);
  // Both nodes' sweepers look at the gate every 5 s while its verification is pending:
  // still one verifier.
  std::this_thread::sleep_for(6s);
  BOOST_TEST(ca.claim(key, js({{"type", verify}})).task_is_null());
  BOOST_TEST(db.pg.query(db.name, "SELECT count(*) FROM baton_tasks WHERE type = '" + verify + "'") == "2");
  BATON_REQUIRE_STATUS(cb.complete(key, resumed.task_id(), with_token(resumed.task_str("leaseToken"),
                                                                       {{"result", json::object{{"passed", false}}}})),
                       200);
  BOOST_TEST(poll_until([&] { return verification_state(orphan) == "failed"; }, 5s, 20ms));
}

// The roster counts a worker's transitions whichever node made them, and assign: best
// through one node picks the worker ranked best by what it did through the other.
BOOST_FIXTURE_TEST_CASE(the_roster_and_assign_best_see_every_nodes_work, TwoNodes) {
  const std::string key = ca.register_key();
  const std::string type = "pg_roster_" + unique_suffix();
  auto run = [&](Client& c, const std::string& worker, bool complete) {
    const std::string id = c.create_task_id(key, task_body(type, {{"maxAttempts", 1}}));
    Response claim = c.claim_id(key, id, js({{"worker_id", worker}}));
    BATON_REQUIRE_STATUS(claim, 200);
    const std::string token = claim.task_str("leaseToken");
    BATON_REQUIRE_STATUS(complete ? c.complete(key, id, with_token(token)) : c.fail(key, id, with_token(token)), 200);
  };
  run(ca, "alice", true);
  run(cb, "alice", true);
  run(ca, "bob", false);
  run(cb, "bob", false);
  Response held = cb.claim_id(key, cb.create_task_id(key, task_body(type)), js({{"worker_id", "bob"}}));
  BATON_REQUIRE_STATUS(held, 200);

  Response roster = ca.get("/v1/workers", key);
  BATON_REQUIRE_STATUS(roster, 200);
  const json::array& workers = roster.obj().at("workers").as_array();
  BOOST_REQUIRE_EQUAL(workers.size(), 2u);
  const json::object& best = workers.at(0).as_object();
  const json::object& worst = workers.at(1).as_object();
  BOOST_TEST(best.at("worker_id").as_string() == "alice");
  BOOST_TEST(worst.at("worker_id").as_string() == "bob");
  BOOST_TEST(best.at("types").at(0).at("completed").as_int64() == 2);
  BOOST_TEST(worst.at("types").at(0).at("failed").as_int64() == 2);
  BOOST_TEST(worst.at("types").at(0).at("claims").as_int64() == 3);
  BOOST_TEST(worst.at("live_leases").as_int64() == 1);

  Response assigned = cb.create_task(key, task_body(type, {{"assign", "best"}}));
  BATON_REQUIRE_STATUS(assigned, 201);
  BOOST_TEST(assigned.task_str("assignTo") == "alice");
}

// A live log stream carries the lines appended through its own node at once and those
// appended through another node within a poll, in seq order, and ends when the task is
// completed on either.
BOOST_FIXTURE_TEST_CASE(log_streams_follow_appends_and_the_end_made_on_any_node, TwoNodes) {
  const std::string key = ca.register_key();
  const std::string type = "pg_logs_" + unique_suffix();
  const std::string id = ca.create_task_id(key, task_body(type));
  Response claim = ca.claim_id(key, id, js({{"worker_id", "w"}}));
  BATON_REQUIRE_STATUS(claim, 200);
  const std::string token = claim.task_str("leaseToken");
  auto stream_on = [&](TestServer& node) {
    auto conn = std::make_unique<RawConnection>(node.port());
    BOOST_REQUIRE(conn->send("GET /v1/tasks/" + id + "/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                             key + "\r\n\r\n"));
    BOOST_REQUIRE(conn->read_until("retry:", 5s).find("200 OK") != std::string::npos);
    return conn;
  };
  auto on_a = stream_on(node_a);
  auto on_b = stream_on(node_b);
  auto append = [&](const std::string& message) {
    json::array lines{json::object{{"level", "info"}, {"message", message}}};
    BATON_REQUIRE_STATUS(ca.post("/v1/tasks/" + id + "/logs", key, js({{"lease_token", token}, {"lines", lines}})), 200);
  };
  append("line-one");
  append("line-two");
  append("line-three");
  for (auto* conn : {on_a.get(), on_b.get()}) {
    std::string seen = conn->read_until("line-three", 5s);
    std::size_t one = seen.find("line-one"), two = seen.find("line-two"), three = seen.find("line-three");
    BOOST_TEST((one != std::string::npos && one < two && two < three && three != std::string::npos), seen);
  }
  BATON_REQUIRE_STATUS(cb.complete(key, id, with_token(token)), 200);
  for (auto* conn : {on_a.get(), on_b.get()}) {
    std::string rest = conn->read_until("event: end", 5s);
    BOOST_TEST(rest.find("\"status\":\"completed\"") != std::string::npos, rest);
  }
}

BOOST_AUTO_TEST_SUITE_END()
