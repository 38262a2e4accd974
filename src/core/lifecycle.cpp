#include "core/lifecycle.hpp"

#include "core/lifecycle_history.hpp"

#include <algorithm>
#include <cmath>

namespace baton {

namespace {

Transition fail_with(const Task& task, ErrorCode code, int retry_after = 0) {
  Transition t;
  t.error = code;
  t.task = task;
  t.retry_after_seconds = retry_after;
  return t;
}

// The worker's part is done: completed, or held at the acceptance gate (with a
// verification to run, and the gate's deadline) when the task has one.
void finish_work(Task& task, Millis now) {
  if (!task.has_acceptance_gate()) {
    task.status = TaskStatus::completed;
    task.completed_at = now;
    return;
  }
  task.status = TaskStatus::awaiting_acceptance;
  task.verification = task.verification_type.empty() ? Verification::none : Verification::pending;
  task.verification_notes.reset();
  task.verification_task_id.clear();
  task.acceptance_deadline =
      task.acceptance_timeout_seconds > 0
          ? now + static_cast<Millis>(task.acceptance_timeout_seconds) * 1000
          : 0;
}

Task accepted(Task task, Millis now) {
  task.status = TaskStatus::completed;
  task.completed_at = now;
  task.acceptance_deadline = 0;
  return task;
}

// Nothing to do and nothing to write: a safe retry, or news that changes nothing.
Transition unchanged(const Task& task) {
  Transition t;
  t.task = task;
  t.unchanged = true;
  return t;
}

Transition success(Task task, Millis now) {
  task.updated_at = now;
  Transition t;
  t.task = std::move(task);
  return t;
}

// Whether the caller is the claim identified by `token` / `worker`. A request with
// neither is accepted against the current claim, as Orchestrion clients send neither;
// a worker_id alone must equal the claim's (a claim made without one matches none).
bool is_same_claim(const Caller& caller, const std::string& token, const std::string& worker) {
  if (!caller.lease_token.empty()) return caller.lease_token == token;
  if (!caller.worker_id.empty()) return caller.worker_id == worker;
  return true;
}

int seconds_until(Millis when, Millis now) {
  if (when <= now) return 1;
  return static_cast<int>((when - now + 999) / 1000);
}

// Rules (1)-(5) of "Which error wins" for heartbeat, complete and fail: returns none when
// the caller holds the live claim, else the error that wins.
ErrorCode check_live_claim(const Task& task, const Caller& caller, Millis now, bool completing) {
  switch (task.status) {
    case TaskStatus::completed:
      if (completing && is_same_claim(caller, task.lease_token, task.claimed_by)) {
        return ErrorCode::none;  // rule (1); the caller turns it into "unchanged"
      }
      return ErrorCode::invalid_transition;
    case TaskStatus::cancelled:
      if (caller.lease_token.empty()) return ErrorCode::task_cancelled;
      if (task.cancelled_live_claim && caller.lease_token == task.lease_token) {
        return ErrorCode::task_cancelled;
      }
      return ErrorCode::invalid_transition;
    case TaskStatus::awaiting_review:
    case TaskStatus::awaiting_acceptance:
      // Completed by this claim, waiting for a decision: completing again is rule (1).
      if (completing && is_same_claim(caller, task.lease_token, task.claimed_by)) {
        return ErrorCode::none;
      }
      return ErrorCode::invalid_transition;
    case TaskStatus::dead_letter:
    case TaskStatus::blocked:
      return ErrorCode::invalid_transition;
    case TaskStatus::claimed:
      if (!is_same_claim(caller, task.lease_token, task.claimed_by)) return ErrorCode::lease_expired;
      if (now >= task.lease_expires_at) return ErrorCode::lease_expired;
      return ErrorCode::none;
    case TaskStatus::pending:
      return task.ever_claimed() ? ErrorCode::lease_expired : ErrorCode::invalid_transition;
  }
  return ErrorCode::invalid_transition;
}

// A claim ended (fail or lease expiry): retry later, or dead-letter when out of attempts.
Task end_attempt(Task task, bool retry, Millis retry_at) {
  task.lease_expires_at = 0;
  if (retry && task.attempt_count < task.max_attempts) {
    task.status = TaskStatus::pending;
    task.scheduled_at = retry_at;
  } else {
    task.status = TaskStatus::dead_letter;
  }
  return task;
}

struct Apply {
  const Task& task;
  const TransitionContext& ctx;

