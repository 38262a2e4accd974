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
  return out.str();
}

}  // namespace baton::test
