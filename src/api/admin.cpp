// The operator's operations, with the admin key (ext): POST /v1/admin/backup, and the
// list of accounts (GET /v1/admin/accounts).
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"

namespace baton::api {

namespace asio = boost::asio;

std::string check_absolute_path(std::string_view path) {
  // The server's file system, not the caller's: a relative path would land wherever the
  // server happened to start.
  if (!path.starts_with('/')) return "to must be an absolute path on the server";
  if (path.find('\0') != std::string_view::npos) return "to must not contain a NUL character";
  return "";
}

asio::awaitable<Result> admin_list_accounts(Services& services, Call& call) {
  int limit = static_cast<int>(call.input.integer("limit").value_or(100));
  std::string after = call.input.string("after").value_or("");
  std::vector<Account> accounts = services.accounts.list_accounts(after, limit + 1);
  bool more = static_cast<int>(accounts.size()) > limit;
  if (more) accounts.resize(static_cast<std::size_t>(limit));
  std::string out = "{\"accounts\":[";
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const Account& a = accounts[i];
    if (i) out.push_back(',');
    out.append("{\"accountId\":");
    append_json_string(out, a.id);
    out.append(",\"label\":");
    append_json_string(out, a.label);
    out.append(",\"plan\":");
    append_json_string(out, a.plan.empty() ? services.plans.current().plans.default_plan : a.plan);
    out.append(",\"createdAt\":\"").append(format_rfc3339(a.created_at)).append("\"}");
  }
  out.append("],\"next_after\":");
  if (more && !accounts.empty()) {
    append_json_string(out, accounts.back().id);
  } else {
    out.append("null");
  }
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

asio::awaitable<Result> create_backup(Services& services, Call& call) {
  const std::string target = call.input.string("to").value_or("");
  SnapshotOutcome outcome;
  // A named std::function, not a lambda converted in the call (see tasks.cpp).
  std::function<void()> take = [&services, &target, &outcome] {
    outcome = services.engine.snapshot(target);
  };
  co_await services.backups.run(std::move(take));
  switch (outcome.failure) {
    case SnapshotFailure::none:
      break;
    case SnapshotFailure::bad_target:
      co_return error_result(call, ErrorCode::invalid_request, "to: " + outcome.reason);
    case SnapshotFailure::storage_unwritable:
      co_return error_result(call, ErrorCode::unavailable,
                             "Storage is unavailable, so no snapshot can be taken now; retry once "
                             "GET /health says ok.");
    case SnapshotFailure::failed:
      services.warn("backup failed", outcome.reason);
      co_return error_result(call, ErrorCode::server_error,
                             "The snapshot failed: " + outcome.reason);
  }
  std::string out = "{\"path\":";
  append_json_string(out, outcome.path);
  out.append(",\"bytes\":").append(std::to_string(outcome.bytes));
  out.append(",\"files\":").append(std::to_string(outcome.files));
  out.append(",\"sequence\":").append(std::to_string(outcome.sequence));
  out.append(",\"took_ms\":").append(std::to_string(outcome.took_ms));
  // Nothing follows from a snapshot: back to work, as after the key operations.
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

}  // namespace baton::api
