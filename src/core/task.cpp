#include "core/task.hpp"

namespace baton {

std::string_view to_string(TaskStatus status) {
  switch (status) {
    case TaskStatus::pending: return "pending";
    case TaskStatus::claimed: return "claimed";
    case TaskStatus::completed: return "completed";
    case TaskStatus::dead_letter: return "dead_letter";
    case TaskStatus::cancelled: return "cancelled";
    case TaskStatus::blocked: return "blocked";
    case TaskStatus::awaiting_review: return "awaiting_review";
    case TaskStatus::awaiting_acceptance: return "awaiting_acceptance";
  }
  return "unknown";
}

std::optional<TaskStatus> parse_task_status(std::string_view text) {
  for (int i = 0; i < kTaskStatusCount; ++i) {
    auto status = static_cast<TaskStatus>(i);
    if (to_string(status) == text) return status;
  }
  return std::nullopt;
}

std::string_view to_string(Verification verification) {
  switch (verification) {
    case Verification::none: return "none";
    case Verification::pending: return "pending";
    case Verification::passed: return "passed";
    case Verification::failed: return "failed";
  }
  return "none";
}

bool is_terminal(TaskStatus status) {
  return status == TaskStatus::completed || status == TaskStatus::dead_letter ||
         status == TaskStatus::cancelled;
}

}  // namespace baton
