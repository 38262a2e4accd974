// Accounts and API keys (spec section 2): register, list, create, revoke; and the same
// for the operator, with the admin key, on any account (`baton keys`).
#include <random>

#include "api/auth.hpp"
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "core/sha256.hpp"
#include "core/ulid.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

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

Result key_answer(int status, std::string body) { return json_result(status, std::move(body)); }

}  // namespace

asio::awaitable<Result> register_account(Services& services, Call& call) {
  const Config& config = services.config;
  if (config.registration == Registration::closed ||
      (config.registration == Registration::admin &&
       !is_admin_key(call.authorization, config.admin_key))) {
    co_return error_result(call, ErrorCode::registration_closed,
                           config.registration == Registration::closed
                               ? "Registration is closed on this server; ask its operator for a key."
                               : "Registration needs the admin key: 'Authorization: Bearer <admin_key>'.");
  }
  Millis now = wall_now_ms();
  std::int64_t per_address = services.plans.current().registrations_per_hour_per_address;
  RateCheck rate = services.rates.take_registration(call.connection.peer_address(), per_address, now);
  if (!rate.allowed) {
    co_return error_result(call, ErrorCode::rate_limited,
                           "This address has registered " + std::to_string(rate.limit) +
                               " accounts this hour, the server's bound; wait " +
                               std::to_string(rate.retry_after_seconds) + " s.",
                           {}, rate.retry_after_seconds);
  }
  co_return co_await open_account(services, call, call.input.string("label").value_or(""), "");
}

asio::awaitable<Result> open_account(Services& services, Call& call, std::string label,
                                     std::string plan) {
  Millis now = wall_now_ms();
  Account account{new_id("acct_"), label, plan, now};  // "": the default plan
  std::string secret = random_hex_token(kApiKeyPrefix, 32);
  ApiKey key{new_id("key_"), account.id, label, sha256_bytes(secret), now};
  // A named std::function, not a lambda converted in the call (see tasks.cpp).
  std::function<StorageStatus()> write = [&services, &account, &key] {
    return services.accounts.put_key(&account, key);
  };
  StorageStatus written = co_await services.storage.run(std::move(write));
  if (!written.ok()) {
    co_return error_result(call, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  std::string out = "{\"apiKey\":";
  append_json_string(out, secret);
  out.append(",\"accountId\":");
  append_json_string(out, account.id);
  out.append(",\"keyId\":");
  append_json_string(out, key.id);
  out.append(",\"plan\":");
  append_json_string(out, services.plans.current().plans.of_account(plan).name);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  co_return key_answer(201, std::move(out));
}

asio::awaitable<Result> list_keys(Services& services, Call& call) {
  std::string out = "{\"keys\":[";
  bool first = true;
  for (const auto& key : services.accounts.list_keys(call.account)) {
    if (!first) out.push_back(',');
    first = false;
    append_key(out, key);
  }
  out.append("],\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  co_return key_answer(200, std::move(out));
}

asio::awaitable<Result> create_key(Services& services, Call& call) {
  std::string secret = random_hex_token(kApiKeyPrefix, 32);
  ApiKey key{new_id("key_"), call.account, call.input.string("label").value_or(""),
             sha256_bytes(secret), wall_now_ms()};
  std::function<StorageStatus()> write = [&services, &key] {
    return services.accounts.put_key(nullptr, key);
  };
  StorageStatus written = co_await services.storage.run(std::move(write));
  if (!written.ok()) {
    co_return error_result(call, ErrorCode::unavailable, "Storage is unavailable; retry later.");
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
  co_return key_answer(201, std::move(out));
}

asio::awaitable<Result> revoke_key(Services& services, Call& call) {
  std::string key_id = call.input.string("key_id", "keyId").value_or("");
  bool found = false;
  std::function<StorageStatus()> revoke = [&services, &call, &key_id, &found] {
    return services.accounts.revoke_key(call.account, key_id, found);
  };
  StorageStatus revoked = co_await services.storage.run(std::move(revoke));
  if (revoked.ok() && !found) {
    co_return error_result(call, ErrorCode::not_found, "No key with this id in your account.");
  }
  invalidate_key_caches();
  if (!revoked.ok()) {
    co_return error_result(call, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  std::string out = "{\"revoked\":true,\"keyId\":";
  append_json_string(out, key_id);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  co_return key_answer(200, std::move(out));
}

asio::awaitable<Result> create_account(Services& services, Call& call) {
  std::string plan = call.input.string("plan").value_or("");
  if (!plan.empty() && !services.plans.current().plans.find(plan)) {
    co_return error_result(call, ErrorCode::invalid_request,
                           "plan: no plan is called " + printable(plan) + "; the plans are " +
                               services.plans.current().plans.names() + ".");
  }
  co_return co_await open_account(services, call, call.input.string("label").value_or(""),
                                  std::move(plan));
}

namespace {

// The admin's key operations act for the account named in the path, as the account's own
// do for the key's: nullopt when it exists, else the 404.
std::optional<Result> act_for_path_account(Services& services, Call& call) {
  call.account = call.input.string("account_id", "accountId").value_or("");
  if (services.accounts.find_account(call.account)) return std::nullopt;
  return error_result(call, ErrorCode::not_found, "No account with this id.");
}

}  // namespace

asio::awaitable<Result> admin_list_keys(Services& services, Call& call) {
  if (auto missing = act_for_path_account(services, call)) co_return std::move(*missing);
  co_return co_await list_keys(services, call);
}

asio::awaitable<Result> admin_create_key(Services& services, Call& call) {
  if (auto missing = act_for_path_account(services, call)) co_return std::move(*missing);
  co_return co_await create_key(services, call);
}

asio::awaitable<Result> admin_revoke_key(Services& services, Call& call) {
  if (auto missing = act_for_path_account(services, call)) co_return std::move(*missing);
  co_return co_await revoke_key(services, call);
}

}  // namespace baton::api
