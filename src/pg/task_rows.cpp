#include "pg/task_rows.hpp"

#include <array>

#include "core/errors.hpp"
#include "core/ulid.hpp"
#include "store/records.hpp"

namespace baton::pg {

namespace {

#define BATON_TASK_COLUMNS \
  "id, account_id, type, status, priority, scheduled_at, lease_expires_at, assign_to, " \
  "assigned_until, updated_at, record"
#define BATON_TASK_VALUES "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11"
// A pending task this worker may take now, of a queue not paused, in the spec's claim
// order; SKIP LOCKED lets concurrent claims (of any node) pass over a row another claim is
// taking.
#define BATON_CLAIMABLE \
  " status = 0 AND scheduled_at <= $3 AND (assign_to = '' OR assign_to = $4 OR " \
  "(assigned_until <> 0 AND assigned_until <= $3)) AND NOT EXISTS (SELECT 1 FROM baton_paused p " \
  "WHERE p.account_id = $1 AND p.type = "
#define BATON_CLAIM_ORDER ") ORDER BY priority DESC, scheduled_at, id LIMIT 1 FOR NO KEY UPDATE SKIP LOCKED"
#define BATON_QUEUE_COUNTS \
  "SELECT type, count(*) FILTER (WHERE status = 0 AND scheduled_at <= $2), " \
  "count(*) FILTER (WHERE status = 0 AND scheduled_at > $2), " \
  "count(*) FILTER (WHERE status = 1), count(*) FILTER (WHERE status = 5), " \
  "count(*) FILTER (WHERE status = 6), count(*) FILTER (WHERE status = 7), " \
  "count(*) FILTER (WHERE status = 3), " \
  "min(scheduled_at) FILTER (WHERE status = 0 AND scheduled_at > 0 AND scheduled_at <= $2), " \
  "min(id) FILTER (WHERE status = 0 AND scheduled_at = 0), " \
  "count(*) FILTER (WHERE id >= $3), count(*) FILTER (WHERE status = 2 AND updated_at >= $4) " \
  "FROM baton_tasks "
#define BATON_USAGE_FIGURES \
  "created, claimed, completed, failed, dead_lettered, cancelled, wait_ms_total, runs, " \
  "run_ms_total, input_tokens, output_tokens, total_tokens, usd_nanos, cpu_time_ms, subrequests"
#define BATON_TAKE_KEY \
  "INSERT INTO baton_idempotency (scope, request_hash, status, body, expires_at) " \
  "VALUES ($1, $2, 0, '', $3) ON CONFLICT (scope) DO UPDATE SET " \
  "request_hash = EXCLUDED.request_hash, status = 0, body = '', " \
  "expires_at = EXCLUDED.expires_at WHERE baton_idempotency.expires_at <= $4 RETURNING 1"

constexpr std::array kStatements = {
    Statement{"insert_task", "INSERT INTO baton_tasks (" BATON_TASK_COLUMNS ") VALUES (" BATON_TASK_VALUES ")"},
    Statement{"insert_task_notify",
              "WITH inserted AS (INSERT INTO baton_tasks (" BATON_TASK_COLUMNS ") VALUES (" BATON_TASK_VALUES
              ") RETURNING 1) SELECT pg_notify('baton_ready', $12) FROM inserted"},
    // The same parameters as insert_task; a task's account and type never change. Fails
    // with kNoRowChanged when no row is as the record says.
    Statement{"update_task",
              "WITH changed AS (UPDATE baton_tasks SET status = $4, priority = $5, scheduled_at = $6, "
              "lease_expires_at = $7, assign_to = $8, assigned_until = $9, updated_at = $10, "
              "record = $11 WHERE id = $1 AND account_id = $2 AND type = $3 RETURNING 1) "
              "SELECT 1 / count(*) FROM changed"},
    Statement{"read_task", "SELECT record FROM baton_tasks WHERE id = $1"},
    Statement{"lock_task", "SELECT record FROM baton_tasks WHERE id = $1 FOR UPDATE"},
    // The typed claim's pause is checked once (the planner makes it a one-time filter);
    // the typeless claim's, for each type it passes.
    Statement{"claim_typed",
              "SELECT record FROM baton_tasks WHERE account_id = $1 AND type = $2 AND" BATON_CLAIMABLE
              "$2" BATON_CLAIM_ORDER},
    // $2 is unused: both claims take the same parameters.
    Statement{"claim_any",
              "SELECT record FROM baton_tasks WHERE account_id = $1 AND $2::text IS NULL AND" BATON_CLAIMABLE
              "baton_tasks.type" BATON_CLAIM_ORDER},
    // Queues (engine_queues.cpp). A queue's counts scan the account's rows ($5: one type,
    // or null for all): $2 is now, $3 the first id of the last minute, $4 a minute ago.
    Statement{"queue_counts",
              BATON_QUEUE_COUNTS "WHERE account_id = $1 AND ($5::text IS NULL OR type = $5) GROUP BY type"},
    // The same for /metrics, of every account's rows ($1 and $5 null, unused): a scan of
    // the whole table.
    Statement{"type_counts", BATON_QUEUE_COUNTS "WHERE $1::text IS NULL AND $5::text IS NULL GROUP BY type"},
    Statement{"paused_queues",
              "SELECT type, paused_at FROM baton_paused WHERE account_id = $1 AND ($2::text IS NULL OR type = $2)"},
    // Pausing a paused queue keeps the time it was first paused.
    Statement{"pause_queue",
              "INSERT INTO baton_paused (account_id, type, paused_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"},
    Statement{"resume_queue", "DELETE FROM baton_paused WHERE account_id = $1 AND type = $2"},
    // Links between tasks (engine_links.cpp). $1 of lock_dependencies and link_tasks is a
    // text array of task ids. A create key-share-locks its dependencies, which conflicts
    // with the FOR UPDATE every transaction that finishes a task takes first (and not with a
    // claim's FOR NO KEY UPDATE): none finishes between the look and the link's commit, and
    // one that finishes afterwards finds the link. A parent is only read.
    Statement{"lock_dependencies",
              "SELECT id, status FROM baton_tasks WHERE id = ANY($1::text[]) AND account_id = $2 FOR KEY SHARE"},
    Statement{"read_parent", "SELECT 1 FROM baton_tasks WHERE id = $1 AND account_id = $2"},
    Statement{"link_tasks",
              "INSERT INTO baton_links (from_id, kind, to_id) SELECT unnest($1::text[]), $2::smallint, $3::text"},
    Statement{"dependents_of", "SELECT to_id FROM baton_links WHERE from_id = $1 AND kind = 0"},
    Statement{"unlink_dependency",
              "DELETE FROM baton_links WHERE from_id = $1 AND kind = 0 AND to_id = $2 RETURNING 1"},
    // A dependent that finished (cancelled) waits for nothing more.
    Statement{"unlink_dependent", "DELETE FROM baton_links WHERE to_id = $1 AND kind = 0"},
    // Dependencies finished whose dependents were not told (their node died in between),
    // after the link ($2, $3).
    Statement{"finished_links",
              "SELECT l.from_id, l.to_id, t.status FROM baton_links l JOIN baton_tasks t ON t.id = l.from_id "
              "WHERE l.kind = 0 AND t.status IN (2, 3, 4) AND (l.from_id, l.kind, l.to_id) > ($2, 0, $3) "
              "ORDER BY l.from_id, l.kind, l.to_id LIMIT $1"},
    Statement{"children_of",
              "SELECT t.record FROM baton_links l JOIN baton_tasks t ON t.id = l.to_id "
              "WHERE l.from_id = $1 AND l.kind = 1 ORDER BY l.to_id"},
    // Usage (engine_usage.cpp): a transition's change, and the fold of past hours.
    Statement{"add_usage", "INSERT INTO baton_usage (account_id, hour, type, " BATON_USAGE_FIGURES
                           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                           "$15, $16, $17, $18)"},
    Statement{"fold_usage", kFoldUsage},
    Statement{"add_worker",
              "INSERT INTO baton_workers (account_id, worker_id, type, claims, completed, failed, "
              "expired, accepted, reworked, complete_ms_total, last_seen) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
    Statement{"worker_rows", kWorkerRows},
    // Task logs (engine_logs.cpp): a line, the sizes of a task's lines as its bound counts
    // them (LogLine::bytes), the lines before a seq dropped, and the lines after a seq.
    Statement{"insert_log",
              "INSERT INTO baton_logs (task_id, seq, at, level, message, data, worker_id) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7)"},
    Statement{"log_sizes",
              "SELECT seq, octet_length(level) + octet_length(message) + octet_length(data) "
              "FROM baton_logs WHERE task_id = $1 ORDER BY seq"},
    Statement{"drop_logs", "DELETE FROM baton_logs WHERE task_id = $1 AND seq < $2"},
    Statement{"read_logs",
              "SELECT seq, at, level, message, data, worker_id FROM baton_logs WHERE task_id = $1 "
              "AND seq > $2 ORDER BY seq LIMIT $3"},
    Statement{"fold_workers", kFoldWorkers},
    // Who holds the account's live leases (the roster's live_leases), at most $2 read.
    Statement{"lease_holders", "SELECT record FROM baton_tasks WHERE account_id = $1 AND status = 1 LIMIT $2"},
    // The sweeper's deadlines (lease_expires_at is the row's deadline: a claimed task's
    // lease, a gated task's acceptance timeout, 0 for none).
    Statement{"expired_leases",
              "SELECT record FROM baton_tasks WHERE status = 1 AND lease_expires_at <= $1 "
              "ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"},
    Statement{"expired_gates",
              "SELECT record FROM baton_tasks WHERE status = 7 AND lease_expires_at > 0 AND "
              "lease_expires_at <= $1 ORDER BY lease_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"},
    // Every gated task, after ($1, $2) in (deadline, id) order: those whose verification
    // a node that died left unstarted or unreported (engine_gates.cpp).
    Statement{"open_gates",
              "SELECT record, lease_expires_at, id FROM baton_tasks WHERE status = 7 AND "
              "(lease_expires_at, id) > ($1, $2) ORDER BY lease_expires_at, id LIMIT $3"},
    Statement{"list_tasks",
              "SELECT record FROM baton_tasks WHERE account_id = $1 "
              "AND ($2::text IS NULL OR type = $2) AND ($3::smallint IS NULL OR status = $3) "
              "AND ($4::text IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"},
    Statement{"notify_ready", "SELECT pg_notify('baton_ready', $1)"},
    // An idempotency key is taken by inserting its row (a concurrent request with the same
    // key waits on that row until this transaction ends); an expired one is taken over.
    // take_idempotency fails with kNoRowChanged when the key is held; try_idempotency
    // answers no row then, and leaves the transaction open.
    Statement{"take_idempotency",
              "WITH taken AS (" BATON_TAKE_KEY ") SELECT 1 / count(*) FROM taken"},
    Statement{"try_idempotency", BATON_TAKE_KEY},
    Statement{"read_idempotency",
              "SELECT request_hash, status, body FROM baton_idempotency WHERE scope = $1"},
    Statement{"store_idempotency",
              "UPDATE baton_idempotency SET status = $2, body = $3 WHERE scope = $1"},
    Statement{"purge_idempotency", "DELETE FROM baton_idempotency WHERE expires_at < $1"},
    Statement{"accounts_revision", "SELECT accounts FROM baton_revision WHERE id = 1"},
    // A cost report, added to its month's sum.
    Statement{"add_spend",
              "INSERT INTO baton_spend (account_id, month, usd_nanos) VALUES ($1, $2, $3) "
              "ON CONFLICT (account_id, month) DO UPDATE SET usd_nanos = baton_spend.usd_nanos + EXCLUDED.usd_nanos"},
    // A plan's limits: the account's row is locked for the rest of the transaction, so that
    // the claims (or creates) of one limited account count one after the other, on every
    // node, and none passes the limit.
    Statement{"lock_account", "SELECT 1 FROM baton_accounts WHERE id = $1 FOR UPDATE"},
    Statement{"count_leases", kCountLeases},
    Statement{"count_created_in", kCountCreatedIn},
    // The retention purge (engine_retention.cpp): the accounts after $1, and one step of
    // one account's purge. A step looks at the next $4 tasks of status $2 after the id $3
    // and created before the id $6 (one created after the cutoff cannot have ended before
    // it), and deletes those that ended before $5, with their links and logs; it passes
    // over a task whose dependents are still to be told (its links are how they will be)
    // and a row another transaction holds. It answers the last id it looked at (null:
    // none), how many it looked at, and how many it deleted.
    Statement{"account_ids", "SELECT id FROM baton_accounts WHERE id > $1 ORDER BY id LIMIT $2"},
    Statement{"purge_tasks",
              "WITH looked AS (SELECT id FROM baton_tasks WHERE account_id = $1 AND status = $2 "
              "AND id > $3 AND id < $6 ORDER BY id LIMIT $4), "
              "doomed AS (SELECT t.id FROM baton_tasks t JOIN looked USING (id) WHERE t.status = $2 "
              "AND t.updated_at < $5 AND NOT EXISTS (SELECT 1 FROM baton_links l WHERE l.from_id = t.id "
              "AND l.kind = 0) FOR UPDATE OF t SKIP LOCKED), "
              "gone AS (DELETE FROM baton_tasks WHERE id IN (SELECT id FROM doomed) RETURNING id), "
              "unlinked_from AS (DELETE FROM baton_links WHERE from_id IN (SELECT id FROM gone)), "
              "unlinked_to AS (DELETE FROM baton_links WHERE to_id IN (SELECT id FROM gone)), "
              "unlogged AS (DELETE FROM baton_logs WHERE task_id IN (SELECT id FROM gone)) "
              "SELECT (SELECT max(id) FROM looked), (SELECT count(*) FROM looked), "
              "(SELECT count(*) FROM gone)"},
    // Schedules (engine_schedules.cpp). due_schedule is the earliest due one that no
    // other transaction holds: each node locks its own, so a slot fires once (and a run's
    // key, schedule and seq, would refuse a second).
    Statement{"insert_schedule",
              "INSERT INTO baton_schedules (id, next_due, record, account_id) VALUES ($1, $2, $3, $4)"},
    Statement{"save_schedule", "UPDATE baton_schedules SET next_due = $2, record = $3 WHERE id = $1"},
    Statement{"count_schedules", "SELECT count(*) FROM baton_schedules WHERE account_id = $1"},
    Statement{"read_schedule", "SELECT record FROM baton_schedules WHERE id = $1"},
    Statement{"lock_schedule", "SELECT record FROM baton_schedules WHERE id = $1 FOR UPDATE"},
    Statement{"list_schedules", "SELECT record FROM baton_schedules WHERE account_id = $1 ORDER BY id"},
    Statement{"delete_schedule",
              "WITH gone AS (DELETE FROM baton_schedules WHERE id = $1 AND account_id = $2 "
              "RETURNING id, record), runs AS (DELETE FROM baton_schedule_runs WHERE schedule_id IN "
              "(SELECT id FROM gone)) SELECT record FROM gone"},
    Statement{"due_schedule",
              "SELECT id, record FROM baton_schedules WHERE next_due > 0 AND next_due <= $1 "
              "ORDER BY next_due LIMIT 1 FOR UPDATE SKIP LOCKED"},
    Statement{"stop_schedule", "UPDATE baton_schedules SET next_due = 0 WHERE id = $1"},
    Statement{"next_due", "SELECT min(next_due) FROM baton_schedules WHERE next_due > 0"},
    Statement{"insert_run", "INSERT INTO baton_schedule_runs (schedule_id, seq, record) VALUES ($1, $2, $3)"},
    Statement{"trim_runs", "DELETE FROM baton_schedule_runs WHERE schedule_id = $1 AND seq <= $2"},
    Statement{"read_runs",
              "SELECT record FROM baton_schedule_runs WHERE schedule_id = $1 AND seq < $2 "
              "ORDER BY seq DESC LIMIT $3"},
    // A key taken for a firing whose create was refused: nothing is stored under it.
    Statement{"release_idempotency", "DELETE FROM baton_idempotency WHERE scope = $1"},
};

#undef BATON_TASK_COLUMNS
#undef BATON_TASK_VALUES
#undef BATON_CLAIMABLE
#undef BATON_CLAIM_ORDER
#undef BATON_TAKE_KEY
#undef BATON_USAGE_FIGURES
#undef BATON_QUEUE_COUNTS

Params& add_columns(Params& params, const Task& task) {
  return params.text(task.id)
      .text(task.account_id)
      .text(task.type)
      .integer(static_cast<int>(task.status))
      .integer(task.priority)
      .integer(task.scheduled_at)
      .integer(deadline_of(task))
      .text(task.assign_to)
      .integer(task.assigned_until)
      .integer(task.updated_at)
      .bytes(records::encode_task(task));
}

}  // namespace

Millis deadline_of(const Task& task) {
  switch (task.status) {
    case TaskStatus::claimed: return task.lease_expires_at;
    case TaskStatus::awaiting_acceptance: return task.acceptance_deadline;
    default: return 0;
  }
}

std::span<const Statement> task_statements() { return kStatements; }

std::string ready_payload(const ReadyNotice& notice) {
  return notice.node + " " + notice.account + " " + notice.type;
}

std::optional<ReadyNotice> parse_ready_payload(std::string_view payload) {
  // Node and account ids hold no space; a type may.
  std::size_t first = payload.find(' ');
  if (first == std::string_view::npos) return std::nullopt;
  std::size_t second = payload.find(' ', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  return ReadyNotice{std::string(payload.substr(0, first)),
                     std::string(payload.substr(first + 1, second - first - 1)),
                     std::string(payload.substr(second + 1))};
}

Params insert_params(const Task& task) {
  Params params;
  return add_columns(params, task);
}

Params insert_notify_params(const Task& task, const std::string& payload) {
  Params params;
  add_columns(params, task);
  return params.text(payload);
}

Params update_params(const Task& task) { return insert_params(task); }

std::string first_id_at(Millis at) {
  Ulid bytes{};
  for (int i = 0; i < 6; ++i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(at) >> (8 * (5 - i)));
  }
  return task_id_string(bytes);
}

Task task_of(const Result& result, int row, int column) {
  std::optional<Task> task = records::decode_task(result.bytes(row, column));
  if (!task) throw StorageError("postgres: a task record does not decode");
  return std::move(*task);
}

}  // namespace baton::pg
