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

// Two of them, also run blocking (PgEngine's counts for the api): an account's live
// leases, and the tasks it created in the hours [$2, $3) (a month), as its usage counts
// them: a task purged past its retention still counts toward its month's quota.
inline constexpr std::string_view kCountLeases =
    "SELECT count(*) FROM baton_tasks WHERE account_id = $1 AND status = 1";
inline constexpr std::string_view kCountCreatedIn =
    "SELECT coalesce(sum(created), 0)::bigint FROM baton_usage WHERE account_id = $1 AND hour >= $2 "
    "AND hour < $3";

// Usage (engine_usage.cpp): an account's rows of hours [$2, $3), summed by hour and
// type; and the fold of hour $1 and the two before it into one row per (account, hour,
// type), of the groups that have more than one. A row the fold's snapshot does not see (committed meanwhile, or written late into
// an older hour) stays as it is and is summed as well.
// sum() of bigint is numeric: each sum is cast back, so that answers stay binary integers.
#define BATON_USAGE_SUMS \
  "sum(created)::bigint, sum(claimed)::bigint, sum(completed)::bigint, sum(failed)::bigint, " \
  "sum(dead_lettered)::bigint, sum(cancelled)::bigint, sum(wait_ms_total)::bigint, " \
  "sum(runs)::bigint, sum(run_ms_total)::bigint, sum(input_tokens)::bigint, " \
  "sum(output_tokens)::bigint, sum(total_tokens)::bigint, sum(usd_nanos)::bigint, " \
  "sum(cpu_time_ms)::bigint, sum(subrequests)::bigint"
inline constexpr std::string_view kUsageRows =
    "SELECT hour, type, " BATON_USAGE_SUMS " FROM baton_usage WHERE account_id = $1 AND hour >= $2 "
    "AND hour < $3 GROUP BY hour, type ORDER BY hour, type";
inline constexpr std::string_view kFoldUsage =
    "WITH gone AS (DELETE FROM baton_usage u WHERE hour >= $1::bigint - 2 AND hour <= $1 AND EXISTS "
    "(SELECT 1 FROM baton_usage o WHERE o.hour = u.hour AND o.account_id = u.account_id "
    "AND o.type = u.type AND o.ctid <> u.ctid) RETURNING *) "
    "INSERT INTO baton_usage (account_id, hour, type, created, claimed, completed, failed, dead_lettered, "
    "cancelled, wait_ms_total, runs, run_ms_total, input_tokens, output_tokens, total_tokens, usd_nanos, "
    "cpu_time_ms, subrequests) "
    "SELECT account_id, hour, type, " BATON_USAGE_SUMS " FROM gone GROUP BY account_id, hour, type";
#undef BATON_USAGE_SUMS

// The worker roster (engine_workers.cpp): an account's rows summed by worker and type
// ($2: one type, or null for all), of the workers seen since $3; and the fold of every
// group of more than one row into one.
#define BATON_WORKER_SUMS \
  "sum(claims)::bigint, sum(completed)::bigint, sum(failed)::bigint, sum(expired)::bigint, " \
  "sum(accepted)::bigint, sum(reworked)::bigint, sum(complete_ms_total)::bigint, max(last_seen)"
inline constexpr std::string_view kWorkerRows =
    "SELECT worker_id, type, " BATON_WORKER_SUMS " FROM baton_workers WHERE account_id = $1 "
    "AND ($2::text IS NULL OR type = $2) GROUP BY worker_id, type HAVING max(last_seen) >= $3";
inline constexpr std::string_view kFoldWorkers =
    "WITH gone AS (DELETE FROM baton_workers u WHERE EXISTS (SELECT 1 FROM baton_workers o "
    "WHERE o.account_id = u.account_id AND o.type = u.type AND o.worker_id = u.worker_id "
    "AND o.ctid <> u.ctid) RETURNING *) "
    "INSERT INTO baton_workers (account_id, worker_id, type, claims, completed, failed, expired, "
    "accepted, reworked, complete_ms_total, last_seen) "
    "SELECT account_id, worker_id, type, " BATON_WORKER_SUMS " FROM gone GROUP BY account_id, worker_id, type";
#undef BATON_WORKER_SUMS

// The notification channel a create or a task made pending again announces itself on
// (wake: notify), with "<node> <account> <type>" as payload: the node that sent it skips
// its own.
inline constexpr std::string_view kReadyChannel = "baton_ready";
struct ReadyNotice {
  std::string node, account, type;
};
std::string ready_payload(const ReadyNotice& notice);
// nullopt when the payload is not one of ours.
std::optional<ReadyNotice> parse_ready_payload(std::string_view payload);

// What "update_task" and "take_idempotency" fail with (a division by zero) when they change
// no row: a task not stored as its record says, an idempotency key another request holds.
// Failing, rather than answering no row, makes PostgreSQL skip the statements sent after
// them in the same pipeline, COMMIT included.
inline constexpr std::string_view kNoRowChanged = "22012";

// The parameters of insert_task and update_task ($1..$11: the columns), and of
// insert_task_notify (then the payload).
Params insert_params(const Task& task);
Params insert_notify_params(const Task& task, const std::string& payload);
Params update_params(const Task& task);

// The lease_expires_at column: the row's deadline, which the sweeper acts on. A claimed
// task's lease end, a gated task's acceptance timeout (0: it waits for ever), else 0.
Millis deadline_of(const Task& task);

// The smallest task id a task created at `at` can have (its ULID's random part all zero).
std::string first_id_at(Millis at);

// The task of a row's record column; throws StorageError when it does not decode (a row
// written by something else than Baton).
Task task_of(const Result& result, int row, int column = 0);

}  // namespace baton::pg
