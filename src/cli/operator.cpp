#include "cli/operator.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/http_post.hpp"

namespace baton {

namespace json = boost::json;

namespace {

std::string body_of(json::object fields) { return json::serialize(fields); }

}  // namespace

int keys_create(const ServerAccess& server, const std::string& account, const std::string& label,
                const std::string& plan) {
  json::object body;
  if (!label.empty()) body["label"] = label;
  std::optional<json::object> answer;
  if (account.empty()) {
    if (!plan.empty()) body["plan"] = plan;
    answer = answer_of(server.url, server.admin_key, "POST", "/v1/admin/accounts", body_of(body), 201, "keys create");
  } else {
    answer = answer_of(server.url, server.admin_key, "POST", "/v1/admin/accounts/" + account + "/keys", body_of(body), 201,
                  "keys create");
  }
  if (!answer) return 1;
  // The secret goes to stdout alone on its first line, for scripts; the rest after it.
  std::printf("%s\naccount %s key %s%s%s\n", text_of(*answer, "apiKey").c_str(),
              text_of(*answer, "accountId").c_str(), text_of(*answer, "keyId").c_str(),
              answer->contains("plan") ? " plan " : "", text_of(*answer, "plan").c_str());
  return 0;
}

int keys_list(const ServerAccess& server, const std::string& account) {
  auto answer = answer_of(server.url, server.admin_key, "GET", "/v1/admin/accounts/" + account + "/keys", "", 200, "keys list");
  if (!answer) return 1;
  const json::value* keys = answer->if_contains("keys");
  if (!keys || !keys->is_array()) return 1;
  for (const json::value& key : keys->get_array()) {
    if (!key.is_object()) continue;
    const json::object& fields = key.get_object();
    std::printf("%s  %s  %s\n", text_of(fields, "keyId").c_str(),
                text_of(fields, "createdAt").c_str(), text_of(fields, "label").c_str());
  }
  return 0;
}

int keys_revoke(const ServerAccess& server, const std::string& account, const std::string& key_id) {
  auto answer = answer_of(server.url, server.admin_key, "DELETE", "/v1/admin/accounts/" + account + "/keys/" + key_id, "",
                     200, "keys revoke");
  if (!answer) return 1;
  std::printf("revoked %s\n", key_id.c_str());
  return 0;
}

int accounts_set_plan(const ServerAccess& server, const std::string& account,
                      const std::string& plan) {
  auto answer = answer_of(server.url, server.admin_key, "PUT", "/v1/admin/accounts/" + account + "/plan",
                     body_of(json::object{{"plan", plan}}), 200, "accounts set-plan");
  if (!answer) return 1;
  std::printf("account %s plan %s\n", account.c_str(), plan.c_str());
  return 0;
}

}  // namespace baton
