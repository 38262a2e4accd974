#pragma once
// A task's history: one event per transition the lifecycle made, kept in the task's own
// record, so it is written in the same write as the transition and never disagrees with it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"

namespace baton {

enum class TaskStatus : std::uint8_t;

// What made the transition: the operation or event of its lifecycle edge
// (lifecycle_edges()), or the create. Numeric values are persisted: append, never renumber.
enum class TaskEventKind : std::uint8_t {
  create_task = 0,
  claim_task = 1,
  complete_task = 2,
  fail_task = 3,
  lease_expired = 4,
  cancel_task = 5,
  requeue_task = 6,
  review_task = 7,
  dependency_done = 8,
  accept_task = 9,
  rework_task = 10,
  verification_done = 11,
  acceptance_timeout = 12,
};
inline constexpr int kTaskEventKindCount = 13;
std::string_view to_string(TaskEventKind kind);

struct TaskEvent {
  Millis at = 0;
  TaskEventKind kind = TaskEventKind::create_task;
  TaskStatus from{};  // for create_task, the status it was created in (as `to`)
  TaskStatus to{};
  int attempt = 0;     // the task's attemptCount after the event
  std::string worker;  // the claim's worker, when the event made or ended a claim (cut as detail)
  // What the event said: a failure reason, a reviewer's feedback, the dependency that
  // finished, a verification's verdict; cut to kTaskEventDetailBytes.
  std::string detail;

  bool operator==(const TaskEvent&) const = default;
};

inline constexpr std::size_t kTaskEventDetailBytes = 200;
inline constexpr int kDefaultTaskHistoryKept = 50;

struct TaskHistory {
  // Oldest first; one more than the bound while the latest is a claim's (trimmed with the
  // next event, so that a released claim takes only its own event back out).
  std::vector<TaskEvent> events;
  std::int64_t dropped = 0;  // older events dropped to keep within the bound

  // Appends, then drops the oldest past `kept` (at least 1).
  void add(TaskEvent event, int kept);

  bool operator==(const TaskHistory&) const = default;
};

// `text` cut to at most `bytes` bytes, on a UTF-8 character boundary.
std::string cut_utf8(std::string_view text, std::size_t bytes);

}  // namespace baton
