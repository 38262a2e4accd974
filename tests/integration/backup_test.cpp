// Backup and restore (docs/operations.md): POST /v1/admin/backup takes a snapshot while
// the server serves, `baton restore` copies it into a new data directory, and a server
// started there finds every task acknowledged before the snapshot began, in the state it
// was acknowledged in or one it reached later. Refusals: the admin key, the target, the
// restore's source and destination.
#define BOOST_TEST_MODULE backup
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "integration/command.hpp"
#include "integration/harness.hpp"
#include "support/temp_dir.hpp"

using namespace baton::test;
namespace fs = std::filesystem;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

const std::string kAdminKey = "backup-test-admin-key-0123456789";

ServerOptions with_admin_key(ServerOptions options = {}) {
  return options.with("admin_key", "\"" + kAdminKey + "\"");
}

TestServer& admin_server() { return shared_server("admin", with_admin_key()); }

Response post_backup(Client& c, const std::string& to, const std::string& bearer = kAdminKey) {
  Headers headers;
  if (!bearer.empty()) headers["Authorization"] = "Bearer " + bearer;
  return c.request("POST", "/v1/admin/backup", js(json::object{{"to", to}}), headers);
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A directory for snapshots on another file system than the servers' data (/tmp) when
// there is one, so that RocksDB copies the table files instead of linking them.
struct SnapshotRoot {
  fs::path path;
  SnapshotRoot() {
    std::string pattern = (fs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp") +
                          std::string("/baton-snapshots-XXXXXX");
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp " + pattern);
    path = pattern;
  }
  ~SnapshotRoot() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

// ---- The load, and what its clients were told ----------------------------------------

// One answer the load received about a task: the state it showed, and when it arrived.
struct Ack {
  SteadyClock::time_point at;
  std::string status;
};

// Where a state lies on a task's way here: created, claimed, then completed or failed.
int progress(const std::string& status) {
  if (status == "pending") return 0;
  if (status == "claimed") return 1;
  return 2;
}

struct TaskHistory {
  // One per answer: create, claim, complete or fail. Recorded by the thread that got it,
  // so a claim's answer may be recorded before its create's.
  std::vector<Ack> acks;
  std::string result;  // the result it was completed with (serialized)
  std::string failure_reason;
};

// A producer creating tasks and two workers claiming them, completing four in five and
// failing the fifth for good (dead_letter), until stopped. Each thread has its client.
class Load {
 public:
  Load(TestServer& server, std::string key, std::string type)
      : server_(server), key_(std::move(key)), type_(std::move(type)) {
    threads_.emplace_back([this] { produce(); });
    for (int worker = 0; worker < 2; ++worker) threads_.emplace_back([this, worker] { work(worker); });
  }
  ~Load() { stop(); }

  void stop() {
    stopping_ = true;
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  int created() const { return created_; }
  int finished() const { return finished_; }
  // After stop(): every task with its answers, and what went wrong in the threads.
  const std::map<std::string, TaskHistory>& tasks() const { return tasks_; }
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  void record(const std::string& id, const Response& r, const json::object* result = nullptr) {
    std::lock_guard lock(mutex_);
    TaskHistory& history = tasks_[id];
    history.acks.push_back({SteadyClock::now(), r.task_str("status")});
    if (result) history.result = js(*result);
    if (r.task_str("status") == "dead_letter") history.failure_reason = r.task_str("failureReason");
  }
  void error(std::string what) {
    std::lock_guard lock(mutex_);
    errors_.push_back(std::move(what));
    stopping_ = true;
  }

  void produce() {
    Client c = server_.client();
    for (int n = 0; !stopping_; ++n) {
      try {
        json::object payload{{"n", n}};
        Response r = c.create_task(key_, task_body(type_, {{"payload", payload}}));
        if (r.status != 201) return error("create: " + r.describe());
        record(r.task_id(), r);
        ++created_;
      } catch (const std::exception& e) {
        return error(std::string("create: ") + e.what());
      }
    }
  }

  void work(int worker) {
    Client c = server_.client();
    const std::string worker_id = "worker-" + std::to_string(worker);
    const std::string claim = js({{"type", type_}, {"worker_id", worker_id}, {"wait_seconds", 1}});
    for (int n = 0; !stopping_; ++n) {
      try {
        Response claimed = c.claim(key_, claim);
        if (claimed.status != 200) return error("claim: " + claimed.describe());
        if (claimed.task_is_null()) continue;
        std::string id = claimed.task_id(), token = claimed.task_str("leaseToken");
        record(id, claimed);
        if (n % 5 == 4) {
          json::object body{{"lease_token", token}, {"retryable", false},
                            {"reason", "given up by " + worker_id}};
          Response failed = c.fail(key_, id, js(body));
          if (failed.status != 200) return error("fail: " + failed.describe());
          record(id, failed);
        } else {
          json::object result{{"by", worker_id}, {"task", id}};
          Response completed = c.complete(key_, id, js({{"lease_token", token}, {"result", result}}));
          if (completed.status != 200) return error("complete: " + completed.describe());
          record(id, completed, &result);
        }
        ++finished_;
      } catch (const std::exception& e) {
        return error(std::string("claim/complete: ") + e.what());
      }
    }
  }

  TestServer& server_;
  const std::string key_, type_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> created_{0}, finished_{0};
  std::mutex mutex_;
  std::map<std::string, TaskHistory> tasks_;
  std::vector<std::string> errors_;
  std::vector<std::thread> threads_;
};

// Every task of `type` the server holds, through the listing (all pages).
std::map<std::string, json::object> list_all(Client& c, const std::string& key,
                                             const std::string& type) {
  std::map<std::string, json::object> out;
  std::string cursor;
  for (;;) {
    std::string query = "type=" + type + "&limit=100";
    if (!cursor.empty()) query += "&cursor=" + url_encode(cursor);
    Response page = c.list_tasks(key, query);
    BATON_REQUIRE_STATUS(page, 200);
    for (const json::value& task : page.obj().at("tasks").as_array()) {
      out[std::string(task.at("id").as_string())] = task.as_object();
    }
    const json::value& next = page.obj().at("next_cursor");
    if (next.is_null()) return out;
    cursor = std::string(next.as_string());
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(under_load)

BOOST_AUTO_TEST_CASE(a_restored_snapshot_holds_every_task_acknowledged_before_it_began) {
  // sync batch: the production default, with spare WAL files, which the checkpoint's
  // copy of the live WAL must not take.
  TestServer server(with_admin_key(ServerOptions{}.with("storage.sync", "batch")));
  Client admin = server.client(120s);
  const std::string key = admin.register_key();
  const std::string type = "backup_" + unique_suffix();
  SnapshotRoot root;
  const std::string snapshot = (root.path / "snapshot").string();

  Load load(server, key, type);
  auto going = [&] { return load.created() >= 300 && load.finished() >= 100; };
  BOOST_REQUIRE_MESSAGE(poll_until(going, 30s),
                        "the load did not get going: " << load.created() << " created, "
                                                       << load.finished() << " finished");
  const SteadyClock::time_point began = SteadyClock::now();
  Response backup = post_backup(admin, snapshot);
  const int created_at_backup = load.created();
  std::this_thread::sleep_for(300ms);  // and the load goes on after it
  load.stop();
  for (const std::string& error : load.errors()) BOOST_ERROR("load: " << error);
  BATON_REQUIRE_STATUS(backup, 200);
  const json::object& answer = backup.obj();
  BOOST_TEST(answer.at("path").as_string() == snapshot);
  BOOST_TEST(answer.at("files").as_int64() > 0);
  BOOST_TEST(answer.at("bytes").as_int64() > 0);
  BOOST_TEST(answer.at("sequence").as_int64() > 0);
  BOOST_TEST(answer.at("took_ms").as_int64() >= 0);
  BATON_CHECK_CONTRACT(answer.at("agent_contract"));
  BOOST_TEST_MESSAGE("snapshot of " << created_at_backup << " tasks under load: " << js(answer));

  const fs::path restored = root.path / "restored";
  CommandRun run = run_baton({"restore", "--from", snapshot, "--data", restored.string()});
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, "restore: " << run.exit_code << " " << run.err);
  BOOST_TEST(has(run.out, "restored " + snapshot + " into " + restored.string()), run.out);

  ServerOptions options = with_admin_key();
  options.data_dir = restored.string();
  TestServer copy(options);
  Client c = copy.client();
  std::map<std::string, json::object> listed = list_all(c, key, type);  // the same key: accounts too

  int checked = 0, completed = 0;
  for (const auto& [id, history] : load.tasks()) {
    // The furthest state answered before the snapshot began (-1: none was).
    int known = -1;
    std::string known_status;
    for (const Ack& ack : history.acks) {
      if (ack.at < began && progress(ack.status) > known) {
        known = progress(ack.status);
        known_status = ack.status;
      }
    }
    // The restored state is that one or one the task reached after it (a transition under
    // way when the snapshot began may be in it, answered only later).
    std::set<std::string> allowed;
    for (const Ack& ack : history.acks) {
      if (progress(ack.status) >= known) allowed.insert(ack.status);
    }
    auto found = listed.find(id);
    BOOST_TEST_CONTEXT("task " << id) {
      if (known < 0) {  // created after the snapshot began: in it or not
        if (found != listed.end()) {
          BOOST_TEST(allowed.count(std::string(found->second.at("status").as_string())) == 1u);
        }
        continue;
      }
      BOOST_REQUIRE_MESSAGE(found != listed.end(), "acknowledged before the snapshot, not restored");
      Response r = c.get_task(key, id);
      BATON_REQUIRE_STATUS(r, 200);
      const std::string status = r.task_str("status");
      BOOST_TEST(allowed.count(status) == 1u, "restored as " << status);
      if (known_status == "completed") {
        BOOST_TEST(status == "completed");
        BOOST_TEST(js(r.task().at("result")) == history.result);
        ++completed;
      }
      if (known_status == "dead_letter") {
        BOOST_TEST(status == "dead_letter");
        BOOST_TEST(r.task_str("failureReason") == history.failure_reason);
      }
      ++checked;
    }
  }
  // Nothing in the copy that the load did not make.
  for (const auto& [id, task] : listed) BOOST_TEST(load.tasks().count(id) == 1u, id);
  BOOST_TEST(checked >= 300);
  BOOST_TEST(completed >= 50);
  BOOST_TEST_MESSAGE(checked << " tasks acknowledged before the snapshot found (" << completed
                             << " completed); " << listed.size() << " restored of "
                             << load.tasks().size() << " made");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(refusals)

BOOST_AUTO_TEST_CASE(only_the_admin_key_takes_a_backup) {
  TestServer& server = admin_server();
  Client c = server.client();
  SnapshotRoot root;
  const std::string to = (root.path / "snapshot").string();
  BATON_CHECK_ERROR(post_backup(c, to, ""), "forbidden");
  BATON_CHECK_ERROR(post_backup(c, to, c.register_key()), "forbidden");  // an API key
  BATON_CHECK_ERROR(post_backup(c, to, kAdminKey + "x"), "forbidden");
  BOOST_TEST(!fs::exists(to));
  // No admin key configured: admin operations are off, whatever is sent.
  Client plain = shared_server().client();
  Response off = post_backup(plain, to, kAdminKey);
  BATON_CHECK_ERROR(off, "forbidden");
  BOOST_TEST(has(off.obj().at("message").as_string().c_str(), "admin_key"));
  BOOST_TEST(!fs::exists(to));
}

BOOST_AUTO_TEST_CASE(the_target_must_be_an_absolute_new_or_empty_directory_outside_the_data) {
  TestServer& server = admin_server();
  Client c = server.client();
  SnapshotRoot root;
  auto refused = [&](const std::string& to, const std::string& says) {
    Response r = post_backup(c, to);
    BATON_CHECK_ERROR(r, "invalid_request");
    std::string message = r.json.is_object() ? r.error() + ": " + js(r.obj().at("message")) : "";
    BOOST_TEST(has(message, says), to.substr(0, 80) << " -> " << message);
  };
  refused("snapshot", "to must be an absolute path");
  refused("/" + std::string(4096, 'a'), "to must be 1 to 4096 characters");
  refused((root.path / "missing" / "snapshot").string(), "does not exist");
  refused(server.data_dir() + "/snapshot", "inside the data directory");
  fs::create_directory(root.path / "full");
  std::ofstream(root.path / "full" / "precious") << "keep me";
  refused((root.path / "full").string(), "is not empty");
  BOOST_TEST(read_file((root.path / "full" / "precious").string()) == "keep me");
  BOOST_TEST(!fs::exists(root.path / "full.baton-partial"));
  // An empty directory is taken.
  fs::create_directory(root.path / "empty");
  Response taken = post_backup(c, (root.path / "empty/").string());
  BATON_CHECK_STATUS(taken, 200);
  BOOST_TEST(fs::exists(root.path / "empty" / "BATON_FORMAT"));
  BATON_CHECK_ERROR(c.request("GET", "/v1/admin/backup", "", {{"Authorization", "Bearer " + kAdminKey}}),
                    "method_not_allowed");
}

BOOST_AUTO_TEST_CASE(restore_takes_only_a_snapshot_into_a_new_or_empty_directory) {
  TestServer& server = admin_server();
  Client c = server.client();
  SnapshotRoot root;
  const std::string snapshot = (root.path / "snapshot").string();
  BATON_REQUIRE_STATUS(post_backup(c, snapshot), 200);

  fs::create_directory(root.path / "full");
  std::ofstream(root.path / "full" / "precious") << "keep me";
  CommandRun onto_data = run_baton({"restore", "--from", snapshot, "--data", (root.path / "full").string()});
  BOOST_TEST(onto_data.exit_code == 1);
  BOOST_TEST(has(onto_data.err, "is not empty"), onto_data.err);
  BOOST_TEST(fs::directory_iterator(root.path / "full")->path().filename() == "precious");

  fs::create_directory(root.path / "junk");
  std::ofstream(root.path / "junk" / "CURRENT") << "MANIFEST-000001\n";
  CommandRun from_junk = run_baton({"restore", "--from", (root.path / "junk").string(), "--data",
                                    (root.path / "new").string()});
  BOOST_TEST(from_junk.exit_code == 1);
  BOOST_TEST(has(from_junk.err, "BATON_FORMAT"), from_junk.err);

  // A live server's directory is no snapshot: its files change under the copy.
  CommandRun from_live = run_baton({"restore", "--from", server.data_dir(), "--data",
                                    (root.path / "new").string()});
  BOOST_TEST(from_live.exit_code == 1);
  BOOST_TEST(has(from_live.err, "a running process holds"), from_live.err);

  BOOST_TEST(run_baton({"restore", "--from", snapshot}).exit_code == 2);
  BOOST_TEST(!fs::exists(root.path / "new"));
  BOOST_TEST(!fs::exists(root.path / "new.baton-partial"));

  // The snapshot itself is untouched by all this, and restores.
  CommandRun ok = run_baton({"restore", "--from", snapshot, "--data", (root.path / "new").string()});
  BOOST_TEST(ok.exit_code == 0, ok.err);
}

BOOST_AUTO_TEST_CASE(capabilities_show_the_backup_as_an_admin_operation_and_no_mcp_tool) {
  Client c = admin_server().client();
  Response caps = c.get("/v1/capabilities", "");
  BATON_REQUIRE_STATUS(caps, 200);
  const json::object* row = nullptr;
  for (const json::value& op : caps.obj().at("operations").as_array()) {
    if (op.at("id") == "create_backup") row = &op.as_object();
  }
  BOOST_REQUIRE(row);
  BOOST_TEST(row->at("auth") == "admin");
  BOOST_TEST(row->at("mcp_tool") == false);
  std::set<std::string> errors;
  for (const json::value& code : row->at("errors").as_array()) errors.insert(std::string(code.as_string()));
  BOOST_TEST(errors.count("forbidden") == 1u);
  BOOST_TEST(errors.count("missing_api_key") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(command)

BOOST_AUTO_TEST_CASE(baton_backup_asks_the_running_server) {
  TestServer& server = admin_server();
  SnapshotRoot root;
  const std::string to = (root.path / "snapshot").string();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  CommandRun done = run_baton({"backup", "--url", url, "--to", to}, {{"BATON_ADMIN_KEY", kAdminKey}});
  BOOST_TEST(done.exit_code == 0, done.err);
  BOOST_TEST(has(done.out, "snapshot " + to + ": "), done.out);
  BOOST_TEST(fs::exists(fs::path(to) / "BATON_FORMAT"));

  CommandRun again = run_baton({"backup", "--url", url, "--to", to, "--admin-key", kAdminKey});
  BOOST_TEST(again.exit_code == 1);
  BOOST_TEST(has(again.err, "invalid_request"), again.err);
  BOOST_TEST(has(again.err, "is not empty"), again.err);

  CommandRun wrong = run_baton({"backup", "--url", url, "--to", to + "2", "--admin-key", "nope"});
  BOOST_TEST(wrong.exit_code == 1);
  BOOST_TEST(has(wrong.err, "forbidden"), wrong.err);
  BOOST_TEST(run_baton({"backup", "--url", url, "--to", to + "2"}).exit_code == 2);  // no key
  BOOST_TEST(run_baton({"backup", "--url", url, "--to", "relative"}, {{"BATON_ADMIN_KEY", kAdminKey}})
                 .exit_code == 2);
  CommandRun away = run_baton({"backup", "--url", "http://127.0.0.1:1", "--to", to + "2"},
                              {{"BATON_ADMIN_KEY", kAdminKey}});
  BOOST_TEST(away.exit_code == 1);
  BOOST_TEST(has(away.err, "cannot connect"), away.err);
}

BOOST_AUTO_TEST_SUITE_END()
