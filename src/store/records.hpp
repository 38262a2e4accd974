#pragma once
// Binary encodings of the records stored as RocksDB values: tasks, accounts, API keys and
// stored idempotent responses. Each record starts with a version byte so a later release
// can read what an earlier one wrote (append fields, bump the version, never reorder).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/account.hpp"
#include "core/log_line.hpp"
#include "core/queue.hpp"
#include "core/schedule.hpp"
#include "core/task.hpp"
#include "core/usage.hpp"
#include "core/worker_stats.hpp"

namespace baton::records {

std::string encode_task(const Task& task);
std::optional<Task> decode_task(std::string_view bytes);
std::string encode_log_line(const LogLine& line);
std::optional<LogLine> decode_log_line(std::string_view bytes);

// What the engine keeps in memory of a pending or claimed task, stored beside the record
// so a restart rebuilds queues and timers without reading records.
struct ActiveEntry {
  TaskStatus status = TaskStatus::pending;
  std::string type;
  int priority = 0;
  Millis scheduled_at = 0;
  Millis lease_expires_at = 0;  // claimed: the lease's end; awaiting_acceptance: the gate's
  std::string assign_to;        // pending tasks assigned to one worker
  Millis assigned_until = 0;
  bool operator==(const ActiveEntry&) const = default;
};
ActiveEntry active_entry_of(const Task& task);
std::string encode_active(const ActiveEntry& entry);
std::optional<ActiveEntry> decode_active(std::string_view bytes);

// The types are core's (core/account.hpp); these are their stored forms.
using Account = baton::Account;
std::string encode_account(const Account& account);
std::optional<Account> decode_account(std::string_view bytes);

using ApiKey = baton::ApiKey;
std::string encode_key(const ApiKey& key);
std::optional<ApiKey> decode_key(std::string_view bytes);

std::string encode_usage(const UsageCounts& counts);
std::optional<UsageCounts> decode_usage(std::string_view bytes);
std::string encode_queue_facts(const QueueFacts& facts);
std::optional<QueueFacts> decode_queue_facts(std::string_view bytes);
std::string encode_schedule(const Schedule& schedule);
std::optional<Schedule> decode_schedule(std::string_view bytes);
std::string encode_schedule_run(const ScheduleRun& run);
std::optional<ScheduleRun> decode_schedule_run(std::string_view bytes);
std::string encode_worker_stats(const WorkerTypeStats& stats);
std::optional<WorkerTypeStats> decode_worker_stats(std::string_view bytes);

struct StoredResponse {
  std::string request_hash;  // SHA-256 of the canonical request body
  int status = 0;            // 0: no response stored (never written as such)
  std::string body;
  Millis expires_at = 0;
};
std::string encode_response(const StoredResponse& response);
std::optional<StoredResponse> decode_response(std::string_view bytes);

}  // namespace baton::records
