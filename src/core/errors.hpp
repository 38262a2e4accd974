#pragma once
// The error catalog (spec section 8): one enum, one table. HTTP status, retryable flag and
// recommended action of every error come from here, and so will the discovery documents.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>

namespace baton {

// A storage fault (an I/O error, corruption): thrown by a store or engine read, answered
// 503 `unavailable` by the API whatever the backend is.
struct StorageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An operation the storage engine in use does not offer (yet), named in the message:
// answered 501 not_implemented.
struct NotImplemented : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class ErrorCode : std::uint8_t {
  none = 0,
  missing_api_key,
  invalid_api_key,
  invalid_request,
  unsupported_media_type,
  payload_too_large,
  request_header_too_large,
  not_found,
  method_not_allowed,
  task_not_found,
  invalid_transition,
  lease_expired,
  task_cancelled,
  task_currently_claimed,
  not_yet_claimable,
  idempotency_conflict,
  idempotency_in_flight,
  registration_closed,
  quota_exceeded,
  max_workers_reached,
  rate_limited,
  unavailable,
  server_error,
  // Extensions, after the spec's codes so that theirs keep their values:
  forbidden,  // an admin operation without the admin key, or on a server that has none
  dependency_not_found,  // depends_on or parent_task_id names no task of the account
  task_assigned,         // a claim by id of a task assigned to another worker
  budget_exceeded,       // a claim by an account past its monthly cost budget
  not_implemented,       // an operation the storage engine in use does not offer
};

enum class ActionCode : std::uint8_t {
  create_task,
  claim_task,
  complete_task,
  fail_task,
  heartbeat,
  check_task_status,
  requeue_task,
  retry_after_wait,
  authenticate,
  fix_request,
  download_artifact,
  list_tasks,
  upgrade_plan,
  stop_work,
  // Extensions (workflow):
  review_task,   // a reviewer decides on a task awaiting review
  await_review,  // the worker's part is done; the task waits for its reviewer
  accept_task,   // accept a task at its acceptance gate
  rework_task,   // send it back with feedback
  await_verification,  // its verification task has not finished yet
};
inline constexpr ActionCode kLastActionCode = ActionCode::await_verification;

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;
  int http_status;
  bool retryable;
  ActionCode action;
  int retry_after_seconds;  // for retry_after_wait errors; 0 = decided per request
};

const ErrorInfo& error_info(ErrorCode code);
std::span<const ErrorInfo> error_catalog();  // every code except `none`
std::string_view to_string(ActionCode action);

}  // namespace baton
