#pragma once
// A queue is one task type of one account. What is kept of it beyond its tasks: its
// dead letters' count and whether an operator paused it (QueueFacts, stored), and what an
// operator sees of it (QueueStats, GET /v1/queues).
#include <cstdint>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace baton {

// Stored per queue, written in the same batch as the transitions that change it, so the
// count always matches the stored tasks.
struct QueueFacts {
  std::int64_t dead_lettered = 0;
  bool paused = false;
  Millis paused_at = 0;  // when paused, else 0
  bool empty() const { return dead_lettered == 0 && !paused; }
  bool operator==(const QueueFacts&) const = default;
};

struct QueueStats {
  std::string type;
  std::int64_t pending = 0;    // due: claimable now (or once the queue is resumed)
  std::int64_t scheduled = 0;  // pending, not due yet (delay, scheduledAt, retry backoff)
  std::int64_t claimed = 0;
  std::int64_t blocked = 0;
  std::int64_t awaiting_review = 0;
  std::int64_t awaiting_acceptance = 0;
  std::int64_t dead_lettered = 0;
  // Since when the longest-waiting due task has been claimable (0: none is): its
  // scheduledAt, else its creation.
  Millis oldest_pending_since = 0;
  std::int64_t created_last_minute = 0;
  std::int64_t completed_last_minute = 0;
  bool paused = false;
  Millis paused_at = 0;
};

// Its tasks, of every state counted.
std::int64_t task_count(const QueueStats& queue);
// Adds `from`'s counts to `into`'s (the same type seen on several shards or accounts).
void add_counts(QueueStats& into, const QueueStats& from);
// At most `max_types` + 1 entries: the `max_types` types with the most tasks (ties by
// name), by name, then "other" with the counts of the rest (when there is a rest). What
// /metrics labels by type, so a client making up types cannot grow its series unbounded.
// A real type named "other", once there is a rest, is summed into it.
std::vector<QueueStats> fold_types(std::vector<QueueStats> types, int max_types);

}  // namespace baton
