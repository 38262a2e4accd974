// Task logs (docs/api.md "Task logs"), against the real server: appends fenced by the
// lease, seq and timestamps, paging, the per-task bound, hostile lines, and durability
// across kill -9. The live streams have tests of their own (log_streams_test.cpp, and the
// Node clients in tests/node).
#define BOOST_TEST_MODULE logs
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

ServerOptions logs_options() {
  ServerOptions options;
  options.extra_yaml =
      "task_logs:\n  max_line_bytes: 1000\n  max_lines_per_append: 50\n  max_task_bytes: 2000\n";
  return options;
}

TestServer& logs_server() { return shared_server("logs", logs_options()); }

struct Fresh : FreshAccount {
  std::string id, token;
  explicit Fresh(TestServer& on = logs_server()) : FreshAccount("logs_", on) {
    id = c.create_task_id(key, task_body(type));
    Response r = c.claim_id(key, id, js({{"worker_id", "w-logs"}}));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    token = r.task_str("leaseToken");
  }
  Response append(const json::array& lines, const std::string& with_token = {}) {
    return c.post("/v1/tasks/" + id + "/logs", key,
                  js({{"lease_token", with_token.empty() ? token : with_token}, {"lines", lines}}));
  }
  Response read(const std::string& query = {}) {
    return c.get("/v1/tasks/" + id + "/logs" + (query.empty() ? "" : "?" + query), key);
  }
};

json::object line(const std::string& message, const std::string& level = "info") {
  return {{"level", level}, {"message", message}};
}

std::vector<std::int64_t> seqs_of(const Response& r) {
  std::vector<std::int64_t> seqs;
  for (const json::value& l : r.obj().at("lines").as_array()) seqs.push_back(l.at("seq").as_int64());
  return seqs;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lines_get_seqs_and_timestamps_and_read_back_in_order) {
  Fresh f;
  Response first = f.append({line("starting"), json::object{{"message", "step 1"},
                                                            {"data", {{"files", 3}}}}});
  BATON_REQUIRE_STATUS(first, 200);
  BOOST_TEST(first.obj().at("appended").as_int64() == 2);
  BOOST_TEST(first.obj().at("seqs").at("first").as_int64() == 1);
  BOOST_TEST(first.obj().at("seqs").at("last").as_int64() == 2);
  BOOST_TEST(contract_problem(first.obj().at("agent_contract")) == "");
  BATON_REQUIRE_STATUS(f.append({line("done", "warn")}), 200);

  Response all = f.read();
  BATON_REQUIRE_STATUS(all, 200);
  BOOST_TEST((seqs_of(all) == std::vector<std::int64_t>{1, 2, 3}));
  const json::array& lines = all.obj().at("lines").as_array();
  BOOST_TEST(lines[0].at("message").as_string() == "starting");
  BOOST_TEST(lines[1].at("level").as_string() == "info");  // the default
  BOOST_TEST(lines[1].at("data").at("files").as_int64() == 3);
  BOOST_TEST(lines[2].at("level").as_string() == "warn");
  BOOST_TEST(lines[0].at("workerId").as_string() == "w-logs");
  BOOST_TEST(lines[0].at("taskId").as_string() == f.id);
  BOOST_TEST(!lines[0].as_object().contains("data"));
  parse_time(std::string(lines[0].at("timestamp").as_string()));  // RFC 3339, or it throws
  BOOST_TEST(all.obj().at("log").at("last_seq").as_int64() == 3);

  Response page = f.read("after=1&limit=1");
  BATON_REQUIRE_STATUS(page, 200);
  BOOST_TEST((seqs_of(page) == std::vector<std::int64_t>{2}));
  BOOST_TEST(page.obj().at("next_after").as_int64() == 2);
  BOOST_TEST(seqs_of(f.read("after=3")).empty());
}

BOOST_AUTO_TEST_CASE(only_the_lease_holder_appends) {
  Fresh f;
  BATON_CHECK_ERROR(f.append({line("x")}, "lse_not_the_token"), "lease_expired");
  Fresh other;  // another account cannot see or write the task
  BATON_CHECK_ERROR(other.c.post("/v1/tasks/" + f.id + "/logs", other.key,
                                 js({{"lines", json::array{line("x")}}})),
                    "task_not_found");
  BATON_CHECK_ERROR(other.c.get("/v1/tasks/" + f.id + "/logs", other.key), "task_not_found");
  // Once completed, the worker writes no more; the lines stay readable.
  BATON_REQUIRE_STATUS(f.append({line("last words")}), 200);
  BATON_REQUIRE_STATUS(f.c.complete(f.key, f.id, js({{"lease_token", f.token}})), 200);
  BATON_CHECK_ERROR(f.append({line("too late")}), "invalid_transition");
  Response read = f.read();
  BATON_REQUIRE_STATUS(read, 200);
  BOOST_TEST(read.obj().at("status").as_string() == "completed");
  BOOST_TEST(seqs_of(read).size() == 1u);
  // An append does not renew the lease.
  Fresh g;
  std::string expires = g.c.get_task(g.key, g.id).task_str("leaseExpiresAt");
  BATON_REQUIRE_STATUS(g.append({line("x")}), 200);
  BOOST_TEST(g.c.get_task(g.key, g.id).task_str("leaseExpiresAt") == expires);
}

