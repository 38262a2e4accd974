#pragma once
// The functions of the operation table (operations.cpp), one per operation: a validated
// input in, an answer out. tasks.cpp, batches.cpp, workers.cpp, keys.cpp, billing.cpp,
// queues.cpp, admin.cpp, health.cpp and discovery.cpp hold them.
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

#include "api/operation.hpp"

namespace baton::api {

using OperationFn = boost::asio::awaitable<Result>(Services&, Call&);

// tasks.cpp
OperationFn create_task, create_tasks, claim_task, claim_task_by_id, heartbeat_task, complete_task, fail_task,
    cancel_task, requeue_task, review_task, accept_task, rework_task, get_task, list_tasks;
// task_history.cpp
OperationFn get_task_history;
// workers.cpp
OperationFn list_workers;
// keys.cpp
OperationFn register_account, list_keys, create_key, revoke_key;
OperationFn create_account, admin_list_keys, admin_create_key, admin_revoke_key,
    admin_list_accounts;
// An account and its first key, answered as a registration; `plan` "" = the default.
boost::asio::awaitable<Result> open_account(Services& services, Call& call, std::string label,
                                            std::string plan);
// billing.cpp
OperationFn get_billing_plans, get_billing_status, set_account_plan, set_account_budget;
// usage.cpp
OperationFn get_usage, get_usage_timeseries, get_usage_breakdown;
// A time as RFC 3339 or epoch milliseconds (seed 004 sends the latter), from 1970 to the
// end of 9999: usage hours are never negative, and no sum of them overflows.
std::optional<Millis> parse_time(std::string_view text);
// logs.cpp
OperationFn append_logs, get_logs;
// log_streams.cpp
OperationFn stream_logs, create_stream_token;
// costs.cpp
OperationFn get_costs;
// The answer refusing a claim of an account past its monthly cost budget (its own, else
// its plan's), or nullopt when it may claim.
std::optional<Result> month_budget_refusal(Services& services, const Call& call);
// queues.cpp
OperationFn list_queues, pause_queue, resume_queue;
// metrics.cpp
OperationFn get_metrics;
// schedules.cpp
OperationFn create_schedule, list_schedules, get_schedule, update_schedule, delete_schedule,
    trigger_schedule, list_schedule_runs, rotate_schedule_webhook, fire_webhook;
// admin.cpp
OperationFn create_backup;
std::string check_absolute_path(std::string_view path);  // create_backup's `to`: "" or why not
// health.cpp
OperationFn get_health;
// discovery.cpp
OperationFn get_agent_card, get_capabilities, get_tool_manifest, get_openapi_schema;

}  // namespace baton::api
