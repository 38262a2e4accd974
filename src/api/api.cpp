#include "api/api.hpp"

#include <chrono>

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "api/auth.hpp"
#include "api/body.hpp"
#include "api/handlers.hpp"
#include "api/input.hpp"
#include "api/mcp.hpp"
#include "api/metrics.hpp"
#include "api/operations.hpp"
#include "api/render.hpp"
#include "api/router.hpp"
#include "api/services.hpp"
#include "core/failures.hpp"

namespace baton::api {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Whether decoded query text holds a key: a parameter of that name, or a name or a value
// that is a key once leading blanks are dropped.
bool looks_like_key(std::string_view text) {
  std::size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && text.substr(start).starts_with(kApiKeyPrefix);
}

// A key in the URL ends up in logs and proxies: refuse it before looking at it.
bool query_carries_key(std::string_view query) {
  if (query.empty()) return false;
  auto params = boost::urls::parse_query(query);
  if (!params) return query.find(kApiKeyPrefix) != std::string_view::npos;
  for (auto param : boost::urls::params_view(*params)) {
    const std::string& k = param.key;
    if (k == "api_key" || k == "apiKey" || k == "key" || k == "token" || k == "access_token") {
      return true;
    }
    if (looks_like_key(k) || (param.has_value && looks_like_key(param.value))) return true;
  }
  return false;
}

// The value of the query's `stream_token`, or "".
std::string stream_token_in(std::string_view query) {
  auto params = boost::urls::parse_query(query);
  if (!params) return {};
  for (auto param : boost::urls::params_view(*params)) {
    if (param.key == "stream_token") return param.value;
  }
  return {};
}

bool query_names_token(std::string_view query) {
  return !query.empty() && !stream_token_in(query).empty();
}

// A call that came with a stream token (a browser's live stream) instead of a key: the
// account the token was issued to, for the one task it names; else the 401 that refuses it.
std::optional<Result> bind_stream_token(Services& services, Call& call, std::string_view path,
                                        std::string_view query) {
  // /v1/tasks/{id}/logs/stream: the id is the fourth segment.
  constexpr std::string_view kPrefix = "/v1/tasks/";
  std::string_view rest = path.substr(std::min(path.size(), kPrefix.size()));
  std::string task_id(rest.substr(0, rest.find('/')));
  auto grant = services.stream_tokens.redeem(stream_token_in(query), task_id, wall_now_ms());
  if (!grant) {
    return error_result(call, ErrorCode::invalid_api_key,
                        "stream_token is unknown, expired, or for another task; get a new one "
                        "with POST /v1/tasks/{id}/logs/stream-token.");
  }
  bind_principal(services, call, Principal{grant->account, "", grant->plan});
  return std::nullopt;
}

}  // namespace

http::Response to_response(Result result) {
  http::Response response;
  response.status = result.status;
  response.body = std::move(result.body);
  response.affinity = result.affinity;
  response.headers = std::move(result.headers);
  response.stream = std::move(result.stream);
  response.websocket = result.websocket;
  if (!result.content_type.empty()) response.content_type = std::move(result.content_type);
  if (result.retry_after_seconds > 0) {
    response.headers.emplace_back("Retry-After", std::to_string(result.retry_after_seconds));
  }
  return response;
}

