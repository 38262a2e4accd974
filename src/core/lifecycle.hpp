#pragma once
// The lifecycle state machine (spec section 4), pure: given a task, a command and `now`,
// it returns the next task or an error. No I/O, no clocks, no randomness of its own
// (callers pass `now`, fresh lease tokens and backoff jitter), so every rule is testable
// on its own and the same code can run inside another storage engine's transaction.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <string>
#include <variant>

#include "core/errors.hpp"
#include "core/log_line.hpp"
#include "core/task.hpp"

namespace baton {

// Who is asking: the fencing identity a worker sends with a mutation.
struct Caller {
  std::string lease_token;  // "" = not sent
  std::string worker_id;    // "" = not sent
};

struct ClaimCmd {
  std::string worker_id;
  std::string new_lease_token;
  // The most live leases the account may hold (0: no limit). The engine enforces it across
  // its shards before it applies the claim; apply() does not look at it.
  std::int64_t max_leases = 0;
};
// Heartbeat, complete and fail may report what the work cost since the last report: it is
// added to the task's sum when the command applies (a safe retry of complete adds nothing).
struct HeartbeatCmd {
  Caller caller;
  TaskCost cost;
};
struct CompleteCmd {
  Caller caller;
  TaskCost cost;
  std::optional<std::string> result_json;
  std::optional<std::string> output_id;
};
struct FailCmd {
  Caller caller;
  TaskCost cost;
  std::optional<std::string> reason;
  std::optional<int> retry_after_seconds;  // nullopt: default backoff
  bool retryable = true;
};
// The lease holder appends lines to the task's log: fenced like a heartbeat, it moves the
// log's counters by `change` (the engine stores the lines) and leaves the lease as it is.
struct AppendLogCmd {
  Caller caller;
  LogChange change;
};
struct CancelCmd {};
struct RequeueCmd {};
struct ExpireLeaseCmd {};  // issued by the shard's timer when a lease passes
// Undoes a claim whose answer never reached its client (a long-poll waiter that left):
// the task gets back the worker and token it had before that claim, so the undone claim
// leaves no trace but updatedAt.
struct ReleaseCmd {
  std::string lease_token;           // the undone claim's
  std::string previous_claimed_by;   // as before that claim
  std::string previous_lease_token;  // as before that claim ("" = never claimed)
};

// A reviewer's decision on a task awaiting review (review: {required: true}).
enum class ReviewDecision : std::uint8_t { approve, reject, revise };
struct ReviewCmd {
  ReviewDecision decision = ReviewDecision::approve;
  std::string feedback;  // reject: the failure reason; revise: shown to the next claimer
};
// One of a blocked task's dependencies reached a terminal state (issued by the engine,
// once that state is durable). Saying it twice changes nothing.
struct DependencyDoneCmd {
  std::string dependency_id;
  bool failed = false;  // dead-lettered or cancelled
};

// The acceptance gate (awaiting_acceptance).
struct AcceptCmd {};
struct ReworkCmd {
  std::string feedback;  // shown to the next claimer
};
// The engine links the verifier's task it created to the task it verifies.
struct LinkVerificationCmd {
  std::string verification_task_id;
};
// The verifier's task finished: its result, or that it failed (passed = false).
struct VerificationDoneCmd {
  std::string verification_task_id;
  int attempt = 0;  // the verified task's attemptCount the verifier was made for
  bool passed = false;
  std::optional<std::string> notes;
};
// The gate's timeout passed (issued by the shard's timer).
struct AcceptanceTimeoutCmd {};

using Command = std::variant<ClaimCmd, HeartbeatCmd, CompleteCmd, FailCmd, CancelCmd,
                             RequeueCmd, ExpireLeaseCmd, ReleaseCmd, ReviewCmd,
                             DependencyDoneCmd, AcceptCmd, ReworkCmd, LinkVerificationCmd,
                             VerificationDoneCmd, AcceptanceTimeoutCmd, AppendLogCmd>;

struct BackoffPolicy {
  int base_seconds = 2;
  int max_seconds = 300;
};

struct TransitionContext {
  Millis now = 0;
  BackoffPolicy backoff;
  double jitter = 1.0;  // in [0.5, 1.0]: multiplies the default backoff
  int history_kept = kDefaultTaskHistoryKept;  // the task's history keeps the latest this many
};

struct Transition {
  ErrorCode error = ErrorCode::none;
  Task task;                // the new task when error == none, else the unchanged one
  bool unchanged = false;   // a safe retry (complete again): nothing to write
  int retry_after_seconds = 0;  // for task_currently_claimed / not_yet_claimable
  bool ok() const { return error == ErrorCode::none; }
};

// The lifecycle's edges, as the discovery documents list them: from, to, and the command
// or event that takes a task along it. tests/core/lifecycle_test checks each against
// apply(), and that apply() takes no edge missing here.
struct LifecycleEdge {
  TaskStatus from;
  TaskStatus to;
  std::string_view by;  // an operation id, or an event: "lease_expired", "dependency_done"
};
std::span<const LifecycleEdge> lifecycle_edges();

// Claimable now: pending and due.
bool is_claimable(const Task& task, Millis now);
// And by this worker: not assigned to another one.
bool is_claimable_by(const Task& task, const std::string& worker, Millis now);

// Every transition it makes also adds its event to the task's history
// (core/lifecycle_history.hpp).
Transition apply(const Task& task, const Command& command, const TransitionContext& ctx);

// Default retry delay after the given attempt (1-based): base * 2^(attempt-1), capped,
// times jitter.
int default_backoff_seconds(int attempt, const BackoffPolicy& policy, double jitter);

}  // namespace baton
