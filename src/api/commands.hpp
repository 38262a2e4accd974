#pragma once
// From a checked input (every field has the type and bounds its FieldSpec says) to the
// engine's typed request. Pure: no I/O, no clock but the `now` passed in, so the json_input
// fuzz target runs them on every body it makes, and a second engine gets the same
// requests as the first.
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/operation.hpp"
#include "core/errors.hpp"
#include "core/limits.hpp"
#include "core/time.hpp"
#include "engine/task_engine.hpp"

namespace baton::api {

// Why an input that passed its fields' checks still cannot be run: a 4xx answer.
struct InputProblem {
  ErrorCode code = ErrorCode::invalid_request;
  std::string message;
};

template <class T>
using Built = std::variant<T, InputProblem>;

Built<CreateRequest> create_request(const Input& input, const TaskLimits& limits,
                                    std::string account, Millis now);
// POST /v1/tasks/batch: every item as create_request makes it, or the first item's
// problem, its message naming the item's 0-based index.
Built<std::vector<CreateRequest>> create_batch_request(const Input& input,
                                                       const TaskLimits& limits,
                                                       const std::string& account, Millis now);
ClaimRequest claim_request(const Input& input, std::string account);
// A claim's max_tasks: nullopt when absent (one task, answered as `task`).
std::optional<int> claim_count(const Input& input);
// complete and fail: the claim their claim_next asks for, when they carry one.
std::optional<ClaimRequest> claim_next_request(const Input& input, std::string account);
// Heartbeat, complete and fail carry the worker's fencing identity; with
// leases.require_token the token is mandatory.
Built<HeartbeatCmd> heartbeat_command(const Input& input, bool require_token);
Built<CompleteCmd> complete_command(const Input& input, const TaskLimits& limits,
                                    bool require_token);
Built<FailCmd> fail_command(const Input& input, bool require_token);
ClaimCmd claim_by_id_command(const Input& input);
// append_logs: the caller, and each line with its level (default info) and data; a line
// past limits.max_log_line_bytes (level, message and data) is payload_too_large.
Built<LogAppendRequest> log_append_request(const Input& input, const TaskLimits& limits,
                                           bool require_token);
// review_task: reject and revise must say why (feedback).
Built<ReviewCmd> review_command(const Input& input);

}  // namespace baton::api
