#pragma once
// One line of a task's log (seed 004's LogEntry): what its lease holder wrote, with the
// sequence number and time the server gave it. Plain data; stored per task in the logs
// column family, kept and purged with the task.
#include <cstdint>
#include <string>

#include "core/time.hpp"

namespace baton {

struct LogLine {
  std::int64_t seq = 0;   // 1, 2, 3, … per task, never reused
  Millis at = 0;          // when the server accepted it
  std::string level;      // debug, info, log, warn, error
  std::string message;
  std::string data_json;  // a serialized JSON object, or "" for none
  std::string worker_id;  // the lease holder's worker_id ("" when its claim named none)

  // What the line counts toward a task's bound (logs.max_task_bytes).
  std::int64_t bytes() const {
    return static_cast<std::int64_t>(level.size() + message.size() + data_json.size());
  }
};

// What one append does to a task's log: lines added at the end, the oldest dropped to stay
// within the task's bound.
struct LogChange {
  std::int64_t added = 0;
  std::int64_t added_bytes = 0;
  std::int64_t dropped = 0;
  std::int64_t dropped_bytes = 0;
};

}  // namespace baton
