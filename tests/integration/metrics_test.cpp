// GET /metrics (docs/operations.md "Metrics"), against the real server: the admin key on
// the main port, the keyless metrics port (metrics.listen), what the figures say after
// real traffic, types folded past metrics.max_types, the text checked by Prometheus's own
// promtool, and a real Prometheus scraping it.
#define BOOST_TEST_MODULE metrics
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "integration/command.hpp"
#include "integration/harness.hpp"

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

const std::string kAdminKey = "metrics-admin-key-0123456789";

ServerOptions metrics_options() {
  ServerOptions options;
  options.with("admin_key", "\"" + kAdminKey + "\"");
  options.with("metrics.listen", "\"127.0.0.1:0\"").with("metrics.max_types", "3");
  options.with("log.level", "info");  // the metrics port's line
  return options;
}

TestServer& metrics_server() { return shared_server("metrics", metrics_options()); }

// The port the server's log says the metrics port is on.
int metrics_port(const TestServer& server) {
  std::regex line("\"msg\":\"metrics listening\",\"detail\":\"[^\"]*:([0-9]+)\"");
  std::smatch match;
  std::string log = server.log_tail(200);
  BOOST_REQUIRE_MESSAGE(std::regex_search(log, match, line), "no metrics port in the log: " << log);
  return std::stoi(match[1]);
}

// The value of the sample `series` (name and labels, as printed), or -1 when absent.
double value_of(const std::string& text, const std::string& series) {
  std::size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      std::size_t start = at + series.size() + 1;
      return std::stod(text.substr(start, text.find('\n', start) - start));
    }
    ++at;
  }
  return -1;
}

std::string scrape(TestServer& server) {
  Client c = server.client();
  Response r = c.get("/metrics", kAdminKey);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
  return r.body;
}

struct Fresh : FreshAccount {
  explicit Fresh(TestServer& on = metrics_server()) : FreshAccount("metrics_", on) {}
};

}  // namespace