std::variant<Principal, Result> authenticate_request(Services& services, std::string_view request_id,
                                                     std::string_view authorization) {
  auto refuse = [&](ErrorCode code, std::string message, const char* challenge) {
    Result result = error_result(request_id, code, std::move(message));
    result.headers.emplace_back("WWW-Authenticate", challenge);  // RFC 9110 §11.6.1
    return result;
  };
  if (authorization.empty()) {
    return refuse(ErrorCode::missing_api_key,
                  "Send 'Authorization: Bearer <api key>' (POST /v1/keys/register gives one).",
                  "Bearer");
  }
  auto secret = bearer_token(authorization);
  if (!secret) {
    return refuse(ErrorCode::invalid_api_key, "The Authorization header must be 'Bearer <api key>'.",
                  "Bearer");
  }
  std::optional<Principal> principal;
  try {
    principal = authenticate(services.accounts, *secret);
  } catch (const StorageError& failure) {
    note_failure(Failure::storage_answer, "authentication", failure.what());
    return error_result(request_id, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  }
  if (!principal) {
    return refuse(ErrorCode::invalid_api_key, "The API key is not valid.",
                  "Bearer error=\"invalid_token\"");
  }
  return std::move(*principal);
}

std::optional<Result> refuse_non_admin(const Services& services, std::string_view request_id,
                                       std::string_view authorization) {
  const std::string& admin_key = services.config.admin_key;
  if (admin_key.empty()) {
    return error_result(request_id, ErrorCode::forbidden,
                        "This server has no admin key, so admin operations are off: set admin_key "
                        "(or BATON_ADMIN_KEY) in its configuration and restart it.");
  }
  if (is_admin_key(authorization, admin_key)) return std::nullopt;
  return error_result(request_id, ErrorCode::forbidden,
                      authorization.empty()
                          ? "Send 'Authorization: Bearer <admin_key>' with the server's admin key."
                          : "Only the server's admin key may do this; the key sent is not it.");
}

Result json_result(int status, std::string body) {
  Result result;
  result.status = status;
  result.body = std::move(body);
  return result;
}

Result error_result(std::string_view request_id, ErrorCode code, std::string message,
                    const std::string& task_id, int retry_after_seconds) {
  const ErrorInfo& info = error_info(code);
  Result result;
  result.status = info.http_status;
  result.error = code;
  if (message.empty()) message = std::string(info.name);
  int retry = retry_after_seconds > 0 ? retry_after_seconds : info.retry_after_seconds;
  result.body = error_body(code, message, request_id, task_id, retry);
  if (info.http_status == 503 || info.http_status == 429 || (info.retryable && retry > 0)) {
    result.retry_after_seconds = std::max(1, retry);
  }
  return result;
}

Result error_result(const Call& call, ErrorCode code, std::string message,
                    const std::string& task_id, int retry_after_seconds) {
  return error_result(call.request_id, code, std::move(message), task_id, retry_after_seconds);
}

void bind_principal(const Services& services, Call& call, const Principal& principal) {
  call.account = principal.account;
  call.plan = services.plans.current().plans.of_account(principal.plan);
  // A plan's budget past what a sum can hold is no bound at all: capped, it never overflows.
  call.cost_budget_usd_nanos =
      principal.cost_budget_usd_nanos >= 0
          ? principal.cost_budget_usd_nanos
          : std::min<std::int64_t>(call.plan.cost_budget_usd, kMaxCostFigure / kNanosPerUsd) *
                kNanosPerUsd;
}

namespace {

// How many of its class's hourly allowance a call takes: a batch create, one per task.
std::int64_t rate_units(const Call& call) {
  if (call.operation.rate != RateClass::create) return 1;
  const json::value* tasks = call.input.find("tasks");
  if (!tasks || !tasks->is_array() || tasks->get_array().empty()) return 1;
  return static_cast<std::int64_t>(tasks->get_array().size());
}

void add_rate_headers(Result& result, const RateCheck& check) {
  if (check.limit <= 0) return;
  result.headers.emplace_back("X-RateLimit-Limit", std::to_string(check.limit));
  result.headers.emplace_back("X-RateLimit-Remaining", std::to_string(check.remaining));
  result.headers.emplace_back("X-RateLimit-Reset", std::to_string(check.reset_at));
}

// A claim refused at the plan's worker limit: seed 000's contract, with the numbers.
Result workers_refusal(Services& services, const Call& call, const Result& refused) {
  Contract contract = contract_for_error(ErrorCode::max_workers_reached);
  std::int64_t in_use = services.engine.leases_in_use(call.account);
  contract.billing_context = BillingContext{call.plan.name, in_use, call.plan.workers};
  Result result = refused;
  result.body = error_body(
      "max_workers_reached",
      "Your plan (" + call.plan.name + ") allows " + std::to_string(call.plan.workers) +
          " live leases at once and " + std::to_string(in_use) +
          " are held: complete or fail one, or wait for one to expire, then claim again.",
      call.request_id, contract);
  return result;
}

// A create past the plan's monthly quota.
Result quota_refusal(const Call& call, const Result& refused) {
  Result result = refused;
  result.body = error_body(
      ErrorCode::quota_exceeded,
      "Your plan (" + call.plan.name + ") allows " + std::to_string(call.plan.tasks_per_month) +
          " tasks per calendar month (UTC) and they are created: ask the operator for a larger "
          "plan (GET /v1/billing/plans lists them), or wait for the next month.",
      call.request_id);
  return result;
}

}  // namespace

asio::awaitable<Result> run_operation(Services& services, Call& call) {
  // Counted before validation: a flood of bad requests is throttled like any other.
  RateCheck rate;
  if (call.operation.auth == Auth::api_key) {
    RateClass rate_class = call.operation.rate;
    std::int64_t units = rate_units(call);
    Millis now = wall_now_ms();
    rate = services.rates.take(call.account, rate_class, call.plan.hourly(rate_class), now, units);
    // complete and fail with claim_next claim too: one claim more.
    if (rate.allowed && call.input.find("claim_next")) {
      RateCheck claim = services.rates.take(call.account, RateClass::claim,
                                            call.plan.hourly(RateClass::claim), now);
      if (!claim.allowed) {
        services.rates.give_back(call.account, rate_class, now, units);
        rate = claim;
        rate_class = RateClass::claim;
      }
    }
    if (!rate.allowed) {
      std::string message =
          units > rate.limit
              ? "This batch has " + std::to_string(units) + " tasks and your plan (" +
                    call.plan.name + ") allows " + std::to_string(rate.limit) +
                    " creates per hour: split it."
              : "Your plan (" + call.plan.name + ") allows " + std::to_string(rate.limit) + " " +
                    std::string(to_string(rate_class)) + " requests per hour; wait " +
                    std::to_string(rate.retry_after_seconds) + " s for the next hour.";
      Result refused = error_result(call, ErrorCode::rate_limited, std::move(message), {},
                                    rate.retry_after_seconds);
      add_rate_headers(refused, rate);
      co_return refused;
    }
  }
  if (std::string problem = validate_input(call.operation, call.input.values()); !problem.empty()) {
    Result refused = error_result(call, ErrorCode::invalid_request, std::move(problem));
    add_rate_headers(refused, rate);
    co_return refused;
  }
  Run run = call.operation.run;
  Result result;
  try {
    result = co_await run(services, call);
  } catch (const StorageError& failure) {
    note_failure(Failure::storage_answer, call.operation.id, failure.what());
    result = error_result(call, ErrorCode::unavailable, "Storage is unavailable; retry later.");
  } catch (const NotImplemented& missing) {
    result = error_result(call, ErrorCode::not_implemented, missing.what());
  } catch (const std::exception& failure) {
    note_failure(Failure::handler_exception, call.operation.id, failure.what());
    result = error_result(call, ErrorCode::server_error, "Internal error; retry later.");
  }
  if (result.error == ErrorCode::max_workers_reached) result = workers_refusal(services, call, result);
  if (result.error == ErrorCode::quota_exceeded) result = quota_refusal(call, result);
  add_rate_headers(result, rate);
  co_return result;
}

Api::Api(TaskEngine& engine, AccountStore& accounts, const Config& config, LogSink warn)
    : services_(std::make_unique<Services>(engine, accounts, config)) {
  services_->max_connections = config.server.max_connections;
  if (warn) services_->warn = std::move(warn);
  services_->operations = operation_table(services_->limits);
  services_->request_metrics = std::make_unique<RequestMetrics>(services_->operations);
  engine.set_task_template(task_template(*services_), config.schedules.runs_kept);
  // Another node's revocation or plan change reaches this one's caches of keys too.
  accounts.watch_changes(invalidate_key_caches);
  router_ = std::make_unique<Router>(services_->operations);
  mcp_ = std::make_unique<McpEndpoint>(*services_);
}

Api::~Api() = default;

std::unique_ptr<http::Handler> Api::metrics_port() { return std::make_unique<MetricsPort>(*services_); }

void Api::set_connection_stats(std::function<http::ConnectionStats()> source) {
  services_->connection_stats = std::move(source);
}

void Api::set_max_connections(int in_force) { services_->max_connections = in_force; }

Millis Api::retention_ms(const std::string& account) {
  std::optional<Account> found = services_->accounts.find_account(account);
  if (!found) return 0;
  return services_->plans.current().plans.of_account(found->plan).retention_ms();
}

bool Api::reload_limits(const Config& config) {
  LimitsInForce next = limits_in_force(config);
  const LimitsInForce& now = services_->plans.current();
  if (next.plans == now.plans &&
      next.registrations_per_hour_per_address == now.registrations_per_hour_per_address) {
    return false;
  }
  services_->plans.replace(std::move(next));
  // Accounts' plans are cached with their keys; a plan's limits are read at each request.
  invalidate_key_caches();
  return true;
}

const std::vector<Operation>& Api::operations() const { return services_->operations; }

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
  services_->request_metrics->record(services_->request_metrics->unmatched_route(), status, 0);
  return response;
}

