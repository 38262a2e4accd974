#pragma once
// The agent_contract (spec section 7): what an agent should do next, built from a task's
// state or from an error. Pure data; api/ turns it into JSON.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/errors.hpp"
#include "core/task.hpp"

namespace baton {

struct NextAction {
  ActionCode action;
  bool recommended = false;
  // Description and method are string literals (static storage): every answer carries a
  // contract, so they are not copied into each one.
  std::string_view description;
  std::string_view method;  // "" when the action is not an HTTP call (fix_request, stop_work)
  std::string endpoint;     // "" likewise
  std::optional<int> retry_after_seconds;  // retry_after_wait only
  std::optional<std::string> output_id;    // download_artifact only
};

// Why a claim was refused at the plan's worker limit (seed 000's contract, with the plan).
struct BillingContext {
  std::string plan;
  std::int64_t workers_in_use = 0;
  std::int64_t workers_limit = 0;
};

// Why the work should stop for its cost (budget_exceeded): the task's own budget, or the
// account's for the month (then also when it resets).
struct BudgetContext {
  enum class Scope : std::uint8_t { task, month } scope = Scope::task;
  std::int64_t budget_usd_nanos = 0;
  std::int64_t spent_usd_nanos = 0;
  Millis resets_at = 0;  // month only: the first instant of next month (UTC)
};

// Why a claim of a type found nothing: an operator paused its queue.
struct QueueContext {
  std::string type;
};

struct Contract {
  bool retryable = false;
  std::vector<NextAction> next_actions;
  std::optional<bool> task_claimable;  // claim responses only
  std::optional<bool> lease_valid;     // claimed tasks only
  std::optional<long long> lease_expires_in_seconds;
  std::optional<long long> recommended_heartbeat_interval_seconds;
  std::optional<BillingContext> billing_context;  // max_workers_reached only
  std::optional<BudgetContext> budget_context;    // budget_exceeded only
  std::optional<QueueContext> queue_context;      // claims of a paused queue only
};

// Where the contract is given: a claim's answer recommends heartbeat, later answers
// recommend complete_task.
enum class ContractSite { claim, other };

Contract contract_for_task(const Task& task, Millis now, ContractSite site);
// A claim of several tasks (max_tasks): each carries its own contract.
Contract contract_for_claimed_batch();
// A claim that found nothing.
Contract contract_for_empty_claim(int retry_after_seconds);
// A claim of a type whose queue is paused: nothing is claimed until it is resumed.
Contract contract_for_paused_queue(const std::string& type, int retry_after_seconds);
// An error; `task_id` fills endpoints when the error concerns one task.
Contract contract_for_error(ErrorCode code, const std::string& task_id = {},
                            int retry_after_seconds = 0);
// After registration: create a task next.
Contract contract_after_registration();
// The account spent its monthly cost budget: no claims until it resets.
Contract contract_for_month_budget(const BudgetContext& budget, Millis now);
// A list page: claim or create next.
Contract contract_for_list();

}  // namespace baton
