#include "api/api.hpp"

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "api/auth.hpp"
#include "api/body.hpp"
#include "api/render.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool is_task_action(std::string_view action) {
  return action == "claim" || action == "heartbeat" || action == "complete" || action == "fail" ||
         action == "cancel" || action == "requeue";
}

// A key in the URL ends up in logs and proxies: refuse it before looking at it.
bool query_carries_key(std::string_view query) {
  if (query.empty()) return false;
  auto params = boost::urls::parse_query(query);
  if (!params) return query.find("orch_live_") != std::string_view::npos;
  for (auto param : boost::urls::params_view(*params)) {
    const std::string& k = param.key;
    if (k == "api_key" || k == "apiKey" || k == "key" || k == "token" || k == "access_token") {
      return true;
    }
    if (param.has_value && param.value.starts_with("orch_live_")) return true;
  }
  return false;
}

}  // namespace

Api::Api(TaskEngine& engine, AccountStore& accounts, const Config& config)
    : engine_(engine), accounts_(accounts), config_(config), limits_(config.task_limits()),
      started_at_(wall_now_ms()) {}

http::Response Api::reject(int status, const std::string& code, const std::string& message,
                           const std::string& request_id) {
  http::Response response;
  response.status = status;
  ErrorCode known = ErrorCode::server_error;
  for (const ErrorInfo& info : error_catalog()) {
    if (info.name == code) known = info.code;
  }
  response.body = error_body(known, message, request_id);
  if (status == 503 || status == 429) {
    response.headers.emplace_back("Retry-After",
                                  std::to_string(std::max(1, error_info(known).retry_after_seconds)));
  }
  return response;
}

http::Response Api::error(const http::Request& request, ErrorCode code, std::string message,
                          const std::string& task_id, int retry_after_seconds) {
  const ErrorInfo& info = error_info(code);
  http::Response response;
  response.status = info.http_status;
  if (message.empty()) message = std::string(info.name);
  int retry = retry_after_seconds > 0 ? retry_after_seconds : info.retry_after_seconds;
  response.body = error_body(code, message, request.request_id, task_id, retry);
  if (info.http_status == 503 || info.http_status == 429 ||
      (info.retryable && retry > 0)) {
    response.headers.emplace_back("Retry-After", std::to_string(std::max(1, retry)));
  }
  return response;
}

std::optional<http::Response> Api::read_body(Call& call, json::object& out) {
  BodyError problem = parse_body(call.request, limits_, out);
  if (problem.code == ErrorCode::none) return std::nullopt;
  return error(call.request, problem.code, problem.message);
}

asio::awaitable<http::Response> Api::handle(http::Request& request, http::Connection& connection) {
  std::string_view target = request.target;
  std::size_t question = target.find('?');
  std::string path(target.substr(0, question));
  std::string query(question == std::string_view::npos ? std::string_view()
                                                       : target.substr(question + 1));
  const std::string& method = request.method;
  try {
    if (path == "/health") {
      if (method != "GET" && method != "HEAD") {
        co_return error(request, ErrorCode::method_not_allowed, "Use GET /health.");
      }
      co_return health(request);
    }
    if (!path.starts_with("/v1/")) {
      co_return error(request, ErrorCode::not_found, "No such endpoint: " + printable(path));
    }
    if (query_carries_key(query)) {
      co_return error(request, ErrorCode::invalid_request,
                      "API keys are never accepted in the URL; send 'Authorization: Bearer "
                      "<key>'.");
    }
    auto parts = split_path(std::string_view(path).substr(3));
    auto allow = [&](std::initializer_list<const char*> methods) {
      for (const char* m : methods) {
        if (method == m) return true;
      }
      return false;
    };
    // Route first (404 / 405 need no key), then authenticate.
    enum class Route { none, register_key, keys, key, tasks, claim, task, task_action };
    Route route = Route::none;
    bool method_ok = false;
    if (parts.size() == 2 && parts[0] == "keys" && parts[1] == "register") {
      route = Route::register_key, method_ok = allow({"POST"});
    } else if (parts.size() == 1 && parts[0] == "keys") {
      route = Route::keys, method_ok = allow({"GET", "POST"});
    } else if (parts.size() == 2 && parts[0] == "keys" && !parts[1].empty()) {
      route = Route::key, method_ok = allow({"DELETE"});
    } else if (parts.size() == 1 && parts[0] == "tasks") {
      route = Route::tasks, method_ok = allow({"GET", "POST"});
    } else if (parts.size() == 2 && parts[0] == "tasks" && parts[1] == "claim") {
      route = Route::claim, method_ok = allow({"POST"});
    } else if (parts.size() == 2 && parts[0] == "tasks" && !parts[1].empty()) {
      route = Route::task, method_ok = allow({"GET"});
    } else if (parts.size() == 3 && parts[0] == "tasks" && !parts[1].empty() &&
               is_task_action(parts[2])) {
      route = Route::task_action, method_ok = allow({"POST"});
    }
    if (route == Route::none) {
      co_return error(request, ErrorCode::not_found, "No such endpoint: " + method + " " + printable(path));
    }
    if (!method_ok) {
      co_return error(request, ErrorCode::method_not_allowed,
                      "Method " + method + " is not allowed on " + printable(path) + ".");
    }
    if (route == Route::register_key) co_return co_await register_account(request);

    // Authentication: Bearer key -> account.
    std::string_view auth = request.authorization;
    if (auth.empty()) {
      co_return error(request, ErrorCode::missing_api_key,
                      "Send 'Authorization: Bearer <api key>'.");
    }
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                                                     [](char a, char b) {
                                                       return std::tolower(a) == std::tolower(b);
                                                     })) {
      co_return error(request, ErrorCode::invalid_api_key,
                      "The Authorization header must be 'Bearer <api key>'.");
    }
    auto principal = authenticate(accounts_, auth.substr(kBearer.size()));
    if (!principal) {
      co_return error(request, ErrorCode::invalid_api_key, "The API key is not valid.");
    }

    Call call{request, connection, principal->account, principal->key_id, {}, path, query};
    if (route == Route::task || route == Route::task_action) call.task_id = std::string(parts[1]);
    switch (route) {
      case Route::keys:
        if (method == "GET") co_return list_keys(call);
        co_return co_await create_key(call);
      case Route::key:
        co_return co_await revoke_key(call, std::string(parts[1]));
      case Route::tasks:
        if (method == "GET") co_return co_await list_tasks(call);
        co_return co_await create_task(call);
      case Route::claim:
        co_return co_await claim_next(call);
      case Route::task:
        co_return co_await get_task(call);
      case Route::task_action:
        co_return co_await task_command(call, std::string(parts[2]));
      default:
        break;
    }
    co_return error(request, ErrorCode::not_found, "No such endpoint.");
  } catch (const StorageError& failure) {
    co_return error(request, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  } catch (const std::exception& failure) {
    co_return error(request, ErrorCode::server_error, "Internal error; retry later.");
  }
}

}  // namespace baton::api
