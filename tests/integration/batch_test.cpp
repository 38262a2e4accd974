// Batches: POST /v1/tasks/batch creates many tasks in one call (all checked before any is
// written, one Idempotency-Key for the whole batch), and claim with max_tasks takes
// several at once, each with its own lease.
#define BOOST_TEST_MODULE batch
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <future>
#include <set>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

ServerOptions small_limits() {
  return ServerOptions{}.with("tasks.max_batch", "5").with("claims.max_batch", "3");
}

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = shared_server()) : FreshAccount("batch_", on) {}

  // {"tasks": [{type, payload: {n: i}} ...]} for i in [0, count), cycling over `types`.
  std::string batch_body(int count, const std::vector<std::string>& types = {}) const {
    json::array tasks;
    for (int i = 0; i < count; ++i) {
      const std::string& t = types.empty() ? type : types[static_cast<std::size_t>(i) % types.size()];
      tasks.push_back(json::object{{"type", t}, {"payload", {{"n", i}}}});
    }
    return js(json::object{{"tasks", tasks}});
  }

  Response create_batch(const std::string& body, const Headers& headers = {}) {
    return c.post("/v1/tasks/batch", key, body, headers);
  }

  // Every task of the account, all pages.
  std::vector<json::object> all_tasks() {
    std::vector<json::object> out;
    std::string cursor;
    for (;;) {
      Response page = c.list_tasks(key, "limit=100" + (cursor.empty() ? "" : "&cursor=" + cursor));
      BOOST_REQUIRE_MESSAGE(page.status == 200, page.describe());
      for (const json::value& task : page.obj().at("tasks").as_array()) out.push_back(task.as_object());
      const json::value& next = page.obj().at("next_cursor");
      if (next.is_null()) return out;
      cursor = std::string(next.as_string());
    }
  }

  Response claim_many(int max_tasks, int wait_seconds = 0, std::string_view of_type = {}) {
    json::object body{{"worker_id", "w-1"}, {"max_tasks", max_tasks},
                      {"wait_seconds", wait_seconds}};
    if (of_type != "-") body["type"] = of_type.empty() ? type : std::string(of_type);
    return c.claim(key, js(body));
  }
};

const json::array& array_of(const Response& r, std::string_view field) {
  BOOST_REQUIRE_MESSAGE(r.obj().contains(field) && r.obj().at(field).is_array(),
                        "no array " << field << " in " << r.describe());
  return r.obj().at(field).as_array();
}

std::string id_of(const json::value& answer) {
  return std::string(answer.as_object().at("task").as_object().at("id").as_string());
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(create)

BOOST_AUTO_TEST_CASE(creates_every_task_in_request_order_with_both_shapes) {
  Fresh f;
  // Several types, so the batch spans the server's shards.
  std::vector<std::string> types;
  for (int i = 0; i < 6; ++i) types.push_back(f.type + "_" + std::to_string(i));
  Response r = f.create_batch(f.batch_body(30, types));
  BATON_REQUIRE_STATUS(r, 201);
  BATON_CHECK_CONTRACT(r.contract());
  const json::array& tasks = array_of(r, "tasks");
  const json::array& ids = array_of(r, "taskIds");
  BOOST_REQUIRE_EQUAL(tasks.size(), 30u);
  BOOST_REQUIRE_EQUAL(ids.size(), 30u);
  std::set<std::string> distinct;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const json::object& task = tasks[i].as_object().at("task").as_object();
    BOOST_TEST(task.at("id").as_string() == ids[i].as_string());
    BOOST_TEST(task.at("status").as_string() == "pending");
    BOOST_TEST(task.at("type").as_string() == types[i % types.size()]);
    BOOST_TEST(task.at("payload").as_object().at("n").as_int64() == static_cast<std::int64_t>(i));
    BATON_CHECK_CONTRACT(tasks[i].as_object().at("agent_contract"));
    distinct.insert(std::string(ids[i].as_string()));
    Response read = f.c.get_task(f.key, std::string(ids[i].as_string()));
    BOOST_TEST(read.status == 200, read.describe());
  }
  BOOST_TEST(distinct.size() == 30u);
}

BOOST_AUTO_TEST_CASE(one_bad_item_is_a_400_naming_its_index_and_nothing_is_created) {
  Fresh f;
  json::array tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(json::object{{"type", f.type}, {"payload", json::object{}}});
  tasks[2].as_object()["priority"] = 500;
  Response r = f.create_batch(js(json::object{{"tasks", tasks}}));
  BATON_CHECK_ERROR(r, "invalid_request");
  BOOST_TEST(r.obj().at("message").as_string().find("tasks[2]") != std::string::npos, r.describe());

  tasks[2].as_object().erase("priority");
  tasks[3].as_object()["scheduledAt"] = "not a time";
  r = f.create_batch(js(json::object{{"tasks", tasks}}));
  BATON_CHECK_ERROR(r, "invalid_request");
  BOOST_TEST(r.obj().at("message").as_string().find("tasks[3]") != std::string::npos, r.describe());

  tasks[3] = 7;
  r = f.create_batch(js(json::object{{"tasks", tasks}}));
  BATON_CHECK_ERROR(r, "invalid_request");
  BOOST_TEST(f.all_tasks().empty());
}