BOOST_AUTO_TEST_CASE(the_main_port_wants_the_admin_key) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.get("/metrics", ""), "forbidden");
  BATON_CHECK_ERROR(f.c.get("/metrics", f.key), "forbidden");
  Response r = f.c.get("/metrics", kAdminKey);
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.header("Content-Type").starts_with("text/plain; version=0.0.4"));
  BOOST_TEST(r.body.find("# TYPE baton_http_requests_total counter") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(figures_follow_the_traffic) {
  Fresh f;
  std::string before = scrape(f.server);
  double created_before = std::max(0.0, value_of(before, "baton_http_requests_total{route=\"create_task\",status=\"201\"}"));
  for (int i = 0; i < 5; ++i) f.c.create_task_id(f.key, task_body(f.type));
  BATON_REQUIRE_STATUS(f.c.claim(f.key, js({{"type", f.type}})), 200);
  // A long poll that waits out its second.
  BATON_REQUIRE_STATUS(f.c.claim(f.key, js({{"type", f.type + "_none"}, {"wait_seconds", 1}})), 200);
  f.c.get("/v1/no/such/path", f.key);
  std::string after = scrape(f.server);
  BOOST_TEST(value_of(after, "baton_http_requests_total{route=\"create_task\",status=\"201\"}") ==
             created_before + 5);
  BOOST_TEST(value_of(after, "baton_http_requests_total{route=\"unmatched\",status=\"404\"}") >= 1);
  BOOST_TEST(value_of(after, "baton_http_request_duration_seconds_count{route=\"claim_task\"}") >= 2);
  BOOST_TEST(value_of(after, "baton_claim_wait_seconds_count") >= 1);
  BOOST_TEST(value_of(after, "baton_claim_wait_seconds_sum") >= 0.9);
  BOOST_TEST(value_of(after, "baton_commit_seconds_count") >= 6);
  BOOST_TEST(value_of(after, "baton_commit_batch_operations_sum") >= 6);
  if (f.server.on_postgres()) {
    // PostgreSQL's figures are its own exporter's to give.
    BOOST_TEST(value_of(after, "baton_wal_syncs_total") == -1);
  } else {
    BOOST_TEST(value_of(after, "baton_wal_syncs_total") >= 1);
  }
  BOOST_TEST(value_of(after, "baton_storage_writable") == 1);
  BOOST_TEST(value_of(after, "baton_build_info{version=\"0.1.0\"}") == 1);
  // Histogram buckets are cumulative and end at the count.
  BOOST_TEST(value_of(after, "baton_commit_seconds_bucket{le=\"+Inf\"}") ==
             value_of(after, "baton_commit_seconds_count"));
}

BOOST_AUTO_TEST_CASE(tasks_by_state_and_type_fold_past_max_types) {
  TestServer server(metrics_options());
  Fresh f(server);
  // Four types (max_types 3): the smallest folds into "other".
  for (int i = 0; i < 4; ++i) f.c.create_task_id(f.key, task_body("big_a"));
  for (int i = 0; i < 3; ++i) f.c.create_task_id(f.key, task_body("big_b"));
  for (int i = 0; i < 2; ++i) f.c.create_task_id(f.key, task_body("big_c"));
  f.c.create_task_id(f.key, task_body("small_d"));
  std::string claimed = f.c.create_task_id(f.key, task_body("big_a", {{"delaySeconds", 3600}}));
  Response claim = f.c.claim(f.key, js({{"type", "big_b"}}));
  BATON_REQUIRE_STATUS(claim, 200);
  std::string text = scrape(server);
  BOOST_TEST(value_of(text, "baton_tasks{state=\"pending\",type=\"big_a\"}") == 4);
  BOOST_TEST(value_of(text, "baton_tasks{state=\"scheduled\",type=\"big_a\"}") == 1);
  BOOST_TEST(value_of(text, "baton_tasks{state=\"pending\",type=\"big_b\"}") == 2);
  BOOST_TEST(value_of(text, "baton_tasks{state=\"claimed\",type=\"big_b\"}") == 1);
  BOOST_TEST(value_of(text, "baton_tasks{state=\"pending\",type=\"other\"}") == 1);
  BOOST_TEST(value_of(text, "baton_tasks{state=\"pending\",type=\"small_d\"}") == -1);
  BOOST_TEST(value_of(text, "baton_tasks_created_last_minute{type=\"big_a\"}") == 5);
}

BOOST_AUTO_TEST_CASE(the_metrics_port_serves_metrics_alone_without_a_key) {
  TestServer& server = metrics_server();
  Client c(metrics_port(server));
  Response r = c.get("/metrics", "");
  BATON_REQUIRE_STATUS(r, 200);
  BOOST_TEST(r.header("Content-Type").starts_with("text/plain; version=0.0.4"));
  BOOST_TEST(r.body.find("baton_tasks") != std::string::npos);
  BATON_CHECK_ERROR(c.get("/v1/tasks", ""), "not_found");
  Response post = c.post("/metrics", "", "{}");
  BATON_CHECK_STATUS(post, 405);
  BOOST_TEST(post.header("Allow") == "GET, HEAD");
}

BOOST_AUTO_TEST_CASE(promtool_accepts_the_text) {
  Fresh f;
  f.c.create_task_id(f.key, task_body(f.type));
  std::string text = scrape(f.server);
  std::string path = f.server.dir() + "/metrics.txt";
  std::ofstream(path) << text;
  CommandRun check = run_program("promtool", {"check", "metrics"}, {}, std::chrono::seconds(30), path);
  BOOST_TEST(check.exit_code == 0, "promtool: " << check.out << check.err);
  // Lint findings are printed, not fatal: there should be none.
  BOOST_TEST(check.out + check.err == "", "promtool says: " << check.out << check.err);
}

BOOST_AUTO_TEST_CASE(a_real_prometheus_scrapes_it) {
  TestServer& server = metrics_server();
  Fresh f(server);
  for (int i = 0; i < 3; ++i) f.c.create_task_id(f.key, task_body(f.type));
  int target = metrics_port(server);
  std::string dir = server.dir() + "/prometheus";
  std::filesystem::create_directories(dir);
  int port = pick_free_port();
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\n"
      << "scrape_configs:\n  - job_name: baton\n    static_configs:\n      - targets: ['127.0.0.1:"
      << target << "']\n";
  Background prometheus("prometheus",
                        {"--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
                         "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                        dir + "/log");
  std::string query = "/api/v1/query?query=" + url_encode("sum(baton_tasks{state=\"pending\"})");
  double seen = -1;
  bool up = poll_until(
      [&] {
        try {
          Client c(port, std::chrono::seconds(2));
          Response r = c.get(query, "");
          if (r.status != 200) return false;
          auto& result = r.obj().at("data").at("result").as_array();
          if (result.empty()) return false;
          seen = std::stod(std::string(result[0].at("value").as_array()[1].as_string()));
          return seen >= 3;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(30), std::chrono::milliseconds(250));
  BOOST_TEST(up, "Prometheus never saw the tasks (last " << seen << "): " << prometheus.log());
  Client c(port);
  Response targets = c.get("/api/v1/targets", "");
  BATON_REQUIRE_STATUS(targets, 200);
  auto& active = targets.obj().at("data").at("activeTargets").as_array();
  BOOST_REQUIRE(!active.empty());
  BOOST_TEST(active[0].at("health").as_string() == "up");
  BOOST_TEST(active[0].at("lastError").as_string() == "");
}