  Transition operator()(const ClaimCmd& cmd) const {
    switch (task.status) {
      case TaskStatus::pending:
        if (task.scheduled_at > ctx.now) {
          return fail_with(task, ErrorCode::not_yet_claimable,
                           seconds_until(task.scheduled_at, ctx.now));
        }
        if (task.assigned_at(ctx.now) && cmd.worker_id != task.assign_to) {
          return fail_with(task, ErrorCode::task_assigned,
                           task.assigned_until > 0 ? seconds_until(task.assigned_until, ctx.now) : 0);
        }
        break;
      case TaskStatus::claimed:
        return fail_with(task, ErrorCode::task_currently_claimed,
                         seconds_until(task.lease_expires_at, ctx.now));
      default:
        return fail_with(task, ErrorCode::invalid_transition);
    }
    Task next = task;
    next.status = TaskStatus::claimed;
    next.attempt_count += 1;
    next.lease_expires_at = ctx.now + static_cast<Millis>(task.lease_duration_seconds) * 1000;
    next.claimed_by = cmd.worker_id;
    next.lease_token = cmd.new_lease_token;
    next.claimed_at = ctx.now;
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const HeartbeatCmd& cmd) const {
    ErrorCode error = check_live_claim(task, cmd.caller, ctx.now, false);
    if (error != ErrorCode::none) return fail_with(task, error);
    Task next = task;
    next.lease_expires_at = ctx.now + static_cast<Millis>(task.lease_duration_seconds) * 1000;
    next.cost.add(cmd.cost);
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const CompleteCmd& cmd) const {
    ErrorCode error = check_live_claim(task, cmd.caller, ctx.now, true);
    if (error != ErrorCode::none) return fail_with(task, error);
    if (task.status != TaskStatus::claimed) return unchanged(task);  // completed or in review
    Task next = task;
    next.lease_expires_at = 0;
    next.result_json = cmd.result_json;
    next.output_id = cmd.output_id;
    next.cost.add(cmd.cost);
    if (task.review_required) {
      next.status = TaskStatus::awaiting_review;  // the result waits for the reviewer
    } else {
      finish_work(next, ctx.now);
    }
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const FailCmd& cmd) const {
    ErrorCode error = check_live_claim(task, cmd.caller, ctx.now, false);
    if (error != ErrorCode::none) return fail_with(task, error);
    int delay = cmd.retry_after_seconds
                    ? *cmd.retry_after_seconds
                    : default_backoff_seconds(task.attempt_count, ctx.backoff, ctx.jitter);
    Millis retry_at = delay > 0 ? ctx.now + static_cast<Millis>(delay) * 1000 : 0;
    Task next = end_attempt(task, cmd.retryable, retry_at);
    next.failure_reason = cmd.reason;
    next.cost.add(cmd.cost);
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const AppendLogCmd& cmd) const {
    ErrorCode error = check_live_claim(task, cmd.caller, ctx.now, false);
    if (error != ErrorCode::none) return fail_with(task, error);
    Task next = task;
    next.log_last_seq += cmd.change.added;
    next.log_first_seq += cmd.change.dropped;
    next.log_bytes += cmd.change.added_bytes - cmd.change.dropped_bytes;
    next.log_dropped += cmd.change.dropped;
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const CancelCmd&) const {
    if (is_terminal(task.status)) return fail_with(task, ErrorCode::invalid_transition);
    Task next = task;
    next.cancelled_live_claim = task.status == TaskStatus::claimed;
    next.status = TaskStatus::cancelled;
    next.lease_expires_at = 0;
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const RequeueCmd&) const {
    if (task.status != TaskStatus::dead_letter) return fail_with(task, ErrorCode::invalid_transition);
    Task next = task;
    next.status = TaskStatus::pending;
    next.attempt_count = 0;
    next.scheduled_at = 0;
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const ExpireLeaseCmd&) const {
    if (task.status != TaskStatus::claimed) return fail_with(task, ErrorCode::invalid_transition);
    if (ctx.now < task.lease_expires_at) return fail_with(task, ErrorCode::task_currently_claimed);
    Task next = end_attempt(task, true, 0);
    next.failure_reason = "lease_expired";
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const ReviewCmd& cmd) const {
    if (task.status != TaskStatus::awaiting_review) {
      return fail_with(task, ErrorCode::invalid_transition);
    }
    Task next = task;
    switch (cmd.decision) {
      case ReviewDecision::approve:
        finish_work(next, ctx.now);
        break;
      case ReviewDecision::reject:
        next.status = TaskStatus::dead_letter;
        next.failure_reason = cmd.feedback;
        break;
      case ReviewDecision::revise:
        // Back to the queue, due now; the attempt that was revised stays counted.
        next.status = TaskStatus::pending;
        next.scheduled_at = 0;
        next.review_feedback = cmd.feedback;
        break;
    }
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const DependencyDoneCmd& cmd) const {
    auto it = std::find(task.waiting_on.begin(), task.waiting_on.end(), cmd.dependency_id);
    if (task.status != TaskStatus::blocked || it == task.waiting_on.end()) return unchanged(task);
    Task next = task;
    next.waiting_on.erase(next.waiting_on.begin() + (it - task.waiting_on.begin()));
    if (cmd.failed && !task.run_on_dependency_failure) {
      next.status = TaskStatus::cancelled;
      next.failure_reason = "dependency_failed";
      next.waiting_on.clear();
    } else if (next.waiting_on.empty()) {
      next.status = TaskStatus::pending;
    }
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const AcceptCmd&) const {
    if (task.status != TaskStatus::awaiting_acceptance) {
      return fail_with(task, ErrorCode::invalid_transition);
    }
    return success(accepted(task, ctx.now), ctx.now);
  }

