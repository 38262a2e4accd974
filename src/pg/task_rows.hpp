#pragma once
// How a task is a row of baton_tasks, and the statements that read and write it. The
// columns are what the claims, the lease sweeper and the listings filter and order on;
// `record` is the whole task in Baton's record encoding (store/records), so the pure
// state machine decides every transition here as it does on RocksDB.
#include <optional>
#include <span>
#include <string>

#include "core/task.hpp"
#include "pg/connection.hpp"

namespace baton::pg {

// Prepared on every connection of the engine's pools.
std::span<const Statement> task_statements();

// The notification channel a create or a task made pending again announces itself on,
// with "<account> <type>" as payload (wake: notify).
inline constexpr std::string_view kReadyChannel = "baton_ready";
std::string ready_payload(const std::string& account, const std::string& type);
// The account and type of a payload; nullopt when it is not one of ours.
std::optional<std::pair<std::string, std::string>> parse_ready_payload(std::string_view payload);

// The parameters of insert_task / insert_task_notify ($1..$11, then the payload) and of
// update_task ($1 the id, then the columns).
Params insert_params(const Task& task);
Params insert_notify_params(const Task& task);
Params update_params(const Task& task);

// The task of a row's record column; throws StorageError when it does not decode (a row
// written by something else than Baton).
Task task_of(const Result& result, int row, int column = 0);

}  // namespace baton::pg
