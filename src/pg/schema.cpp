#include "pg/schema.hpp"

#include <array>
#include <optional>
#include <string_view>

#include "core/errors.hpp"
#include "pg/blocking_session.hpp"
#include "store/records.hpp"

namespace baton::pg {

namespace {

// Version 1. Every column a query filters or orders on is a column of its own; the rest
// of a task (payload, result, history, workflow fields) is its record in Baton's own
// encoding (store/records), read and written whole by the state machine's transitions.
// Times are epoch milliseconds; 0 stands for "none" as in the task record. Ids, accounts and
// types compare bytewise (COLLATE "C"): ULIDs sort by time that way in any locale.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE baton_accounts (
  id text COLLATE "C" PRIMARY KEY,
  label text NOT NULL,
  plan text NOT NULL,
  created_at bigint NOT NULL,
  cost_budget_usd_nanos bigint NOT NULL
);
CREATE TABLE baton_keys (
  id text COLLATE "C" PRIMARY KEY,
  account_id text COLLATE "C" NOT NULL REFERENCES baton_accounts (id),
  label text NOT NULL,
  sha256 bytea NOT NULL UNIQUE,
  created_at bigint NOT NULL
);
CREATE INDEX baton_keys_by_account ON baton_keys (account_id, id);
-- Bumped by every change of a key, a plan or a budget, which the nodes' caches of keys
-- hold: each node reads it every sweep and empties its caches when it moved.
CREATE TABLE baton_revision (
  id integer PRIMARY KEY,
  accounts bigint NOT NULL
);
INSERT INTO baton_revision VALUES (1, 0);
CREATE TABLE baton_tasks (
  id text COLLATE "C" PRIMARY KEY,
  account_id text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  status smallint NOT NULL,
  priority integer NOT NULL,
  scheduled_at bigint NOT NULL,
  lease_expires_at bigint NOT NULL,
  assign_to text NOT NULL,
  assigned_until bigint NOT NULL,
  updated_at bigint NOT NULL,
  record bytea NOT NULL
);
-- Claims: the best pending task in the spec's order (priority DESC, scheduledAt ASC with
-- null first, createdAt ASC: ids are ULIDs, so id order is creation order).
CREATE INDEX baton_tasks_ready ON baton_tasks (account_id, type, priority DESC, scheduled_at, id)
  WHERE status = 0;
CREATE INDEX baton_tasks_ready_any ON baton_tasks (account_id, priority DESC, scheduled_at, id)
  WHERE status = 0;
-- The lease sweeper: claimed tasks by the end of their lease.
CREATE INDEX baton_tasks_leases ON baton_tasks (lease_expires_at) WHERE status = 1;
-- Listings, newest first, with and without their filters.
CREATE INDEX baton_tasks_listing ON baton_tasks (account_id, id);
CREATE INDEX baton_tasks_by_status ON baton_tasks (account_id, status, id);
CREATE INDEX baton_tasks_by_type ON baton_tasks (account_id, type, id);
-- The cost each account's workers reported per calendar month (UTC months since 1970),
-- what a monthly cost budget is checked against.
CREATE TABLE baton_spend (
  account_id text COLLATE "C" NOT NULL,
  month bigint NOT NULL,
  usd_nanos bigint NOT NULL,
  PRIMARY KEY (account_id, month)
);
CREATE TABLE baton_idempotency (
  scope text COLLATE "C" PRIMARY KEY,
  request_hash text NOT NULL,
  status integer NOT NULL,
  body bytea NOT NULL,
  expires_at bigint NOT NULL
);
)sql";

// Version 2: the queues an operator paused (POST /v1/queues/{type}/pause), which a claim
// of any node passes over while the row is there; usage; and the links between tasks.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE baton_paused (
  account_id text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  paused_at bigint NOT NULL,
  PRIMARY KEY (account_id, type)
);
-- What each transition adds to its account's usage in its hour (usage_change): one row
-- per transition, so that no transaction waits on another's row for it. The sweeper folds
-- the rows of the last hours into one per (account, hour, type) every second; a report
-- sums what is there.
CREATE TABLE baton_usage (
  account_id text COLLATE "C" NOT NULL,
  hour bigint NOT NULL,
  type text COLLATE "C" NOT NULL,
  created bigint NOT NULL,
  claimed bigint NOT NULL,
  completed bigint NOT NULL,
  failed bigint NOT NULL,
  dead_lettered bigint NOT NULL,
  cancelled bigint NOT NULL,
  wait_ms_total bigint NOT NULL,
  runs bigint NOT NULL,
  run_ms_total bigint NOT NULL,
  input_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  total_tokens bigint NOT NULL,
  usd_nanos bigint NOT NULL,
  cpu_time_ms bigint NOT NULL,
  subrequests bigint NOT NULL
);
-- The fold reads hours; a report, its account's rows of its hours.
CREATE INDEX baton_usage_by_hour ON baton_usage (hour, account_id, type);
-- kind 0: to_id waits for from_id to finish (depends_on); the row goes in the transaction
-- that tells to_id, so each dependency is told once. kind 1: to_id is a child of from_id
-- (parent_task_id), kept for the parent's rollup.
CREATE TABLE baton_links (
  from_id text COLLATE "C" NOT NULL,
  kind smallint NOT NULL,
  to_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (from_id, kind, to_id)
);
CREATE INDEX baton_links_waiting ON baton_links (to_id) WHERE kind = 0;
)sql";

