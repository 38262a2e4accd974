// Authentication and accounts (spec section 2): Bearer keys, keys in query strings,
// account isolation, key management, registration modes.
#define BOOST_TEST_MODULE auth
#include <boost/test/unit_test.hpp>

#include <boost/json.hpp>

#include "integration/harness.hpp"

#include <future>
#include <set>
#include <vector>

using namespace baton::test;

BOOST_TEST_GLOBAL_FIXTURE(SharedServerGuard);

namespace {

struct Fresh {
  TestServer& server = shared_server();
  Client c = server.client();
  Account account = c.register_account();
  std::string key = account.api_key;
  std::string type = "auth_" + unique_suffix();
};

const std::string kGhostKey = "orch_live_" + std::string(64, '0');

}  // namespace

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(api_keys)

BOOST_AUTO_TEST_CASE(a_request_without_a_key_is_401_missing_api_key) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.get("/v1/tasks", ""), "missing_api_key");
  BATON_CHECK_ERROR(f.c.post("/v1/tasks", "", task_body(f.type)), "missing_api_key");
  BATON_CHECK_ERROR(f.c.post("/v1/tasks/claim", ""), "missing_api_key");
  BATON_CHECK_ERROR(f.c.get("/v1/keys", ""), "missing_api_key");
}

BOOST_AUTO_TEST_CASE(an_unknown_key_is_401_invalid_api_key) {
  Fresh f;
  BATON_CHECK_ERROR(f.c.get("/v1/tasks", kGhostKey), "invalid_api_key");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks", "not-a-key"), "invalid_api_key");
  BATON_CHECK_ERROR(f.c.post("/v1/tasks", kGhostKey, task_body(f.type)), "invalid_api_key");
  // A known key with one character changed.
  std::string near = f.key;
  near.back() = near.back() == '0' ? '1' : '0';
  BATON_CHECK_ERROR(f.c.get("/v1/tasks", near), "invalid_api_key");
  Response list = f.c.list_tasks(f.key);
  BATON_REQUIRE_STATUS(list, 200);
  BOOST_TEST(list.obj().at("tasks").as_array().empty());
}

