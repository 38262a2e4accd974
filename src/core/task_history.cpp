#include "core/task_history.hpp"

#include <algorithm>

namespace baton {

std::string_view to_string(TaskEventKind kind) {
  switch (kind) {
    case TaskEventKind::create_task: return "create_task";
    case TaskEventKind::claim_task: return "claim_task";
    case TaskEventKind::complete_task: return "complete_task";
    case TaskEventKind::fail_task: return "fail_task";
    case TaskEventKind::lease_expired: return "lease_expired";
    case TaskEventKind::cancel_task: return "cancel_task";
    case TaskEventKind::requeue_task: return "requeue_task";
    case TaskEventKind::review_task: return "review_task";
    case TaskEventKind::dependency_done: return "dependency_done";
    case TaskEventKind::accept_task: return "accept_task";
    case TaskEventKind::rework_task: return "rework_task";
    case TaskEventKind::verification_done: return "verification_done";
    case TaskEventKind::acceptance_timeout: return "acceptance_timeout";
  }
  return "unknown";
}

void TaskHistory::add(TaskEvent event, int kept) {
  events.push_back(std::move(event));
  auto bound = static_cast<std::size_t>(std::max(kept, 1));
  if (events.size() <= bound) return;
  std::size_t excess = events.size() - bound;
  events.erase(events.begin(), events.begin() + static_cast<std::ptrdiff_t>(excess));
  dropped += static_cast<std::int64_t>(excess);
}

std::string cut_utf8(std::string_view text, std::size_t bytes) {
  if (text.size() <= bytes) return std::string(text);
  std::size_t end = bytes;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end));
}

}  // namespace baton
