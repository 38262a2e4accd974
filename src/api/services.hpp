#pragma once
// What an operation's function may use: the engine, the account store, the config and
// the operation table itself (for the discovery documents). Owned by Api; shared by every
// shard thread, and read-only after start except where a member says otherwise.
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/auth.hpp"
#include "api/operation.hpp"
#include "api/plan_source.hpp"
#include "api/rate_meter.hpp"
#include "api/request_metrics.hpp"
#include "api/storage_worker.hpp"
#include "api/stream_access.hpp"
#include "config/config.hpp"
#include "core/limits.hpp"
#include "core/rate_window.hpp"
#include "core/time.hpp"
#include "engine/account_store.hpp"
#include "engine/task_engine.hpp"
#include "http/message.hpp"

namespace baton::api {

struct Services {
  Services(TaskEngine& e, AccountStore& a, const Config& c)
      : engine(e),
        accounts(a),
        config(c),
        limits(c.task_limits()),
        plans(limits_in_force(c)),
        started_at(wall_now_ms()) {}

  TaskEngine& engine;
  AccountStore& accounts;
  const Config& config;
  TaskLimits limits;
  PlanSource plans;  // replaced on SIGHUP
  RateMeter rates;
  Millis started_at;
  StorageWorker storage{"baton-keys"};  // synced account and key writes, off the shard threads
  // Snapshots (seconds each), on a thread of their own so that registrations and key
  // writes do not wait behind one; two snapshots run one after the other.
  StorageWorker backups{"baton-backup"};
  std::vector<Operation> operations;  // the table (operations.cpp), fixed after start
  // Where /health reads the connection counters (the listeners are made after the Api).
  std::function<http::ConnectionStats()> connection_stats;
  // server.max_connections as in force (serve may lower it to fit the open-file limit).
  int max_connections = 0;
  LogSink warn = [](std::string_view, std::string_view) {};
  StreamTokens stream_tokens;  // browsers' tokens for live log streams
  StreamSlots stream_slots;    // open live log streams
  // Requests by route and status, and their durations (/metrics); made with the table.
  std::unique_ptr<RequestMetrics> request_metrics;
  // Webhook calls per schedule this minute (schedules.webhook_per_minute).
  std::mutex webhook_mutex;
  std::unordered_map<std::string, WindowCounter> webhook_calls;
};

// What a schedule's firing creates, by the create's own rules (schedules.cpp); the Api
// sets it on the engine.
TaskTemplate task_template(Services& services);

// An operation's answer as HTTP: status, body, Retry-After and its other headers.
http::Response to_response(Result result);

// Validates the call's input against its operation's fields, then runs the operation:
// the one step HTTP and MCP share. Storage faults become 503, anything else thrown 500,
// each logged.
boost::asio::awaitable<Result> run_operation(Services& services, Call& call);

// An error answer: the catalog's status, an error body with its agent_contract, and the
// Retry-After a retryable error knows. `message` empty: the code's name.
Result error_result(const Call& call, ErrorCode code, std::string message,
                    const std::string& task_id = {}, int retry_after_seconds = 0);
Result error_result(std::string_view request_id, ErrorCode code, std::string message,
                    const std::string& task_id = {}, int retry_after_seconds = 0);
Result json_result(int status, std::string body);

// The account of a request's `Authorization: Bearer <key>`, or the answer that refuses it
// (401 with WWW-Authenticate, or 503 when storage cannot be read): the one check /v1 and
// /mcp share.
std::variant<Principal, Result> authenticate_request(Services& services, std::string_view request_id,
                                                     std::string_view authorization);
// Makes the call the principal's: its account, and its plan as in force now.
void bind_principal(const Services& services, Call& call, const Principal& principal);
// nullopt when the request carries the admin key; else the 403 `forbidden` that refuses an
// admin operation, whatever else the header holds (an API key is not enough).
std::optional<Result> refuse_non_admin(const Services& services, std::string_view request_id,
                                       std::string_view authorization);

}  // namespace baton::api
