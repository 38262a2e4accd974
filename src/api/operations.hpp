#pragma once
// The operation table: every endpoint of Baton's API, one row each (operations.cpp: tasks
// and discovery; account_operations.cpp: accounts, keys, plans, usage, admin). Adding an
// endpoint is one row plus its function (handlers.hpp); routing, the MCP tools and the
// discovery documents follow from the row.
#include <string_view>
#include <vector>

#include "api/operation.hpp"
#include "core/limits.hpp"

namespace baton::api {

// Bounds in the rows come from `limits`, the same values the engine and the config enforce.
std::vector<Operation> operation_table(const TaskLimits& limits);

// The rows of accounts, keys, plans, usage and the admin operations (account_operations.cpp),
// appended to `table`.
void add_account_operations(std::vector<Operation>& table);

// The rows of task logs and their live streams (log_operations.cpp), appended to `table`.
void add_log_operations(std::vector<Operation>& table, const TaskLimits& limits);

// The rows of queues (queue_operations.cpp), appended to `table`.
void add_queue_operations(std::vector<Operation>& table);

// The rows of schedules and webhooks (schedule_operations.cpp), appended to `table`.
void add_schedule_operations(std::vector<Operation>& table, const TaskLimits& limits);

// The dashboard's rows (ui.cpp), appended to `table`.
void add_ui_operations(std::vector<Operation>& table);

// Fields several files' rows share.
std::vector<FieldSpec> task_template_fields(const TaskLimits& limits);  // create_task's
FieldSpec task_id_field();
FieldSpec lease_token_field();
FieldSpec worker_id_field(const TaskLimits& limits);

// The row named `id`, or nullptr.
const Operation* find_operation(const std::vector<Operation>& table, std::string_view id);

}  // namespace baton::api
