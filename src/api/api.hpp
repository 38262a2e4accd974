#pragma once
// Baton's HTTP API: routes a request, authenticates it, turns its body into a typed
// command for the TaskEngine, and renders the answer with its agent_contract. One file
// per resource: api.cpp (routing, auth, errors), tasks.cpp, keys.cpp, health.cpp.
#include <boost/json/object.hpp>

#include <string>

#include "config/config.hpp"
#include "core/contract.hpp"
#include "core/errors.hpp"
#include "engine/account_store.hpp"
#include "engine/task_engine.hpp"
#include "api/storage_worker.hpp"
#include "http/message.hpp"

namespace baton::api {

// One authenticated request on its way through a handler.
struct Call {
  http::Request& request;
  http::Connection& connection;
  std::string account;
  std::string key_id;
  std::string task_id;      // from the path, when the route has one
  std::string path;         // without the query
  std::string query;        // raw query string, without '?'
};

class Api final : public http::Handler {
 public:
  Api(TaskEngine& engine, AccountStore& accounts, const Config& config);

  boost::asio::awaitable<http::Response> handle(http::Request& request,
                                                http::Connection& connection) override;
  http::Response reject(int status, const std::string& code, const std::string& message,
                        const std::string& request_id) override;
  // Where /health reads the connection counters (the listeners are made after the Api).
  void set_connection_stats(std::function<http::ConnectionStats()> source) {
    connection_stats_ = std::move(source);
  }

 private:
  // tasks.cpp
  boost::asio::awaitable<http::Response> create_task(Call& call);
  boost::asio::awaitable<http::Response> claim_next(Call& call);
  boost::asio::awaitable<http::Response> task_command(Call& call, const std::string& action);
  boost::asio::awaitable<http::Response> get_task(Call& call);
  boost::asio::awaitable<http::Response> list_tasks(Call& call);
  // keys.cpp
  boost::asio::awaitable<http::Response> register_account(http::Request& request);
  http::Response list_keys(Call& call);
  boost::asio::awaitable<http::Response> create_key(Call& call);
  boost::asio::awaitable<http::Response> revoke_key(Call& call, const std::string& key_id);
  // health.cpp
  http::Response health(http::Request& request);

  // api.cpp
  http::Response error(const http::Request& request, ErrorCode code, std::string message,
                       const std::string& task_id = {}, int retry_after_seconds = 0);
  http::Response from_outcome(Call& call, const Outcome& outcome, int success_status,
                              ContractSite site, bool with_lease_token);
  // Parses the body into `out`; on failure returns the error answer.
  std::optional<http::Response> read_body(Call& call, boost::json::object& out);
  std::optional<IdempotencyRequest> idempotency_for(Call& call, const boost::json::object& body,
                                                    int success_status, ContractSite site,
                                                    bool with_lease_token,
                                                    std::optional<http::Response>& problem);

  TaskEngine& engine_;
  AccountStore& accounts_;
  const Config& config_;
  TaskLimits limits_;
  Millis started_at_;
  std::function<http::ConnectionStats()> connection_stats_;
  StorageWorker storage_;  // synced account and key writes, off the shard threads
};

}  // namespace baton::api
