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

constexpr std::chrono::seconds kConnectTimeout{10};

std::string text_of(const json::object& fields, std::string_view name) {
  const json::value* value = fields.if_contains(name);
  if (!value) return "";
  return value->is_string() ? std::string(value->get_string()) : json::serialize(*value);
}

// The answer's fields when it has the status wanted; else nullopt, having said why.
std::optional<json::object> call(const ServerAccess& server, std::string_view method,
                                 const std::string& path, const std::string& body,
                                 int wanted, const char* what) {
  PostResult called = call_json(method, server.url, path, server.admin_key, body, kConnectTimeout);
  if (!called.reply) {
    std::fprintf(stderr, "baton: %s failed: %s\n", what, called.failure.c_str());
    return std::nullopt;
  }
  boost::system::error_code error;
  json::value answer = json::parse(called.reply->body, error);
  if (error || !answer.is_object()) {
    std::fprintf(stderr, "baton: %s failed: HTTP %d with a body that is not JSON: %.200s\n", what,
                 called.reply->status, called.reply->body.c_str());
    return std::nullopt;
  }
  json::object& fields = answer.get_object();
  if (called.reply->status != wanted) {
    std::fprintf(stderr, "baton: %s refused (HTTP %d %s): %s\n", what, called.reply->status,
                 text_of(fields, "error").c_str(), text_of(fields, "message").c_str());
    return std::nullopt;
  }
  return std::move(fields);
}

std::string body_of(json::object fields) { return json::serialize(fields); }

}  // namespace

int keys_create(const ServerAccess& server, const std::string& account, const std::string& label,
                const std::string& plan) {
  json::object body;
  if (!label.empty()) body["label"] = label;
  std::optional<json::object> answer;
  if (account.empty()) {
    if (!plan.empty()) body["plan"] = plan;
    answer = call(server, "POST", "/v1/admin/accounts", body_of(body), 201, "keys create");
  } else {
    answer = call(server, "POST", "/v1/admin/accounts/" + account + "/keys", body_of(body), 201,
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
  auto answer = call(server, "GET", "/v1/admin/accounts/" + account + "/keys", "", 200, "keys list");
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
  auto answer = call(server, "DELETE", "/v1/admin/accounts/" + account + "/keys/" + key_id, "",
                     200, "keys revoke");
  if (!answer) return 1;
  std::printf("revoked %s\n", key_id.c_str());
  return 0;
}

int accounts_set_plan(const ServerAccess& server, const std::string& account,
                      const std::string& plan) {
  auto answer = call(server, "PUT", "/v1/admin/accounts/" + account + "/plan",
                     body_of(json::object{{"plan", plan}}), 200, "accounts set-plan");
  if (!answer) return 1;
  std::printf("account %s plan %s\n", account.c_str(), plan.c_str());
  return 0;
}

}  // namespace baton