namespace {

struct Target {
  std::string_view path;
  std::string_view query;  // without '?'
};

Target split_target(std::string_view target) {
  std::size_t question = target.find('?');
  return {target.substr(0, question),
          question == std::string_view::npos ? std::string_view() : target.substr(question + 1)};
}

}  // namespace

std::optional<http::Response> Api::refuse_target(const http::Request& request, std::string_view path,
                                                 std::string_view query, RouteMatch& route) const {
  if ((path.starts_with("/v1/") || path == McpEndpoint::kPath) && query_carries_key(query)) {
    return to_response(error_result(
        request.request_id, ErrorCode::invalid_request,
        "API keys are never accepted in the URL; send 'Authorization: Bearer <key>'."));
  }
  if (path == McpEndpoint::kPath) return std::nullopt;  // McpEndpoint decides its methods
  route = router_->match(request.method, path);
  if (route.operation) return std::nullopt;
  if (route.path_known) {
    http::Response response = to_response(
        error_result(request.request_id, ErrorCode::method_not_allowed,
                     "Method " + printable(request.method) + " is not allowed on " +
                         printable(path) + "; it takes " + route.allowed + "."));
    response.headers.emplace_back("Allow", route.allowed);
    return response;
  }
  return to_response(error_result(request.request_id, ErrorCode::not_found,
                                  "No such endpoint: " + printable(request.method) + " " +
                                      printable(path)));
}

