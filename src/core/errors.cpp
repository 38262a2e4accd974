#include "core/errors.hpp"

#include <array>

namespace baton {

namespace {

using A = ActionCode;
using E = ErrorCode;

// The catalog of spec section 8 and Baton's extensions, in enum order (index = enum
// value - 1).
constexpr std::array kCatalog = {
    ErrorInfo{E::missing_api_key, "missing_api_key", 401, true, A::authenticate, 0},
    ErrorInfo{E::invalid_api_key, "invalid_api_key", 401, false, A::authenticate, 0},
    ErrorInfo{E::invalid_request, "invalid_request", 400, false, A::fix_request, 0},
    ErrorInfo{E::unsupported_media_type, "unsupported_media_type", 415, false, A::fix_request, 0},
    ErrorInfo{E::payload_too_large, "payload_too_large", 413, false, A::fix_request, 0},
    ErrorInfo{E::request_header_too_large, "request_header_too_large", 431, false, A::fix_request,
              0},
    ErrorInfo{E::not_found, "not_found", 404, false, A::fix_request, 0},
    ErrorInfo{E::method_not_allowed, "method_not_allowed", 405, false, A::fix_request, 0},
    ErrorInfo{E::task_not_found, "task_not_found", 404, false, A::list_tasks, 0},
    ErrorInfo{E::invalid_transition, "invalid_transition", 409, false, A::check_task_status, 0},
    ErrorInfo{E::lease_expired, "lease_expired", 409, false, A::check_task_status, 0},
    ErrorInfo{E::task_cancelled, "task_cancelled", 409, false, A::stop_work, 0},
    ErrorInfo{E::task_currently_claimed, "task_currently_claimed", 409, true, A::retry_after_wait,
              0},
    ErrorInfo{E::not_yet_claimable, "not_yet_claimable", 409, true, A::retry_after_wait, 0},
    ErrorInfo{E::idempotency_conflict, "idempotency_conflict", 409, false, A::create_task, 0},
    ErrorInfo{E::idempotency_in_flight, "idempotency_in_flight", 503, true, A::retry_after_wait, 2},
    ErrorInfo{E::registration_closed, "registration_closed", 403, false, A::authenticate, 0},
    ErrorInfo{E::quota_exceeded, "quota_exceeded", 402, false, A::upgrade_plan, 0},
    ErrorInfo{E::max_workers_reached, "max_workers_reached", 429, true, A::retry_after_wait, 30},
    ErrorInfo{E::rate_limited, "rate_limited", 429, true, A::retry_after_wait, 60},
    ErrorInfo{E::unavailable, "unavailable", 503, true, A::retry_after_wait, 5},
    ErrorInfo{E::server_error, "server_error", 500, true, A::retry_after_wait, 5},
    // Baton's own (ext).
    ErrorInfo{E::forbidden, "forbidden", 403, false, A::authenticate, 0},
    ErrorInfo{E::dependency_not_found, "dependency_not_found", 400, false, A::fix_request, 0},
    ErrorInfo{E::task_assigned, "task_assigned", 409, false, A::check_task_status, 0},
    ErrorInfo{E::budget_exceeded, "budget_exceeded", 402, true, A::retry_after_wait, 0},
    ErrorInfo{E::not_implemented, "not_implemented", 501, false, A::fix_request, 0},
};

static_assert(kCatalog.size() == static_cast<std::size_t>(E::not_implemented));

constexpr ErrorInfo kNone{E::none, "none", 200, false, A::check_task_status, 0};

}  // namespace

const ErrorInfo& error_info(ErrorCode code) {
  if (code == E::none) return kNone;
  return kCatalog[static_cast<std::size_t>(code) - 1];
}

std::span<const ErrorInfo> error_catalog() { return kCatalog; }

std::string_view to_string(ActionCode action) {
  switch (action) {
    case A::create_task: return "create_task";
    case A::claim_task: return "claim_task";
    case A::complete_task: return "complete_task";
    case A::fail_task: return "fail_task";
    case A::heartbeat: return "heartbeat";
    case A::check_task_status: return "check_task_status";
    case A::requeue_task: return "requeue_task";
    case A::retry_after_wait: return "retry_after_wait";
    case A::authenticate: return "authenticate";
    case A::fix_request: return "fix_request";
    case A::download_artifact: return "download_artifact";
    case A::list_tasks: return "list_tasks";
    case A::upgrade_plan: return "upgrade_plan";
    case A::stop_work: return "stop_work";
    case A::review_task: return "review_task";
    case A::await_review: return "await_review";
    case A::accept_task: return "accept_task";
    case A::rework_task: return "rework_task";
    case A::await_verification: return "await_verification";
  }
  return "unknown";
}

}  // namespace baton