  Transition operator()(const ReworkCmd& cmd) const {
    if (task.status != TaskStatus::awaiting_acceptance) {
      return fail_with(task, ErrorCode::invalid_transition);
    }
    // Back to work, due now; the next completion gets a verification of its own.
    Task next = task;
    next.status = TaskStatus::pending;
    next.scheduled_at = 0;
    next.acceptance_deadline = 0;
    next.review_feedback = cmd.feedback;
    next.verification = Verification::none;
    next.verification_task_id.clear();
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const LinkVerificationCmd& cmd) const {
    if (task.status != TaskStatus::awaiting_acceptance ||
        task.verification != Verification::pending || !task.verification_task_id.empty()) {
      return unchanged(task);
    }
    Task next = task;
    next.verification_task_id = cmd.verification_task_id;
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const VerificationDoneCmd& cmd) const {
    // Only the verification this gate waits for: a late result of an earlier round (the
    // task was reworked since) changes nothing.
    // The verdict may arrive before the link (the verifier was quick): the attempt says it
    // is this round's.
    if (task.status != TaskStatus::awaiting_acceptance ||
        task.verification != Verification::pending || task.attempt_count != cmd.attempt ||
        (!task.verification_task_id.empty() &&
         task.verification_task_id != cmd.verification_task_id)) {
      return unchanged(task);
    }
    Task next = task;
    next.verification_task_id = cmd.verification_task_id;
    next.verification = cmd.passed ? Verification::passed : Verification::failed;
    next.verification_notes = cmd.notes;
    if (cmd.passed && task.auto_accept) next = accepted(std::move(next), ctx.now);
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const AcceptanceTimeoutCmd&) const {
    if (task.status != TaskStatus::awaiting_acceptance || task.acceptance_deadline == 0) {
      return fail_with(task, ErrorCode::invalid_transition);
    }
    if (ctx.now < task.acceptance_deadline) return fail_with(task, ErrorCode::not_yet_claimable);
    if (task.accept_on_timeout) return success(accepted(task, ctx.now), ctx.now);
    Task next = task;
    next.status = TaskStatus::dead_letter;
    next.acceptance_deadline = 0;
    next.failure_reason = "acceptance_timeout";
    return success(std::move(next), ctx.now);
  }

