#pragma once
// JSON bodies of Baton's answers: the task resource, the agent_contract, error bodies.
// Written straight into a string (stored payloads and results are spliced in as the JSON
// text they were stored as, never re-parsed).
#include <string>

#include "core/contract.hpp"
#include "core/errors.hpp"
#include "core/task.hpp"

namespace baton::api {

struct TaskView {
  bool with_lease_token = false;  // only claim and heartbeat answers show it
};

// Client bytes quoted in an error message (a path, a header): printable ASCII only, at
// most 200 characters, anything else as '?', so the answer stays valid UTF-8 JSON.
std::string printable(std::string_view text);

void append_task(std::string& out, const Task& task, TaskView view);
void append_contract(std::string& out, const Contract& contract);
void append_json_string(std::string& out, std::string_view text);
// The quoted string, or null when it is empty (an id or name that was never set).
void append_json_string_or_null(std::string& out, std::string_view text);
// ,"children":{"count", "ids", "rollup": {status: n, …}} of a parent's read
// "children": ids, count, rollup by status, their cost and, with the parent's own
// (`parent_cost`), the total.
void append_children(std::string& out, const TaskChildren& children, const TaskCost& parent_cost);

// {"inputTokens", "outputTokens", "totalTokens", "estimatedCostUsd", "cpuTimeMs",
// "subrequests"}: seed 004's CostBreakdown.
void append_cost(std::string& out, const TaskCost& cost);

// {"task": …, "agent_contract": …}
std::string task_body(const Task& task, Millis now, ContractSite site, TaskView view);
// {"task": null, "agent_contract": …} for a claim that found nothing
std::string empty_claim_body(int retry_after_seconds);
// A claim of a paused queue's type (contract_for_paused_queue).
std::string paused_claim_body(const std::string& type, int retry_after_seconds);
// {"error", "message", "request_id", "agent_contract"}
std::string error_body(ErrorCode code, std::string_view message, std::string_view request_id,
                       const std::string& task_id = {}, int retry_after_seconds = 0);
std::string error_body(std::string_view code, std::string_view message,
                       std::string_view request_id, const Contract& contract);

}  // namespace baton::api
