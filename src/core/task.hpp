#pragma once
// The task record: the one durable unit of work. Plain data, owned by whoever holds it;
// the lifecycle state machine (lifecycle.hpp) is the only code that changes its state.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cost.hpp"
#include "core/task_history.hpp"
#include "core/time.hpp"

namespace baton {

// Numeric values are persisted in records and index keys: append new states, never renumber.
enum class TaskStatus : std::uint8_t {
  pending = 0,
  claimed = 1,
  completed = 2,
  dead_letter = 3,
  cancelled = 4,
  blocked = 5,          // waiting for its dependencies (depends_on)
  awaiting_review = 6,  // completed by its worker, waiting for a reviewer's decision
  // Completed by its worker, behind an acceptance gate (definition_of_done or
  // verification): accept, rework, an auto-accept or the gate's timeout ends it.
  awaiting_acceptance = 7,
};
inline constexpr int kTaskStatusCount = 8;

// An independent verification of a completed task (verification: {type}), as the original
// task records it. Numeric values are persisted: append, never renumber.
enum class Verification : std::uint8_t { none = 0, pending = 1, passed = 2, failed = 3 };
std::string_view to_string(Verification verification);

std::string_view to_string(TaskStatus status);
std::optional<TaskStatus> parse_task_status(std::string_view text);
bool is_terminal(TaskStatus status);

struct Task {
  std::string id;          // "tsk_" + ULID; the ULID embeds the vnode
  std::string account_id;  // "acct_" + ULID
  std::string type;
  std::string payload_json;                // serialized JSON object
  std::optional<std::string> result_json;  // serialized JSON object, set on completion
  std::optional<std::string> output_id;
  TaskStatus status = TaskStatus::pending;
  int priority = 0;
  int max_attempts = 3;
  int attempt_count = 0;
  int lease_duration_seconds = 300;
  Millis lease_expires_at = 0;  // 0: no live lease
  std::string claimed_by;       // worker_id of the latest claim ("" = none given)
  std::string lease_token;      // token of the latest claim, kept after it ends (fencing)
  Millis scheduled_at = 0;      // 0: null (claimable at once)
  std::optional<std::string> failure_reason;
  Millis created_at = 0;
  Millis updated_at = 0;
  Millis completed_at = 0;
  Millis claimed_at = 0;  // when the latest claim was made (kept after it ends)
  // True when a cancel ended a live claim: that claim's worker gets task_cancelled.
  bool cancelled_live_claim = false;

  // Workflow (docs/workflows.md).
  std::vector<std::string> depends_on;  // every dependency, as created
  std::vector<std::string> waiting_on;  // those not finished yet: non-empty while blocked
  // on_dependency_failure: "run": a dependency that fails counts as finished, instead of
  // cancelling this task.
  bool run_on_dependency_failure = false;
  std::string parent_task_id;  // "" = none
  bool review_required = false;
  std::optional<std::string> review_feedback;  // the latest revise's or rework's, for the next claimer
  // Acceptance gate: a task with a definition of done or a verification waits in
  // awaiting_acceptance after its worker completes it.
  std::optional<std::string> definition_of_done;
  std::string verification_type;  // "" = no verification task
  bool auto_accept = false;       // a passed verification accepts at once
  int acceptance_timeout_seconds = 0;  // 0 = the gate waits for ever
  bool accept_on_timeout = false;      // at the timeout: accept, else dead-letter
  Millis acceptance_deadline = 0;      // set while awaiting_acceptance with a timeout
  Verification verification = Verification::none;
  std::optional<std::string> verification_notes;
  std::string verification_task_id;  // the verifier's task, once created
  std::string verifies_task_id;      // on a verifier's task: the task it verifies
  int verifies_attempt = 0;          // and that task's attemptCount when it was completed

  // Assignment: only this worker may claim the task (until assigned_until, when set; then
  // anyone may).
  std::string assign_to;
  Millis assigned_until = 0;

  // Cost (docs/api.md "Costs and budgets"): the sum of what its workers reported, and the
  // budget it was created with (0: none). Past the budget, answers tell the worker to stop.
  TaskCost cost;
  std::int64_t budget_usd_nanos = 0;

  // Log lines (docs/api.md "Task logs"): those kept are seqs log_first_seq..log_last_seq
  // (none while first > last), log_bytes of them; log_dropped were dropped, oldest first,
  // to stay within the task's bound.
  std::int64_t log_first_seq = 1;
  std::int64_t log_last_seq = 0;
  std::int64_t log_bytes = 0;
  std::int64_t log_dropped = 0;

  // One event per transition (GET /v1/tasks/{id}/history), the latest history_kept of them.
  TaskHistory history;

  bool ever_claimed() const { return !lease_token.empty(); }
  // Whether only assign_to may claim it at `now`.
  bool assigned_at(Millis now) const {
    return !assign_to.empty() && (assigned_until == 0 || now < assigned_until);
  }
  bool has_acceptance_gate() const { return definition_of_done || !verification_type.empty(); }
  bool over_budget() const { return budget_usd_nanos > 0 && cost.usd_nanos > budget_usd_nanos; }
};

// A parent's children, as its reads show them: the first ids (oldest first) and how many
// of all of them are in each state.
struct TaskChildren {
  std::vector<std::string> ids;  // at most kShownChildren
  int count = 0;
  int by_status[kTaskStatusCount] = {};
  TaskCost cost;  // all of their costs, summed

  static constexpr int kShownChildren = 1000;
};

}  // namespace baton
