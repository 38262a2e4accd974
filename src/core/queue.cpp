#include "core/queue.hpp"

#include <algorithm>

namespace baton {

std::int64_t task_count(const QueueStats& q) {
  return q.pending + q.scheduled + q.claimed + q.blocked + q.awaiting_review +
         q.awaiting_acceptance + q.dead_lettered;
}

void add_counts(QueueStats& into, const QueueStats& from) {
  into.pending += from.pending;
  into.scheduled += from.scheduled;
  into.claimed += from.claimed;
  into.blocked += from.blocked;
  into.awaiting_review += from.awaiting_review;
  into.awaiting_acceptance += from.awaiting_acceptance;
  into.dead_lettered += from.dead_lettered;
  into.created_last_minute += from.created_last_minute;
  into.completed_last_minute += from.completed_last_minute;
}

std::vector<QueueStats> fold_types(std::vector<QueueStats> types, int max_types) {
  std::size_t keep = static_cast<std::size_t>(std::max(0, max_types));
  // A type named "other" is always summed into the fold's own "other": one series, never two.
  auto named_other = std::find_if(types.begin(), types.end(), [](const QueueStats& q) { return q.type == "other"; });
  if (named_other != types.end() && types.size() > keep) {
    QueueStats real = std::move(*named_other);
    types.erase(named_other);
    std::vector<QueueStats> folded = fold_types(std::move(types), max_types);
    if (folded.empty() || folded.back().type != "other") {
      real.type = "other";
      folded.push_back(std::move(real));
    } else {
      add_counts(folded.back(), real);
    }
    return folded;
  }
  if (types.size() <= keep) {
    std::sort(types.begin(), types.end(),
              [](const QueueStats& a, const QueueStats& b) { return a.type < b.type; });
    return types;
  }
  std::sort(types.begin(), types.end(), [](const QueueStats& a, const QueueStats& b) {
    std::int64_t ca = task_count(a), cb = task_count(b);
    return ca != cb ? ca > cb : a.type < b.type;
  });
  QueueStats other;
  other.type = "other";
  for (std::size_t i = keep; i < types.size(); ++i) add_counts(other, types[i]);
  types.resize(keep);
  std::sort(types.begin(), types.end(),
            [](const QueueStats& a, const QueueStats& b) { return a.type < b.type; });
  types.push_back(std::move(other));
  return types;
}

}  // namespace baton