BOOST_AUTO_TEST_CASE(the_oldest_lines_are_dropped_past_the_tasks_bound) {
  Fresh f;
  std::string hundred(96, 'x');  // 100 bytes with the level "info"
  for (int round = 0; round < 5; ++round) {
    json::array lines;
    for (int i = 0; i < 10; ++i) lines.push_back(line(hundred));
    BATON_REQUIRE_STATUS(f.append(lines), 200);
  }
  Response read = f.read("limit=1000");
  BATON_REQUIRE_STATUS(read, 200);
  const json::object& log = read.obj().at("log").as_object();
  BOOST_TEST(log.at("bytes").as_int64() == 2000);  // task_logs.max_task_bytes
  BOOST_TEST(log.at("dropped").as_int64() == 30);
  BOOST_TEST(log.at("first_seq").as_int64() == 31);
  BOOST_TEST(log.at("last_seq").as_int64() == 50);
  auto seqs = seqs_of(read);
  BOOST_REQUIRE(seqs.size() == 20u);
  BOOST_TEST(seqs.front() == 31);
  BOOST_TEST(seqs.back() == 50);
  // Asking from before the kept ones starts at the first kept.
  BOOST_TEST(seqs_of(f.read("after=5&limit=1")).front() == 31);
}

BOOST_AUTO_TEST_CASE(hostile_lines_are_refused_and_change_nothing) {
  Fresh f;
  json::array too_many;
  for (int i = 0; i < 51; ++i) too_many.push_back(line("x"));
  BATON_CHECK_ERROR(f.append(too_many), "invalid_request");
  BATON_CHECK_ERROR(f.append({line(std::string(1001, 'y'))}), "invalid_request");
  // Under the message's length but over the line's bytes with its data: 413.
  BATON_CHECK_ERROR(f.append({json::object{{"message", std::string(600, 'z')},
                                           {"data", {{"blob", std::string(600, 'z')}}}}}),
                    "payload_too_large");
  BATON_CHECK_ERROR(f.append({}), "invalid_request");
  BATON_CHECK_ERROR(f.append({json::object{{"level", "shout"}, {"message", "x"}}}),
                    "invalid_request");
  BATON_CHECK_ERROR(f.append({json::object{{"level", "info"}}}), "invalid_request");
  BATON_CHECK_ERROR(f.append({json::value("just text")}), "invalid_request");
  BATON_CHECK_ERROR(f.append({json::object{{"message", "x"}, {"data", "not an object"}}}),
                    "invalid_request");
  // Invalid UTF-8 in a message.
  std::string body = R"({"lease_token":")" + f.token + R"(","lines":[{"message":"bad )" +
                     std::string("\xC3\x28") + R"("}]})";
  BATON_CHECK_ERROR(f.c.post("/v1/tasks/" + f.id + "/logs", f.key, body), "invalid_request");
  Response read = f.read();
  BATON_REQUIRE_STATUS(read, 200);
  BOOST_TEST(seqs_of(read).empty());
  BOOST_TEST(read.obj().at("log").at("last_seq").as_int64() == 0);
  BOOST_TEST(f.server.alive());
}

BOOST_AUTO_TEST_CASE(acknowledged_lines_survive_kill_9) {
  TestServer server(logs_options());
  Fresh f(server);
  for (int i = 0; i < 20; ++i) {
    BATON_REQUIRE_STATUS(f.append({line("line " + std::to_string(i))}), 200);
  }
  server.kill9();
  server.restart();
  Client c = server.client();
  Response read = c.get("/v1/tasks/" + f.id + "/logs?limit=1000", f.key);
  BATON_REQUIRE_STATUS(read, 200);
  auto seqs = seqs_of(read);
  BOOST_REQUIRE(seqs.size() == 20u);
  BOOST_TEST(read.obj().at("lines").as_array()[19].at("message").as_string() == "line 19");
  // Appends go on from the next seq after the restart.
  Response more = c.post("/v1/tasks/" + f.id + "/logs", f.key,
                         js({{"lease_token", f.token}, {"lines", json::array{line("after")}}}));
  BATON_REQUIRE_STATUS(more, 200);
  BOOST_TEST(more.obj().at("seqs").at("first").as_int64() == 21);
  // The bound holds across the restart: what the lines before it weigh is read back.
  json::array big;
  for (int i = 0; i < 20; ++i) big.push_back(line(std::string(96, 'b')));
  Response over = c.post("/v1/tasks/" + f.id + "/logs", f.key,
                         js({{"lease_token", f.token}, {"lines", big}}));
  BATON_REQUIRE_STATUS(over, 200);
  const json::object& log = over.obj().at("log").as_object();
  BOOST_TEST(log.at("bytes").as_int64() == 2000);
  BOOST_TEST(log.at("first_seq").as_int64() == 22);  // all 21 short lines dropped
  Response kept = c.get("/v1/tasks/" + f.id + "/logs?limit=1000", f.key);
  BOOST_TEST(seqs_of(kept).size() == 20u);
  BOOST_TEST(seqs_of(kept).front() == 22);
}
