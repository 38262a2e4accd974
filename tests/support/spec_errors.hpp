#pragma once
// The error table of the API spec (section 8), transcribed once by hand for the tests:
// code, HTTP status, retryable flag, recommended action. Kept apart from the server's
// own catalog so the tests check the code against the spec, not against itself.
#include <array>
#include <string_view>

namespace baton::test {

struct SpecErrorRow {
  std::string_view code;
  int status;
  bool retryable;
  std::string_view action;
};

// In the spec's order, which is also ErrorCode's order, then Baton's extensions (ext),
// as docs/api.md documents them.
inline constexpr std::array<SpecErrorRow, 27> kSpecErrors = {{
    {"missing_api_key", 401, true, "authenticate"},
    {"invalid_api_key", 401, false, "authenticate"},
    {"invalid_request", 400, false, "fix_request"},
    {"unsupported_media_type", 415, false, "fix_request"},
    {"payload_too_large", 413, false, "fix_request"},
    {"request_header_too_large", 431, false, "fix_request"},
    {"not_found", 404, false, "fix_request"},
    {"method_not_allowed", 405, false, "fix_request"},
    {"task_not_found", 404, false, "list_tasks"},
    {"invalid_transition", 409, false, "check_task_status"},
    {"lease_expired", 409, false, "check_task_status"},
    {"task_cancelled", 409, false, "stop_work"},
    {"task_currently_claimed", 409, true, "retry_after_wait"},
    {"not_yet_claimable", 409, true, "retry_after_wait"},
    {"idempotency_conflict", 409, false, "create_task"},
    {"idempotency_in_flight", 503, true, "retry_after_wait"},
    {"registration_closed", 403, false, "authenticate"},
    {"quota_exceeded", 402, false, "upgrade_plan"},
    {"max_workers_reached", 429, true, "retry_after_wait"},
    {"rate_limited", 429, true, "retry_after_wait"},
    {"unavailable", 503, true, "retry_after_wait"},
    {"server_error", 500, true, "retry_after_wait"},
    {"forbidden", 403, false, "authenticate"},  // (ext) admin operations
    {"dependency_not_found", 400, false, "fix_request"},  // (ext) workflow
    {"task_assigned", 409, false, "check_task_status"},   // (ext) workflow
    {"budget_exceeded", 402, true, "retry_after_wait"},   // (ext) costs
    {"not_implemented", 501, false, "fix_request"},       // (ext) storage.engine: postgres
}};

}  // namespace baton::test