std::optional<http::Response> Api::screen(const http::Request& head) {
  auto [path, query] = split_target(head.target);
  RouteMatch route;
  if (auto refusal = refuse_target(head, path, query, route)) {
    services_->request_metrics->record(route.operation ? services_->request_metrics->route_of(*route.operation)
                                                       : services_->request_metrics->unmatched_route(),
                                       refusal->status, 0);
    return refusal;
  }
  if (path == McpEndpoint::kPath) return mcp_->screen(head);
  return std::nullopt;
}

asio::awaitable<http::Response> Api::handle(http::Request& request, http::Connection& connection) {
  auto began = std::chrono::steady_clock::now();
  bool answered = true;
  int route = services_->request_metrics->unmatched_route();
  http::Response response = co_await answer(request, connection, route, answered);
  if (answered) {
    auto took = std::chrono::steady_clock::now() - began;
    services_->request_metrics->record(
        route, response.status, std::chrono::duration_cast<std::chrono::microseconds>(took).count());
  }
  co_return response;
}

asio::awaitable<http::Response> Api::answer(http::Request& request, http::Connection& connection,
                                            int& metrics_route, bool& answered) {
  auto [path, query] = split_target(request.target);
  RouteMatch route;
  if (auto refusal = refuse_target(request, path, query, route)) {
    if (route.operation) metrics_route = services_->request_metrics->route_of(*route.operation);
    co_return std::move(*refusal);
  }
  if (path == McpEndpoint::kPath) {
    metrics_route = services_->request_metrics->mcp_route();
    co_return co_await mcp_->handle(request, connection);
  }
  const Operation& operation = *route.operation;
  metrics_route = services_->request_metrics->route_of(operation);
  Call call(operation, connection, request.request_id, request.authorization);
  call.http = &request;
  if (operation.stream_token && request.authorization.empty() && query_names_token(query)) {
    std::optional<Result> refusal = bind_stream_token(*services_, call, path, query);
    if (refusal) co_return to_response(std::move(*refusal));
  } else if (operation.auth == Auth::api_key && !request.account.empty()) {
    // The operator acting for one account (the dashboard logged in with the admin key).
    std::optional<Result> refusal =
        refuse_non_admin(*services_, request.request_id, request.authorization);
    if (refusal) co_return to_response(std::move(*refusal));
    std::optional<Account> account = services_->accounts.find_account(request.account);
    if (!account) {
      co_return to_response(error_result(request.request_id, ErrorCode::not_found,
                                         "X-Baton-Account names no account."));
    }
    bind_principal(*services_, call,
                   Principal{account->id, "", account->plan, account->cost_budget_usd_nanos});
  } else if (operation.auth == Auth::api_key) {
    auto checked = authenticate_request(*services_, request.request_id, request.authorization);
    if (auto* refusal = std::get_if<Result>(&checked)) co_return to_response(std::move(*refusal));
    bind_principal(*services_, call, std::get<Principal>(checked));
  } else if (operation.auth == Auth::admin_key) {
    std::optional<Result> refusal =
        refuse_non_admin(*services_, request.request_id, request.authorization);
    if (refusal) co_return to_response(std::move(*refusal));
  }

  json::object values;
  if (operation.has_body()) {
    BodyError problem = parse_body(request, services_->limits, values);
    if (problem.code != ErrorCode::none) {
      co_return to_response(error_result(call, problem.code, std::move(problem.message)));
    }
  } else if (!query_input(operation, query, values)) {
    co_return to_response(error_result(call, ErrorCode::invalid_request, "Malformed query string."));
  }
  for (auto& [name, value] : route.path_fields) values[name] = std::move(value);
  call.input = Input(std::move(values));
  if (request.has_idempotency_key) call.idempotency_header = request.idempotency_key;
  call.method = operation.method;
  call.path = std::string(path);

  Result result = co_await run_operation(*services_, call);
  if (result.client_gone) {
    answered = false;
    co_return http::Response{};
  }
  co_return to_response(std::move(result));
}

}  // namespace baton::api
