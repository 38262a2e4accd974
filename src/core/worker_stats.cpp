#include "core/worker_stats.hpp"

#include <algorithm>
#include <cmath>

namespace baton {

namespace {

bool at_gate(TaskStatus status) {
  return status == TaskStatus::awaiting_review || status == TaskStatus::awaiting_acceptance;
}

}  // namespace

std::optional<WorkerChange> worker_change(const Task* before, const Task& after, Millis now) {
  bool was_claimed = before && before->status == TaskStatus::claimed;
  if (was_claimed && after.status == TaskStatus::pending && after.attempt_count < before->attempt_count) {
    // ReleaseCmd: the claim never reached its worker, whose it was (the task names the
    // claim before it again, or no one).
    if (before->claimed_by.empty()) return std::nullopt;
    WorkerChange undone;
    undone.worker = before->claimed_by;
    undone.undo_claim = true;
    return undone;
  }
  if (after.claimed_by.empty()) return std::nullopt;
  WorkerChange change;
  change.worker = after.claimed_by;
  WorkerTypeStats& d = change.delta;
  if (after.status == TaskStatus::claimed) {
    if (!was_claimed || before->lease_token != after.lease_token) d.claims = 1;
    d.last_seen = now;  // a claim or a heartbeat
    return change;
  }
  if (was_claimed) {
    if (after.status == TaskStatus::completed || at_gate(after.status)) {
      d.completed = 1;
      if (before->claimed_at > 0 && now > before->claimed_at) {
        d.complete_ms_total = static_cast<std::uint64_t>(now - before->claimed_at);
      }
      d.last_seen = now;
      return change;
    }
    if (after.status == TaskStatus::pending || after.status == TaskStatus::dead_letter) {
      if (after.failure_reason == std::optional<std::string>("lease_expired")) {
        d.expired = 1;  // the worker did nothing: not seen
      } else {
        d.failed = 1;
        d.last_seen = now;
      }
      return change;
    }
    return std::nullopt;  // cancelled under the worker
  }
  if (before && at_gate(before->status)) {
    if (after.status == TaskStatus::completed) {
      d.accepted = 1;
      return change;
    }
    if (after.status == TaskStatus::pending || after.status == TaskStatus::dead_letter) {
      d.reworked = 1;
      return change;
    }
  }
  return std::nullopt;
}

void add(WorkerTypeStats& stats, const WorkerChange& change) {
  const WorkerTypeStats& d = change.delta;
  if (change.undo_claim && stats.claims > 0) --stats.claims;
  stats.claims += d.claims;
  stats.completed += d.completed;
  stats.failed += d.failed;
  stats.expired += d.expired;
  stats.accepted += d.accepted;
  stats.reworked += d.reworked;
  stats.complete_ms_total += d.complete_ms_total;
  stats.last_seen = std::max(stats.last_seen, d.last_seen);
}

double mean_complete_ms(const WorkerTypeStats& stats) {
  return stats.completed == 0 ? 0.0
                              : static_cast<double>(stats.complete_ms_total) /
                                    static_cast<double>(stats.completed);
}

int rank(const WorkerTypeStats& s, double type_mean_ms) {
  double reliability = (static_cast<double>(s.completed) + 1.0) /
                       (static_cast<double>(s.completed + s.failed + s.expired) + 2.0);
  double quality = (static_cast<double>(s.accepted) + 1.0) /
                   (static_cast<double>(s.accepted + s.reworked) + 2.0);
  double mine = mean_complete_ms(s);
  // As fast as the type's mean or faster: 1; twice as slow: 0.5; unknown: the middle.
  double speed = (mine <= 0.0 || type_mean_ms <= 0.0) ? 0.5 : std::min(1.0, type_mean_ms / mine);
  double score = 100.0 * (0.5 * reliability + 0.3 * quality + 0.2 * speed);
  return static_cast<int>(std::lround(std::clamp(score, 0.0, 100.0)));
}

void rank_roster(std::vector<WorkerSummary>& roster) {
  struct Mean {
    double total_ms = 0;
    double completed = 0;
  };
  std::vector<std::pair<std::string, Mean>> means;
  auto mean_of = [&means](const std::string& type) -> Mean& {
    for (auto& [name, mean] : means) {
      if (name == type) return mean;
    }
    return means.emplace_back(type, Mean{}).second;
  };
  for (const WorkerSummary& worker : roster) {
    for (const WorkerTypeSummary& row : worker.types) {
      Mean& mean = mean_of(row.type);
      mean.total_ms += static_cast<double>(row.stats.complete_ms_total);
      mean.completed += static_cast<double>(row.stats.completed);
    }
  }
  for (WorkerSummary& worker : roster) {
    double weighted = 0, weights = 0, plain = 0;
    for (WorkerTypeSummary& row : worker.types) {
      const Mean& mean = mean_of(row.type);
      row.rank = rank(row.stats, mean.completed > 0 ? mean.total_ms / mean.completed : 0.0);
      double ended = static_cast<double>(row.stats.completed + row.stats.failed + row.stats.expired);
      weighted += ended * row.rank;
      weights += ended;
      plain += row.rank;
    }
    if (weights > 0) {
      worker.rank = static_cast<int>(std::lround(weighted / weights));
    } else if (!worker.types.empty()) {
      worker.rank = static_cast<int>(std::lround(plain / static_cast<double>(worker.types.size())));
    }
  }
  std::sort(roster.begin(), roster.end(), [](const WorkerSummary& a, const WorkerSummary& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.worker_id < b.worker_id;
  });
}

std::vector<WorkerSummary> make_roster(std::vector<WorkerRow> rows,
                                       const std::vector<std::string>& lease_holders) {
  std::vector<WorkerSummary> roster;
  auto row_of = [&roster](const std::string& worker) -> WorkerSummary& {
    for (WorkerSummary& summary : roster) {
      if (summary.worker_id == worker) return summary;
    }
    WorkerSummary& added = roster.emplace_back();
    added.worker_id = worker;
    return added;
  };
  for (WorkerRow& row : rows) {
    WorkerSummary& summary = row_of(row.worker);
    summary.last_seen = std::max(summary.last_seen, row.stats.last_seen);
    summary.types.push_back(WorkerTypeSummary{std::move(row.type), row.stats, 0});
  }
  for (const std::string& holder : lease_holders) {
    for (WorkerSummary& summary : roster) {
      if (summary.worker_id == holder) ++summary.live_leases;
    }
  }
  for (WorkerSummary& summary : roster) {
    std::sort(summary.types.begin(), summary.types.end(),
              [](const WorkerTypeSummary& a, const WorkerTypeSummary& b) { return a.type < b.type; });
  }
  rank_roster(roster);
  return roster;
}

std::optional<std::string> best_worker_of(std::vector<WorkerRow> rows) {
  if (rows.empty()) return std::nullopt;
  std::vector<WorkerSummary> candidates = make_roster(std::move(rows), {});
  return candidates.front().worker_id;
}

}  // namespace baton