BOOST_AUTO_TEST_CASE(empty_missing_and_oversized_batches_are_400) {
  Fresh f(shared_server("small", small_limits()));
  BATON_CHECK_ERROR(f.create_batch(R"({"tasks":[]})"), "invalid_request");
  BATON_CHECK_ERROR(f.create_batch(R"({})"), "invalid_request");
  BATON_CHECK_ERROR(f.create_batch(R"({"tasks":{}})"), "invalid_request");
  Response over = f.create_batch(f.batch_body(6));
  BATON_CHECK_ERROR(over, "invalid_request");
  BOOST_TEST(over.obj().at("message").as_string().find("1 to 5") != std::string::npos, over.describe());
  BATON_CHECK_STATUS(f.create_batch(f.batch_body(5)), 201);
  BOOST_TEST(f.all_tasks().size() == 5u);
}

BOOST_AUTO_TEST_CASE(a_retry_with_the_same_key_returns_the_same_ids_and_creates_nothing) {
  Fresh f;
  std::vector<std::string> types{f.type + "_a", f.type + "_b", f.type + "_c"};
  std::string body = f.batch_body(12, types);
  Headers key{{"Idempotency-Key", "batch-" + unique_suffix()}};
  Response first = f.create_batch(body, key);
  BATON_REQUIRE_STATUS(first, 201);
  Response again = f.create_batch(body, key);
  BATON_REQUIRE_STATUS(again, 201);
  BOOST_TEST(js(again.obj().at("taskIds")) == js(first.obj().at("taskIds")));
  const json::array& replayed = array_of(again, "tasks");
  BOOST_REQUIRE_EQUAL(replayed.size(), 12u);
  BOOST_TEST(id_of(replayed[5]) == std::string(first.obj().at("taskIds").as_array()[5].as_string()));
  BOOST_TEST(f.all_tasks().size() == 12u);

  // The same key with another body conflicts, and creates nothing (not even the items
  // beyond the first batch's).
  Response other = f.create_batch(f.batch_body(14), key);
  BATON_CHECK_ERROR(other, "idempotency_conflict");
  BOOST_TEST(f.all_tasks().size() == 12u);
}