  Transition operator()(const ReleaseCmd& cmd) const {
    if (task.status != TaskStatus::claimed || task.lease_token != cmd.lease_token) {
      return fail_with(task, ErrorCode::lease_expired);
    }
    Task next = task;
    next.status = TaskStatus::pending;
    next.attempt_count -= 1;
    next.lease_expires_at = 0;
    next.claimed_by = cmd.previous_claimed_by;
    next.lease_token = cmd.previous_lease_token;
    return success(std::move(next), ctx.now);
  }
};

}  // namespace

std::span<const LifecycleEdge> lifecycle_edges() {
  using S = TaskStatus;
  static constexpr LifecycleEdge kEdges[] = {
      {S::pending, S::claimed, "claim_task"},
      {S::claimed, S::claimed, "heartbeat"},
      {S::claimed, S::completed, "complete_task"},
      {S::claimed, S::pending, "fail_task"},
      {S::claimed, S::dead_letter, "fail_task"},
      {S::claimed, S::pending, "lease_expired"},
      {S::claimed, S::dead_letter, "lease_expired"},
      {S::pending, S::cancelled, "cancel_task"},
      {S::claimed, S::cancelled, "cancel_task"},
      {S::dead_letter, S::pending, "requeue_task"},
      {S::claimed, S::awaiting_review, "complete_task"},
      {S::awaiting_review, S::completed, "review_task"},
      {S::awaiting_review, S::dead_letter, "review_task"},
      {S::awaiting_review, S::pending, "review_task"},
      {S::awaiting_review, S::cancelled, "cancel_task"},
      {S::blocked, S::blocked, "dependency_done"},
      {S::blocked, S::pending, "dependency_done"},
      {S::blocked, S::cancelled, "dependency_done"},
      {S::blocked, S::cancelled, "cancel_task"},
      {S::claimed, S::awaiting_acceptance, "complete_task"},
      {S::awaiting_review, S::awaiting_acceptance, "review_task"},
      {S::awaiting_acceptance, S::awaiting_acceptance, "verification_done"},
      {S::awaiting_acceptance, S::completed, "verification_done"},
      {S::awaiting_acceptance, S::completed, "accept_task"},
      {S::awaiting_acceptance, S::pending, "rework_task"},
      {S::awaiting_acceptance, S::completed, "acceptance_timeout"},
      {S::awaiting_acceptance, S::dead_letter, "acceptance_timeout"},
      {S::awaiting_acceptance, S::cancelled, "cancel_task"},
  };
  return kEdges;
}

bool is_claimable(const Task& task, Millis now) {
  return task.status == TaskStatus::pending && task.scheduled_at <= now;
}

bool is_claimable_by(const Task& task, const std::string& worker, Millis now) {
  return is_claimable(task, now) && (!task.assigned_at(now) || task.assign_to == worker);
}

Transition apply(const Task& task, const Command& command, const TransitionContext& ctx) {
  Transition t = std::visit(Apply{task, ctx}, command);
  if (t.ok() && !t.unchanged) record_event(task, command, ctx, t.task);
  return t;
}

int default_backoff_seconds(int attempt, const BackoffPolicy& policy, double jitter) {
  if (policy.base_seconds <= 0) return 0;
  int exponent = std::clamp(attempt - 1, 0, 30);
  double delay = std::min<double>(policy.max_seconds,
                                  static_cast<double>(policy.base_seconds) * std::ldexp(1.0, exponent));
  jitter = std::clamp(jitter, 0.5, 1.0);
  return std::max(1, static_cast<int>(std::lround(delay * jitter)));
}

}  // namespace baton
