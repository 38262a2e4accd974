#include "core/contract.hpp"

#include <algorithm>

namespace baton {

namespace {

std::string task_path(const std::string& id, const char* suffix = "") {
  return "/v1/tasks/" + id + suffix;
}

// `description` and `method` must be literals: they are kept as views (contract.hpp).
// const char* parameters make passing a std::string (which would dangle) a compile error.
NextAction action(ActionCode code, bool recommended, const char* description,
                  const char* method, std::string endpoint) {
  NextAction a;
  a.action = code;
  a.recommended = recommended;
  a.description = description;
  a.method = method;
  a.endpoint = std::move(endpoint);
  return a;
}

NextAction wait_action(int seconds, const char* description, const char* method,
                       std::string endpoint) {
  NextAction a = action(ActionCode::retry_after_wait, true, description, method,
                        std::move(endpoint));
  a.retry_after_seconds = std::max(1, seconds);
  return a;
}

NextAction create_action(bool recommended) {
  return action(ActionCode::create_task, recommended, "Create a new task.", "POST", "/v1/tasks");
}

// After a completion a worker usually wants its next task: complete_task and fail_task
// with claim_next get it in the same call.
NextAction next_claim_action() {
  return action(ActionCode::claim_task, false,
                "Claim your next task (complete_task and fail_task with claim_next do this in "
                "the same call).",
                "POST", "/v1/tasks/claim");
}

NextAction status_action(const std::string& id, bool recommended) {
  return action(ActionCode::check_task_status, recommended,
                "Read the task's current state before doing anything else.", "GET", task_path(id));
}

void add_claimed_actions(Contract& c, const Task& task, Millis now, ContractSite site) {
  long long remaining_ms = task.lease_expires_at - now;
  if (remaining_ms <= 0) {
    c.lease_valid = false;
    c.lease_expires_in_seconds = 0;
    c.next_actions.push_back(status_action(task.id, true));
    return;
  }
  long long seconds = remaining_ms / 1000;
  c.lease_valid = true;
  c.lease_expires_in_seconds = seconds;
  c.recommended_heartbeat_interval_seconds = std::max(1LL, seconds / 3);
  bool at_claim = site == ContractSite::claim;
  c.next_actions.push_back(action(ActionCode::heartbeat, at_claim,
                                  "Renew the lease while you work, every "
                                  "recommended_heartbeat_interval_seconds.",
                                  "POST", task_path(task.id, "/heartbeat")));
  c.next_actions.push_back(action(ActionCode::complete_task, !at_claim,
                                  "Report the result when the work is done; with claim_next "
                                  "the same call claims your next task.",
                                  "POST",
                                  task_path(task.id, "/complete")));
  c.next_actions.push_back(action(ActionCode::fail_task, false,
                                  "Report a failure; the task is retried while attempts remain.",
                                  "POST", task_path(task.id, "/fail")));
}

// A task whose reported cost passed its budget: its worker is told to stop. Claimed, the
// stop is the recommended action (complete and fail stay offered, to hand in what there
// is); otherwise the state's own actions stay recommended and stop_work says why no more
// work should follow.
void add_budget_stop(Contract& c, const Task& task) {
  c.budget_context = BudgetContext{BudgetContext::Scope::task, task.budget_usd_nanos,
                                   task.cost.usd_nanos, 0};
  bool claimed = task.status == TaskStatus::claimed && c.lease_valid.value_or(false);
  if (claimed) {
    for (NextAction& a : c.next_actions) a.recommended = false;
  }
  c.next_actions.insert(c.next_actions.begin(),
                        action(ActionCode::stop_work, claimed,
                               "budget_exceeded: the task's reported cost passed its budgetUsd. "
                               "Stop working on it; complete or fail it with what you have.",
                               "", ""));
}

}  // namespace

Contract contract_for_task(const Task& task, Millis now, ContractSite site) {
  Contract c;
  if (site == ContractSite::claim) c.task_claimable = true;
  switch (task.status) {
    case TaskStatus::pending:
      // The spec's pending contract is claim_task, scheduled or not. A task scheduled
      // later also says when (a claim before then gets not_yet_claimable).
      c.next_actions.push_back(action(ActionCode::claim_task, true,
                                      task.scheduled_at > now
                                          ? "Claim this task once its scheduledAt has come."
                                          : "Claim this task to work on it.",
                                      "POST", task_path(task.id, "/claim")));
      if (task.scheduled_at > now) {
        c.next_actions.back().retry_after_seconds =
            static_cast<int>((task.scheduled_at - now + 999) / 1000);
      }
      c.next_actions.push_back(status_action(task.id, false));
      break;
    case TaskStatus::claimed:
      add_claimed_actions(c, task, now, site);
      break;
    case TaskStatus::completed:
      if (task.output_id) {
        NextAction download = action(ActionCode::download_artifact, true,
                                     "Fetch the artifact named by output_id from your artifact store.",
                                     "", "");
        download.output_id = *task.output_id;
        c.next_actions.push_back(std::move(download));
        c.next_actions.push_back(create_action(false));
      } else {
        c.next_actions.push_back(create_action(true));
      }
      c.next_actions.push_back(next_claim_action());
      break;
    case TaskStatus::dead_letter:
      c.next_actions.push_back(action(ActionCode::requeue_task, true,
                                      "Attempts are exhausted; requeue the task to try again.",
                                      "POST", task_path(task.id, "/requeue")));
      c.next_actions.push_back(status_action(task.id, false));
      break;
    case TaskStatus::cancelled:
      c.next_actions.push_back(create_action(true));
      break;
    case TaskStatus::blocked:
      c.next_actions.push_back(action(ActionCode::check_task_status, true,
                                      "The task waits for its dependencies (waiting_on); it "
                                      "becomes pending, and claimable, once they complete.",
                                      "GET", task_path(task.id)));
      break;
    case TaskStatus::awaiting_review:
      c.next_actions.push_back(action(ActionCode::await_review, true,
                                      "Your part is done: the result waits for a reviewer's "
                                      "decision. Read the task later to learn it.",
                                      "GET", task_path(task.id)));
      c.next_actions.push_back(action(ActionCode::review_task, false,
                                      "For the reviewer: approve, reject or revise (send it "
                                      "back with feedback).",
                                      "POST", task_path(task.id, "/review")));
      c.next_actions.push_back(next_claim_action());
      break;
    case TaskStatus::awaiting_acceptance: {
      bool verifying = task.verification == Verification::pending;
      bool failed = task.verification == Verification::failed;
      if (verifying) {
        c.next_actions.push_back(action(ActionCode::await_verification, true,
                                        "The verification task has not finished; read the "
                                        "task later to see its verdict.",
                                        "GET", task_path(task.id)));
      }
      c.next_actions.push_back(action(ActionCode::accept_task, !verifying && !failed,
                                      "Accept the result against the definition of done.",
                                      "POST", task_path(task.id, "/accept")));
      c.next_actions.push_back(action(ActionCode::rework_task, failed,
                                      "Send the task back to work with feedback for the next "
                                      "claimer.",
                                      "POST", task_path(task.id, "/rework")));
      c.next_actions.push_back(next_claim_action());
      break;
    }
  }
  if (task.over_budget()) add_budget_stop(c, task);
  return c;
}

Contract contract_for_month_budget(const BudgetContext& budget, Millis now) {
  Contract c;
  c.retryable = true;
  int seconds = static_cast<int>(std::min<Millis>((budget.resets_at - now + 999) / 1000, 31 * 86400));
  c.next_actions.push_back(wait_action(seconds,
                                       "budget_exceeded: the account spent its monthly cost "
                                       "budget (cost_budget_usd); claims are refused until it "
                                       "resets at the start of next month (UTC).",
                                       "POST", "/v1/tasks/claim"));
  c.budget_context = budget;
  return c;
}

Contract contract_for_claimed_batch() {
  Contract c;
  c.task_claimable = true;
  c.next_actions.push_back(action(ActionCode::heartbeat, true,
                                  "Work on each task as its own agent_contract says: heartbeat "
                                  "each lease you hold, then complete or fail each task.",
                                  "", ""));
  return c;
}

Contract contract_for_empty_claim(int retry_after_seconds) {
  Contract c;
  c.retryable = true;
  c.task_claimable = false;
  c.next_actions.push_back(wait_action(retry_after_seconds,
                                       "No task is claimable now; claim again after the wait "
                                       "(or send wait_seconds to long-poll).",
                                       "POST", "/v1/tasks/claim"));
  c.next_actions.push_back(create_action(false));
  return c;
}

Contract contract_for_paused_queue(const std::string& type, int retry_after_seconds) {
  Contract c;
  c.retryable = true;
  c.task_claimable = false;
  c.next_actions.push_back(wait_action(retry_after_seconds,
                                       "queue_paused: an operator paused this task type's "
                                       "queue; no task of it is handed out until it is resumed. "
                                       "Claim again after the wait (a long poll waits for the "
                                       "resume).",
                                       "POST", "/v1/tasks/claim"));
  c.queue_context = QueueContext{type};
  return c;
}

Contract contract_for_error(ErrorCode code, const std::string& task_id, int retry_after_seconds) {
  const ErrorInfo& info = error_info(code);
  Contract c;
  c.retryable = info.retryable;
  bool has_task = !task_id.empty();
  switch (info.action) {
    case ActionCode::authenticate:
      // An admin operation: no key an agent can register for would do.
      if (code == ErrorCode::forbidden) {
        c.next_actions.push_back(action(ActionCode::authenticate, true,
                                        "This is an operator's operation: send 'Authorization: "
                                        "Bearer <admin_key>' with the server's admin key; an API "
                                        "key is not enough.",
                                        "", ""));
        break;
      }
      c.next_actions.push_back(action(ActionCode::authenticate, true,
                                      "Send 'Authorization: Bearer <api key>'; register for a key "
                                      "if you have none.",
                                      "POST", "/v1/keys/register"));
      break;
    case ActionCode::fix_request:
      c.next_actions.push_back(action(ActionCode::fix_request, true,
                                      "Correct the request as the message says; do not resend it "
                                      "unchanged.",
                                      "", ""));
      break;
    case ActionCode::list_tasks:
      c.next_actions.push_back(action(ActionCode::list_tasks, true,
                                      "The task does not exist for this account; list your tasks.",
                                      "GET", "/v1/tasks"));
      break;
    case ActionCode::check_task_status:
      if (has_task) {
        c.next_actions.push_back(status_action(task_id, true));
      } else {
        c.next_actions.push_back(action(ActionCode::list_tasks, true, "List your tasks.", "GET",
                                        "/v1/tasks"));
      }
      break;
    case ActionCode::stop_work:
      c.next_actions.push_back(action(ActionCode::stop_work, true,
                                      "The task was cancelled: stop working on it and discard "
                                      "partial results.",
                                      "", ""));
      if (has_task) c.next_actions.push_back(status_action(task_id, false));
      break;
    case ActionCode::create_task:
      c.next_actions.push_back(action(ActionCode::create_task, true,
                                      "This idempotency key was used with another body; send the "
                                      "new request with a new key.",
                                      "POST", "/v1/tasks"));
      break;
    case ActionCode::upgrade_plan:
      c.next_actions.push_back(action(ActionCode::upgrade_plan, true,
                                      "The plan's quota is used up; ask the operator for a larger "
                                      "plan.",
                                      "GET", "/v1/billing/plans"));
      break;
    case ActionCode::retry_after_wait: {
      int seconds = retry_after_seconds > 0 ? retry_after_seconds : info.retry_after_seconds;
      // Waiting for a lease to end or a schedule to come: claim the task then. Any other
      // wait (overload, storage, in-flight duplicate): resend the same request.
      bool claim_later = has_task && (code == ErrorCode::task_currently_claimed ||
                                      code == ErrorCode::not_yet_claimable);
      const char* method = claim_later ? "POST" : "";
      std::string endpoint = claim_later ? task_path(task_id, "/claim") : "";
      c.next_actions.push_back(wait_action(seconds, "Wait, then send the same request again.",
                                           method, endpoint));
      if (has_task) c.next_actions.push_back(status_action(task_id, false));
      break;
    }
    default:
      c.next_actions.push_back(action(info.action, true, "", "", ""));
      break;
  }
  return c;
}

Contract contract_after_registration() {
  Contract c;
  c.next_actions.push_back(create_action(true));
  c.next_actions.push_back(action(ActionCode::claim_task, false, "Claim the next task of a type.",
                                  "POST", "/v1/tasks/claim"));
  return c;
}

Contract contract_for_list() {
  Contract c;
  c.next_actions.push_back(action(ActionCode::claim_task, true, "Claim the next task of a type.",
                                  "POST", "/v1/tasks/claim"));
  c.next_actions.push_back(create_action(false));
  return c;
}

}  // namespace baton