BOOST_AUTO_TEST_CASE(a_key_in_the_query_string_is_rejected_before_authentication) {
  Fresh f;
  for (const char* name : {"api_key", "apiKey", "key", "token", "access_token"}) {
    BOOST_TEST_CONTEXT("parameter " << name) {
      const std::string target = "/v1/tasks?" + std::string(name) + "=" + f.key;
      BATON_CHECK_ERROR(f.c.get(target, f.key), "invalid_request");  // even with a valid header
      BATON_CHECK_ERROR(f.c.get(target, ""), "invalid_request");     // before authentication
    }
  }
  BATON_CHECK_ERROR(f.c.get("/v1/tasks?note=" + f.key, f.key), "invalid_request");
  BATON_CHECK_ERROR(f.c.get("/v1/tasks?status=pending&q=orch_live_abc", f.key), "invalid_request");
  BATON_CHECK_ERROR(f.c.post("/v1/tasks?api_key=" + f.key, "", task_body(f.type)), "invalid_request");
  // Nothing was created, and the key never reached the log.
  Response list = f.c.list_tasks(f.key);
  BOOST_TEST(list.obj().at("tasks").as_array().empty());
  BOOST_TEST(read_file(f.server.log_path()).find(f.key) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(keys_can_be_created_listed_and_revoked) {
  Fresh f;
  std::string id = f.c.create_task_id(f.key, task_body(f.type));

  Response made = f.c.post("/v1/keys", f.key, R"({"label":"worker fleet"})");
  BOOST_REQUIRE_MESSAGE(made.status == 200 || made.status == 201, made.describe());
  const std::string second = std::string(made.obj().at("apiKey").as_string());
  const std::string second_id = std::string(made.obj().at("keyId").as_string());
  BOOST_TEST(second.rfind("orch_live_", 0) == 0u);
  BOOST_TEST(second != f.key);
  BOOST_TEST(second_id.rfind("key_", 0) == 0u);
  BOOST_TEST(second_id != f.account.key_id);

  // The new key works for the same account.
  Response seen = f.c.get_task(second, id);
  BATON_REQUIRE_STATUS(seen, 200);
  BOOST_TEST(seen.task_id() == id);

  // The list names both keys and shows no secret.
  Response listed = f.c.get("/v1/keys", f.key);
  BATON_REQUIRE_STATUS(listed, 200);
  BATON_CHECK_CONTRACT(listed.contract());
  BOOST_TEST(listed.body.find(f.account.key_id) != std::string::npos);
  BOOST_TEST(listed.body.find(second_id) != std::string::npos);
  BOOST_TEST(listed.body.find("orch_live_") == std::string::npos);
  BOOST_TEST(listed.body.find(second.substr(10)) == std::string::npos);
  BOOST_TEST(listed.body.find("worker fleet") != std::string::npos);

  // Revoke the second key; it fails on every connection (so on every shard) at once.
  Response revoked = f.c.del("/v1/keys/" + second_id, f.key);
  BOOST_REQUIRE_MESSAGE(revoked.status >= 200 && revoked.status < 300, revoked.describe());
  for (int i = 0; i < 8; ++i) {
    Client fresh = f.server.client();
    BATON_CHECK_ERROR(fresh.get("/v1/tasks", second), "invalid_api_key");
  }
  BATON_CHECK_ERROR(f.c.get("/v1/tasks", second), "invalid_api_key");
  // The first key is unaffected.
  BATON_REQUIRE_STATUS(f.c.get_task(f.key, id), 200);
}

BOOST_AUTO_TEST_CASE(a_key_of_another_account_cannot_be_revoked) {
  Fresh a;
  Fresh b;
  Response r = b.c.del("/v1/keys/" + a.account.key_id, b.key);
  BOOST_CHECK_MESSAGE(r.status == 404 || r.status == 403, r.describe());
  BATON_REQUIRE_STATUS(a.c.list_tasks(a.key), 200);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(account_isolation)

BOOST_AUTO_TEST_CASE(another_account_cannot_see_or_touch_a_task) {
  Fresh a;
  Fresh b;
  std::string id = a.c.create_task_id(a.key, task_body(a.type));
  Response a_view = a.c.get_task(a.key, id);

  BATON_CHECK_ERROR(b.c.get_task(b.key, id), "task_not_found");
  BATON_CHECK_ERROR(b.c.claim_id(b.key, id), "task_not_found");
  BATON_CHECK_ERROR(b.c.complete(b.key, id, R"({"result":{}})"), "task_not_found");
  BATON_CHECK_ERROR(b.c.fail(b.key, id), "task_not_found");
  BATON_CHECK_ERROR(b.c.heartbeat(b.key, id), "task_not_found");
  BATON_CHECK_ERROR(b.c.cancel(b.key, id), "task_not_found");
  BATON_CHECK_ERROR(b.c.requeue(b.key, id), "task_not_found");

  Response b_list = b.c.list_tasks(b.key);
  BATON_REQUIRE_STATUS(b_list, 200);
  BOOST_TEST(b_list.obj().at("tasks").as_array().empty());
  Response b_typed = b.c.list_tasks(b.key, "type=" + a.type);
  BOOST_TEST(b_typed.obj().at("tasks").as_array().empty());

  Response b_claim = b.c.claim(b.key, js({{"type", a.type}}));
  BATON_REQUIRE_STATUS(b_claim, 200);
  BOOST_TEST(b_claim.task_is_null());
  Response b_any = b.c.claim(b.key);
  BATON_REQUIRE_STATUS(b_any, 200);
  BOOST_TEST(b_any.task_is_null());

  Response after = a.c.get_task(a.key, id);
  BATON_REQUIRE_STATUS(after, 200);
  BOOST_TEST(js(after.task()) == js(a_view.task()));
}

BOOST_AUTO_TEST_CASE(a_claimed_task_of_another_account_stays_with_its_worker) {
  Fresh a;
  Fresh b;
  std::string id = a.c.create_task_id(a.key, task_body(a.type));
  Response claimed = a.c.claim(a.key, js({{"type", a.type}}));
  BATON_REQUIRE_STATUS(claimed, 200);
  const std::string token = claimed.task_str("leaseToken");
  BATON_CHECK_ERROR(b.c.complete(b.key, id, js({{"lease_token", token}})), "task_not_found");
  BATON_CHECK_ERROR(b.c.heartbeat(b.key, id, js({{"lease_token", token}})), "task_not_found");
  BOOST_TEST(a.c.get_task(a.key, id).task_str("status") == "claimed");
  BATON_REQUIRE_STATUS(a.c.complete(a.key, id, js({{"lease_token", token}})), 200);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(registration_modes)

BOOST_AUTO_TEST_CASE(open_registration_accepts_a_label) {
  TestServer& server = shared_server();
  Client c = server.client();
  Account a = c.register_account({}, R"({"label":"ci"})");
  Account b = c.register_account();
  BOOST_TEST(a.account_id != b.account_id);
  BOOST_TEST(a.api_key != b.api_key);
  BATON_REQUIRE_STATUS(c.list_tasks(a.api_key), 200);
}

// Key writes run on their own thread (api::StorageWorker): registrations from many
// connections at once each answer with a key that works at once.
BOOST_AUTO_TEST_CASE(concurrent_registrations_each_get_a_working_key) {
  TestServer& server = shared_server();
  // Each worker returns (account, create status) pairs: Boost.Test's assertions are for
  // the main thread only.
  std::vector<std::future<std::vector<std::pair<std::string, int>>>> workers;
  for (int w = 0; w < 8; ++w) {
    workers.push_back(std::async(std::launch::async, [&server, w] {
      std::vector<std::pair<std::string, int>> accounts;
      Client c = server.client();
      for (int i = 0; i < 6; ++i) {
        Account a = c.register_account();
        auto created = c.create_task(a.api_key, task_body("reg_" + std::to_string(w)));
        accounts.emplace_back(a.account_id, created.status);
      }
      return accounts;
    }));
  }
  std::set<std::string> distinct;
  for (auto& w : workers) {
    for (auto& [account, status] : w.get()) {
      distinct.insert(account);
      BOOST_TEST(status == 201);
    }
  }
  BOOST_TEST(distinct.size() == 48u);
}

BOOST_AUTO_TEST_CASE(closed_registration_is_403_registration_closed) {
  TestServer server(ServerOptions{}.with("registration", "closed"));
  Client c = server.client();
  BATON_CHECK_ERROR(c.request("POST", "/v1/keys/register"), "registration_closed");
  BATON_CHECK_ERROR(c.request("POST", "/v1/keys/register", R"({"label":"x"})"), "registration_closed");
}

BOOST_AUTO_TEST_CASE(admin_registration_needs_the_admin_key) {
  const std::string admin = "admin_" + std::string(40, 'a');
  TestServer server(ServerOptions{}.with("registration", "admin").with("admin_key", "\"" + admin + "\""));
  Client c = server.client();
  BATON_CHECK_ERROR(c.request("POST", "/v1/keys/register"), "registration_closed");
  BATON_CHECK_ERROR(c.request("POST", "/v1/keys/register", "", {{"Authorization", "Bearer wrong"}}),
                    "registration_closed");

  Account a = c.register_account({{"Authorization", "Bearer " + admin}});
  BOOST_TEST(a.api_key.rfind("orch_live_", 0) == 0u);
  BATON_REQUIRE_STATUS(c.list_tasks(a.api_key), 200);
  // An account's own key is not the admin key either.
  BATON_CHECK_ERROR(c.request("POST", "/v1/keys/register", "", {{"Authorization", "Bearer " + a.api_key}}),
                    "registration_closed");
}

BOOST_AUTO_TEST_SUITE_END()
