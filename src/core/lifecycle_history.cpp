#include "core/lifecycle_history.hpp"

namespace baton {

namespace {

// The event a transition adds to the task's history: none for a renewed lease, a log
// append or a link to the verifier (they change no status and record no verdict).
struct EventOf {
  const Task& before;

  static std::optional<TaskEvent> made(TaskEventKind kind, std::string_view worker = {},
                                       std::string_view detail = {}) {
    TaskEvent event;
    event.kind = kind;
    event.worker = cut_utf8(worker, kTaskEventDetailBytes);
    event.detail = cut_utf8(detail, kTaskEventDetailBytes);
    return event;
  }
  // The claim the event ended, if the task was claimed.
  std::string claim_worker() const {
    return before.status == TaskStatus::claimed ? before.claimed_by : std::string();
  }

  std::optional<TaskEvent> operator()(const ClaimCmd& cmd) const {
    return made(TaskEventKind::claim_task, cmd.worker_id);
  }
  std::optional<TaskEvent> operator()(const HeartbeatCmd&) const { return std::nullopt; }
  std::optional<TaskEvent> operator()(const AppendLogCmd&) const { return std::nullopt; }
  std::optional<TaskEvent> operator()(const LinkVerificationCmd&) const { return std::nullopt; }
  std::optional<TaskEvent> operator()(const ReleaseCmd&) const { return std::nullopt; }
  std::optional<TaskEvent> operator()(const CompleteCmd&) const {
    return made(TaskEventKind::complete_task, claim_worker());
  }
  std::optional<TaskEvent> operator()(const FailCmd& cmd) const {
    return made(TaskEventKind::fail_task, claim_worker(), cmd.reason.value_or(""));
  }
  std::optional<TaskEvent> operator()(const CancelCmd&) const {
    return made(TaskEventKind::cancel_task, claim_worker());
  }
  std::optional<TaskEvent> operator()(const RequeueCmd&) const {
    return made(TaskEventKind::requeue_task);
  }
  std::optional<TaskEvent> operator()(const ExpireLeaseCmd&) const {
    return made(TaskEventKind::lease_expired, claim_worker());
  }
  std::optional<TaskEvent> operator()(const ReviewCmd& cmd) const {
    return made(TaskEventKind::review_task, {}, cmd.feedback);
  }
  std::optional<TaskEvent> operator()(const DependencyDoneCmd& cmd) const {
    return made(TaskEventKind::dependency_done, {},
                cmd.dependency_id + (cmd.failed ? " failed" : " completed"));
  }
  std::optional<TaskEvent> operator()(const AcceptCmd&) const {
    return made(TaskEventKind::accept_task);
  }
  std::optional<TaskEvent> operator()(const ReworkCmd& cmd) const {
    return made(TaskEventKind::rework_task, {}, cmd.feedback);
  }
  std::optional<TaskEvent> operator()(const VerificationDoneCmd& cmd) const {
    std::string verdict = cmd.passed ? "passed" : "failed";
    if (cmd.notes && !cmd.notes->empty()) verdict += ": " + *cmd.notes;
    return made(TaskEventKind::verification_done, {}, verdict);
  }
  std::optional<TaskEvent> operator()(const AcceptanceTimeoutCmd&) const {
    return made(TaskEventKind::acceptance_timeout);
  }
};

// A released claim leaves no trace: its event, the latest, goes (unless the bound already
// dropped it).
void forget_claim(TaskHistory& history, int attempt) {
  if (!history.events.empty() && history.events.back().kind == TaskEventKind::claim_task &&
      history.events.back().attempt == attempt) {
    history.events.pop_back();
  }
}

}  // namespace

void record_event(const Task& before, const Command& command, const TransitionContext& ctx,
                  Task& after) {
  if (std::holds_alternative<ReleaseCmd>(command)) {
    forget_claim(after.history, before.attempt_count);
    return;
  }
  std::optional<TaskEvent> event = std::visit(EventOf{before}, command);
  if (!event) return;
  event->at = ctx.now;
  event->from = before.status;
  event->to = after.status;
  event->attempt = after.attempt_count;
  if (std::holds_alternative<ClaimCmd>(command)) {
    // Trimmed with the next event instead: a release then takes it back out and loses
    // nothing older.
    after.history.events.push_back(std::move(*event));
  } else {
    after.history.add(std::move(*event), ctx.history_kept);
  }
}

void record_creation(Task& task, Millis now) {
  TaskEvent event;
  event.at = now;
  event.kind = TaskEventKind::create_task;
  event.from = event.to = task.status;
  if (task.status == TaskStatus::cancelled && task.failure_reason) {
    event.detail = cut_utf8(*task.failure_reason, kTaskEventDetailBytes);
  }
  task.history.events.push_back(std::move(event));
}

}  // namespace baton