BOOST_AUTO_TEST_CASE(a_retry_after_kill_9_creates_only_what_is_missing) {
  // sync always writes (and fsyncs) one transition at a time, so the kill has a wide
  // window in which some items of the batch are durable and others are not.
  ServerOptions options;
  options.with("storage.sync", "always");
  TestServer server(options);
  constexpr int kCount = 1000;
  constexpr int kRounds = 10;
  // How long a whole batch takes here (sanitizer builds are several times slower): the
  // kills are spread over that time.
  SteadyClock::duration whole;
  {
    Fresh f(server);
    auto started = SteadyClock::now();
    BATON_REQUIRE_STATUS(f.create_batch(f.batch_body(kCount)), 201);
    whole = SteadyClock::now() - started;
  }
  int partial = 0;
  // The kill lands at a later moment each round: as the batch arrives, while its shards
  // write (some items durable, others not), near the answer.
  for (int round = 0; round < kRounds; ++round) {
    Fresh f(server);
    std::vector<std::string> types;
    for (int i = 0; i < 8; ++i) types.push_back(f.type + "_" + std::to_string(i));
    std::string body = f.batch_body(kCount, types);
    Headers key{{"Idempotency-Key", "crash-" + unique_suffix()}};
    auto sent = std::async(std::launch::async, [&] {
      Client c = server.client();
      try {
        return c.post("/v1/tasks/batch", f.key, body, key).status;
      } catch (const std::exception&) {
        return 0;
      }
    });
    std::this_thread::sleep_for(whole * (round + 1) / (kRounds + 2));
    server.kill9();
    int first_status = sent.get();
    server.restart();
    f.c = server.client();
    std::size_t before = f.all_tasks().size();
    if (before > 0 && before < static_cast<std::size_t>(kCount)) ++partial;
    BOOST_TEST_MESSAGE("round " << round << ": " << before << " of " << kCount
                                << " items durable before the retry; the first attempt "
                                << "answered " << first_status);
    if (first_status == 201) BOOST_TEST(before == static_cast<std::size_t>(kCount));

    Response retry = f.create_batch(body, key);
    BATON_REQUIRE_STATUS(retry, 201);
    const json::array& ids = array_of(retry, "taskIds");
    BOOST_REQUIRE_EQUAL(ids.size(), static_cast<std::size_t>(kCount));
    std::vector<json::object> stored = f.all_tasks();
    BOOST_TEST(stored.size() == static_cast<std::size_t>(kCount));
    std::set<std::int64_t> numbers;
    std::set<std::string> stored_ids;
    for (const json::object& task : stored) {
      numbers.insert(task.at("payload").as_object().at("n").as_int64());
      stored_ids.insert(std::string(task.at("id").as_string()));
    }
    BOOST_TEST(numbers.size() == static_cast<std::size_t>(kCount), "each item exactly once");
    for (const json::value& id : ids) BOOST_TEST(stored_ids.contains(std::string(id.as_string())));
    Response third = f.create_batch(body, key);
    BATON_REQUIRE_STATUS(third, 201);
    BOOST_TEST(js(third.obj().at("taskIds")) == js(retry.obj().at("taskIds")));
  }
  BOOST_TEST(partial >= 1, partial << " of " << kRounds
                                    << " rounds were killed with the batch partly durable; a "
                                       "whole batch took "
                                    << seconds(whole) << " s");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(claim)

BOOST_AUTO_TEST_CASE(max_tasks_claims_several_each_with_its_own_lease_in_priority_order) {
  Fresh f;
  json::array tasks;
  for (int i = 0; i < 10; ++i) {
    tasks.push_back(json::object{{"type", f.type}, {"payload", {{"n", i}}}, {"priority", i}});
  }
  BATON_REQUIRE_STATUS(f.create_batch(js(json::object{{"tasks", tasks}})), 201);

  Response first = f.claim_many(4);
  BATON_REQUIRE_STATUS(first, 200);
  BATON_CHECK_CONTRACT(first.contract());
  const json::array& got = array_of(first, "tasks");
  BOOST_REQUIRE_EQUAL(got.size(), 4u);
  std::set<std::string> tokens;
  std::int64_t previous_priority = 100;
  for (const json::value& answer : got) {
    const json::object& task = answer.as_object().at("task").as_object();
    BOOST_TEST(task.at("status").as_string() == "claimed");
    BOOST_TEST(task.at("claimedBy").as_string() == "w-1");
    tokens.insert(std::string(task.at("leaseToken").as_string()));
    BOOST_TEST(task.at("priority").as_int64() <= previous_priority);
    previous_priority = task.at("priority").as_int64();
    BATON_CHECK_CONTRACT(answer.as_object().at("agent_contract"));
    BOOST_TEST(recommended_action(answer.as_object().at("agent_contract")) == "heartbeat");
  }
  BOOST_TEST(tokens.size() == 4u);
  BOOST_TEST(previous_priority == 6);
  // Each lease is the worker's own: complete one with its token.
  const json::object& one = got[1].as_object().at("task").as_object();
  Response done = f.c.complete(f.key, std::string(one.at("id").as_string()),
                               js({{"lease_token", one.at("leaseToken")}}));
  BATON_CHECK_STATUS(done, 200);

  Response rest = f.claim_many(10);
  BATON_REQUIRE_STATUS(rest, 200);
  BOOST_TEST(array_of(rest, "tasks").size() == 6u);
  Response none = f.claim_many(10);
  BATON_REQUIRE_STATUS(none, 200);
  BOOST_TEST(array_of(none, "tasks").empty());
  BOOST_TEST(recommended_action(none.contract()) == "retry_after_wait");
}

BOOST_AUTO_TEST_CASE(a_long_poll_returns_as_soon_as_a_task_is_there) {
  Fresh f;
  auto waiting = std::async(std::launch::async, [&] {
    Client c = f.server.client();
    auto started = SteadyClock::now();
    Response r = c.claim(f.key, js({{"type", f.type}, {"max_tasks", 5}, {"wait_seconds", 10}}));
    return std::make_pair(r, SteadyClock::now() - started);
  });
  std::this_thread::sleep_for(300ms);
  BATON_REQUIRE_STATUS(f.create_batch(f.batch_body(3)), 201);
  auto [r, took] = waiting.get();
  BATON_REQUIRE_STATUS(r, 200);
  std::size_t got = array_of(r, "tasks").size();
  BOOST_TEST(got >= 1u);
  BOOST_TEST(got <= 3u);
  BOOST_TEST(seconds(took) < 5.0);
  // Whatever the long poll did not take is still there for the next claim.
  BOOST_TEST(array_of(f.claim_many(5), "tasks").size() == 3u - got);
}

BOOST_AUTO_TEST_CASE(typeless_batch_claims_take_from_every_type) {
  Fresh f;
  std::vector<std::string> types{f.type + "_x", f.type + "_y", f.type + "_z"};
  BATON_REQUIRE_STATUS(f.create_batch(f.batch_body(6, types)), 201);
  Response r = f.claim_many(10, 0, "-");
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(array_of(r, "tasks").size() == 6u);
}

BOOST_AUTO_TEST_CASE(max_tasks_beyond_claims_max_batch_is_400) {
  Fresh f(shared_server("small", small_limits()));
  BATON_CHECK_ERROR(f.claim_many(4), "invalid_request");
  BATON_CHECK_ERROR(f.claim_many(0), "invalid_request");
  BATON_CHECK_STATUS(f.claim_many(3), 200);
}

BOOST_AUTO_TEST_SUITE_END()