// Version 3: acceptance gates, the monthly quota counted from usage, the worker roster
// and task logs. A gated task's lease_expires_at holds its acceptance deadline, which the
// sweeper finds through this index; the sweeper's recovery reads every gated task through
// it too. A limited create sums its account's usage rows of the month. Links are found
// by either end. baton_workers is
// kept as baton_usage is: what each transition adds to its worker's counts on its type
// (worker_change), one row per transition, folded every second into one row per
// (account, worker, type); last_seen is the latest of the rows.
constexpr std::string_view kVersion3 = R"sql(
CREATE INDEX baton_tasks_gates ON baton_tasks (lease_expires_at, id) WHERE status = 7;
CREATE INDEX baton_usage_by_account ON baton_usage (account_id, hour);
-- A link by the task it leads to, of either kind (a dependent's waits, a child's parent):
-- the purge removes both ends' links.
DROP INDEX baton_links_waiting;
CREATE INDEX baton_links_to ON baton_links (to_id, kind);
CREATE TABLE baton_workers (
  account_id text COLLATE "C" NOT NULL,
  worker_id text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  claims bigint NOT NULL,
  completed bigint NOT NULL,
  failed bigint NOT NULL,
  expired bigint NOT NULL,
  accepted bigint NOT NULL,
  reworked bigint NOT NULL,
  complete_ms_total bigint NOT NULL,
  last_seen bigint NOT NULL
);
CREATE INDEX baton_workers_by_account ON baton_workers (account_id, type, worker_id);
-- A task's log lines (seq from 1, per task). Their text is stored as the client sent it,
-- bytes for bytes.
CREATE TABLE baton_logs (
  task_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  at bigint NOT NULL,
  level bytea NOT NULL,
  message bytea NOT NULL,
  data bytea NOT NULL,
  worker_id bytea NOT NULL,
  PRIMARY KEY (task_id, seq)
);
)sql";

// Version 4: schedules. A schedule is its record (store/records) with the columns a
// lookup needs: next_due is the record's next cron firing, 0 when it does not fire by
// itself, and the nodes find the due ones through the partial index. A firing's run is
// kept by (schedule, seq), the last runs_kept of each.
constexpr std::string_view kVersion4 = R"sql(
CREATE TABLE baton_schedules (
  id text COLLATE "C" PRIMARY KEY,
  account_id text COLLATE "C" NOT NULL,
  next_due bigint NOT NULL,
  record bytea NOT NULL
);
CREATE INDEX baton_schedules_by_account ON baton_schedules (account_id, id);
CREATE INDEX baton_schedules_due ON baton_schedules (next_due) WHERE next_due > 0;
CREATE TABLE baton_schedule_runs (
  schedule_id text COLLATE "C" NOT NULL,
  seq bigint NOT NULL,
  record bytea NOT NULL,
  PRIMARY KEY (schedule_id, seq)
);
)sql";

// The migration from version i to i + 1 is kMigrations[i].
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {kVersion1, kVersion2,
                                                                      kVersion3, kVersion4};

// What a migration's SQL cannot do, in its transaction: version 2 kept no deadline for a
// gated task, so each one gets its record's.
void finish_migration(BlockingSession& session, std::int64_t version) {
  if (version != 3) return;
  Answer gated = session.run("SELECT record FROM baton_tasks WHERE status = 7");
  for (int row = 0; row < gated.rows(); ++row) {
    std::optional<Task> task = records::decode_task(gated.text(row, 0));
    if (!task || task->acceptance_deadline == 0) continue;
    session.run("UPDATE baton_tasks SET lease_expires_at = $2 WHERE id = $1",
                BlockingParams().text(task->id).integer(task->acceptance_deadline));
  }
}

}  // namespace

std::string migrate(const std::string& url) {
  try {
    BlockingSession session(url);
    // Any number: the key of the advisory lock that serializes the nodes' migrations. The
    // connection holds it until it closes, when this function returns.
    session.run("SELECT pg_advisory_lock(742017)");
    session.run("CREATE TABLE IF NOT EXISTS baton_schema (version integer NOT NULL)");
    Answer version = session.run("SELECT version FROM baton_schema");
    std::int64_t current = version.rows() == 0 ? 0 : version.integer(0, 0);
    if (current > kSchemaVersion) {
      return "the database holds Baton schema version " + std::to_string(current) +
             ", newer than this release's " + std::to_string(kSchemaVersion) +
             ": run the release that wrote it, or a newer one";
    }
    for (std::int64_t next = current; next < kSchemaVersion; ++next) {
      std::string step = "BEGIN;\n" + std::string(kMigrations[static_cast<std::size_t>(next)]) +
                         (next == 0 ? "INSERT INTO baton_schema VALUES (1);\n"
                                    : "UPDATE baton_schema SET version = " + std::to_string(next + 1) + ";\n");
      try {
        session.run_script(step);
        finish_migration(session, next + 1);
        session.run_script("COMMIT");
      } catch (const StorageError& failure) {
        session.run_script("ROLLBACK");
        return "migrating to schema version " + std::to_string(next + 1) + ": " + failure.what();
      }
    }
  } catch (const StorageError& failure) {
    return failure.what();
  }
  return "";
}

}  // namespace baton::pg
