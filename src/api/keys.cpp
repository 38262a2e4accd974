// Accounts and API keys (spec section 2): register, list, create, revoke.
#include <openssl/crypto.h>

#include <random>

#include "api/api.hpp"
#include "api/auth.hpp"
#include "core/ulid.hpp"
#include "api/body.hpp"
#include "api/render.hpp"
#include "core/sha256.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::size_t kMaxLabelChars = 200;

std::string new_id(std::string_view prefix) {
  static thread_local UlidGenerator ids(std::random_device{}());
  return std::string(prefix) + encode_ulid(ids.next(wall_now_ms()));
}

void append_key(std::string& out, const ApiKey& key) {
  out.append("{\"keyId\":");
  append_json_string(out, key.id);
  out.append(",\"label\":");
  append_json_string(out, key.label);
  out.append(",\"createdAt\":\"");
  out.append(format_rfc3339(key.created_at));
  out.append("\"}");
}

bool admin_key_matches(const std::string& authorization, const std::string& admin_key) {
  std::string expected = "Bearer " + admin_key;
  return !admin_key.empty() && authorization.size() == expected.size() &&
         CRYPTO_memcmp(authorization.data(), expected.data(), expected.size()) == 0;
}

}  // namespace

asio::awaitable<http::Response> Api::register_account(http::Request& request) {
  if (config_.registration == Registration::closed ||
      (config_.registration == Registration::admin &&
       !admin_key_matches(request.authorization, config_.admin_key))) {
    co_return error(request, ErrorCode::registration_closed,
                    config_.registration == Registration::closed
                        ? "Registration is closed on this server; ask its operator for a key."
                        : "Registration needs the admin key: 'Authorization: Bearer <admin_key>'.");
  }
  json::object body;
  if (BodyError problem = parse_body(request, limits_, body); problem.code != ErrorCode::none) {
    co_return error(request, problem.code, problem.message);
  }
  Fields fields(body);
  auto label = fields.string("label");
  if (fields.ok() && label && utf8_length(*label) > kMaxLabelChars) {
    fields.fail("label must be at most 200 characters.");
  }
  if (!fields.ok()) co_return error(request, ErrorCode::invalid_request, fields.error());

  Millis now = wall_now_ms();
  Account account{new_id("acct_"), label.value_or(""), "free", now};
  std::string secret = random_hex_token("orch_live_", 32);
  ApiKey key{new_id("key_"), account.id, label.value_or(""), sha256_bytes(secret), now};
  std::string failed =
      co_await storage_.run([this, &account, &key] { return accounts_.put_key(&account, key); });
  if (!failed.empty()) {
    co_return error(request, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  std::string out = "{\"apiKey\":";
  append_json_string(out, secret);
  out.append(",\"accountId\":");
  append_json_string(out, account.id);
  out.append(",\"keyId\":");
  append_json_string(out, key.id);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  http::Response response;
  response.status = 201;
  response.body = std::move(out);
  co_return response;
}

http::Response Api::list_keys(Call& call) {
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const auto& key : accounts_.list_keys(call.account)) {
    if (!first) out.push_back(',');
    first = false;
    append_key(out, key);
  }
  out.append("],\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  http::Response response;
  response.body = std::move(out);
  return response;
}

asio::awaitable<http::Response> Api::create_key(Call& call) {
  json::object body;
  if (auto problem = read_body(call, body)) co_return *problem;
  Fields fields(body);
  auto label = fields.string("label");
  if (fields.ok() && label && utf8_length(*label) > kMaxLabelChars) {
    fields.fail("label must be at most 200 characters.");
  }
  if (!fields.ok()) co_return error(call.request, ErrorCode::invalid_request, fields.error());
  std::string secret = random_hex_token("orch_live_", 32);
  ApiKey key{new_id("key_"), call.account, label.value_or(""),
                      sha256_bytes(secret), wall_now_ms()};
  std::string failed =
      co_await storage_.run([this, &key] { return accounts_.put_key(nullptr, key); });
  if (!failed.empty()) {
    co_return error(call.request, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  std::string out = "{\"apiKey\":";
  append_json_string(out, secret);
  out.append(",\"accountId\":");
  append_json_string(out, call.account);
  out.append(",\"key\":");
  append_key(out, key);
  out.append(",\"keyId\":");
  append_json_string(out, key.id);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  http::Response response;
  response.status = 201;
  response.body = std::move(out);
  co_return response;
}

asio::awaitable<http::Response> Api::revoke_key(Call& call, const std::string& key_id) {
  std::string failed;
  bool found = false;
  co_await storage_.run([this, &call, &key_id, &failed, &found] {
    found = accounts_.revoke_key(call.account, key_id, &failed);
    return std::string();
  });
  if (!found) {
    co_return error(call.request, ErrorCode::not_found, "No key with this id in your account.");
  }
  invalidate_key_caches();
  if (!failed.empty()) {
    co_return error(call.request, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  std::string out = "{\"revoked\":true,\"keyId\":";
  append_json_string(out, key_id);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  http::Response response;
  response.body = std::move(out);
  co_return response;
}

}  // namespace baton::api
