#pragma once
// What the worker roster counts (GET /v1/workers, docs/workflows.md): per account, worker
// and task type, what that worker's claims came to, and the rank derived from it. Pure:
// worker_change() reads a transition (the task before and after it), so the same counts
// come out of any storage engine.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/task.hpp"
#include "core/time.hpp"

namespace baton {

struct WorkerTypeStats {
  std::uint64_t claims = 0;
  std::uint64_t completed = 0;  // completions (into review or acceptance too)
  std::uint64_t failed = 0;
  std::uint64_t expired = 0;    // leases that ran out
  std::uint64_t accepted = 0;   // reviews approved and acceptance gates passed
  std::uint64_t reworked = 0;   // reviews revised or rejected, gates reworked or timed out
  std::uint64_t complete_ms_total = 0;  // from claim to completion, summed
  Millis last_seen = 0;         // the worker's latest claim, heartbeat, complete or fail
  bool operator==(const WorkerTypeStats&) const = default;
};

// One transition's effect on the stats of the worker it concerns.
struct WorkerChange {
  std::string worker;
  WorkerTypeStats delta;        // last_seen: set when the worker itself acted
  bool undo_claim = false;      // a claim given back unanswered: claims - 1
};

// Nothing when the transition concerns no named worker (claims without worker_id, cancels,
// dependency releases).
std::optional<WorkerChange> worker_change(const Task* before, const Task& after, Millis now);
void add(WorkerTypeStats& stats, const WorkerChange& change);

// 0-100: 50 % reliability (completions against failures and expiries), 30 % quality
// (acceptances against reworks), 20 % speed (the type's mean time to complete against the
// worker's), each smoothed so a worker with few tasks sits near the middle.
// `type_mean_ms`: the mean over all workers of the type (0: unknown).
int rank(const WorkerTypeStats& stats, double type_mean_ms);
double mean_complete_ms(const WorkerTypeStats& stats);

// The roster's rows: a worker, and its counts and rank per type.
struct WorkerTypeSummary {
  std::string type;
  WorkerTypeStats stats;
  int rank = 0;
};
struct WorkerSummary {
  std::string worker_id;
  Millis last_seen = 0;
  int live_leases = 0;
  int rank = 0;  // its types' ranks, weighted by the tasks each one ended
  std::vector<WorkerTypeSummary> types;
};

// Ranks every worker's types against each type's mean over these workers, and each
// worker overall; sorts by rank, best first (then by worker id).
void rank_roster(std::vector<WorkerSummary>& roster);

// One stored row of counts: a worker's on one type.
struct WorkerRow {
  std::string worker;
  std::string type;
  WorkerTypeStats stats;
};

// The roster of an account from its rows (each (worker, type) once) and the holders of
// its live leases (one entry per lease): types in name order, ranked, best first.
std::vector<WorkerSummary> make_roster(std::vector<WorkerRow> rows,
                                       const std::vector<std::string>& lease_holders);
// assign: best picks among the workers of the type seen this recently.
inline constexpr Millis kAssignBestSeenMs = 3600 * 1000;
// The best-ranked worker of one type's rows (assign: best); nullopt when there is none.
std::optional<std::string> best_worker_of(std::vector<WorkerRow> rows);

}  // namespace baton
