#pragma once
// Field-by-field comparison of two tasks for test messages: the names of the fields that
// differ, "" when equal.
#include <sstream>
#include <string>

#include "core/task.hpp"

namespace baton::test {

inline std::string task_diff(const Task& a, const Task& b) {
  std::ostringstream out;
  auto field = [&](const char* name, bool same) {
    if (!same) out << name << ' ';
  };
  field("id", a.id == b.id);
  field("account_id", a.account_id == b.account_id);
  field("type", a.type == b.type);
  field("payload_json", a.payload_json == b.payload_json);
  field("result_json", a.result_json == b.result_json);
  field("output_id", a.output_id == b.output_id);
  field("status", a.status == b.status);
  field("priority", a.priority == b.priority);
  field("max_attempts", a.max_attempts == b.max_attempts);
  field("attempt_count", a.attempt_count == b.attempt_count);
  field("lease_duration_seconds", a.lease_duration_seconds == b.lease_duration_seconds);
  field("lease_expires_at", a.lease_expires_at == b.lease_expires_at);
  field("claimed_by", a.claimed_by == b.claimed_by);
  field("lease_token", a.lease_token == b.lease_token);
  field("scheduled_at", a.scheduled_at == b.scheduled_at);
  field("failure_reason", a.failure_reason == b.failure_reason);
  field("created_at", a.created_at == b.created_at);
  field("updated_at", a.updated_at == b.updated_at);
  field("completed_at", a.completed_at == b.completed_at);
  field("cancelled_live_claim", a.cancelled_live_claim == b.cancelled_live_claim);
  field("depends_on", a.depends_on == b.depends_on);
  field("waiting_on", a.waiting_on == b.waiting_on);
  field("run_on_dependency_failure", a.run_on_dependency_failure == b.run_on_dependency_failure);
  field("parent_task_id", a.parent_task_id == b.parent_task_id);
  field("review_required", a.review_required == b.review_required);
  field("review_feedback", a.review_feedback == b.review_feedback);
  field("definition_of_done", a.definition_of_done == b.definition_of_done);
  field("verification_type", a.verification_type == b.verification_type);
  field("auto_accept", a.auto_accept == b.auto_accept);
  field("acceptance_timeout_seconds", a.acceptance_timeout_seconds == b.acceptance_timeout_seconds);
  field("accept_on_timeout", a.accept_on_timeout == b.accept_on_timeout);
  field("acceptance_deadline", a.acceptance_deadline == b.acceptance_deadline);
  field("verification", a.verification == b.verification);
  field("verification_notes", a.verification_notes == b.verification_notes);
  field("verification_task_id", a.verification_task_id == b.verification_task_id);
  field("verifies_task_id", a.verifies_task_id == b.verifies_task_id);
  field("verifies_attempt", a.verifies_attempt == b.verifies_attempt);
  field("claimed_at", a.claimed_at == b.claimed_at);
  field("assign_to", a.assign_to == b.assign_to);
  field("assigned_until", a.assigned_until == b.assigned_until);
  field("cost", a.cost == b.cost);
  field("budget_usd_nanos", a.budget_usd_nanos == b.budget_usd_nanos);
  field("log", a.log_first_seq == b.log_first_seq && a.log_last_seq == b.log_last_seq &&
                   a.log_bytes == b.log_bytes && a.log_dropped == b.log_dropped);
  field("history", a.history == b.history);
  return out.str();
}

}  // namespace baton::test
