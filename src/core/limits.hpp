#pragma once
// Field bounds of tasks and requests (spec section 3), filled from the config. The
// operation table (api/operations.cpp) declares each field's bounds from these values and
// api/input.cpp enforces them; the two validators here are the rules no range states.
// A validator returns "" when the value is fine, else the message of the 400 naming the
// field.
#include <cstdint>
#include <string>
#include <string_view>

namespace baton {

struct TaskLimits {
  std::int64_t max_payload_bytes = 65536;
  int max_depth = 32;
  int default_max_attempts = 3;
  int min_max_attempts = 1;
  int max_max_attempts = 100;
  int lease_min_seconds = 30;
  int lease_max_seconds = 3600;
  int lease_default_seconds = 300;
  std::int64_t max_schedule_ahead_seconds = 30LL * 24 * 3600;
  int max_wait_seconds = 30;
  int max_claim_batch = 100;    // max_tasks of one claim
  int max_create_batch = 1000;  // tasks of one POST /v1/tasks/batch
  int max_dependencies = 100;   // depends_on of one task
  int acceptance_timeout_seconds = 7 * 24 * 3600;  // an acceptance gate's, by default
  int assign_timeout_seconds = 60;  // how long assign: "best" holds a task, by default
  int max_reason_chars = 500;
  int max_worker_id_chars = 200;
  int max_idempotency_key_chars = 255;
  int max_retry_after_seconds = 30 * 24 * 3600;
  int max_log_line_bytes = 16384;   // task_logs.max_line_bytes
  int max_log_lines_per_append = 1000;
};

std::string check_type(std::string_view type);
// Printable ASCII (0x21-0x7e and space), 1..max chars.
std::string check_idempotency_key(std::string_view key, const TaskLimits& limits);
bool is_printable_ascii(std::string_view text);
// Counts UTF-8 code points (the input is already valid UTF-8).
std::size_t utf8_length(std::string_view text);

}  // namespace baton
