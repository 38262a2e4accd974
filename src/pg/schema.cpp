#include "pg/schema.hpp"

#include <libpq-fe.h>

#include <array>
#include <memory>
#include <string_view>

namespace baton::pg {

namespace {

// Version 1. Every column a query filters or orders on is a column of its own; the rest
// of a task (payload, result, history, workflow fields) is its record in Baton's own
// encoding (store/records), read and written whole by the state machine's transitions.
// Times are epoch milliseconds; 0 stands for "none" as in the task record.
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE baton_accounts (
  id text PRIMARY KEY,
  label text NOT NULL,
  plan text NOT NULL,
  created_at bigint NOT NULL,
  cost_budget_usd_nanos bigint NOT NULL
);
CREATE TABLE baton_keys (
  id text PRIMARY KEY,
  account_id text NOT NULL REFERENCES baton_accounts (id),
  label text NOT NULL,
  sha256 bytea NOT NULL UNIQUE,
  created_at bigint NOT NULL
);
CREATE INDEX baton_keys_by_account ON baton_keys (account_id, id);
CREATE TABLE baton_tasks (
  id text PRIMARY KEY,
  account_id text NOT NULL,
  type text NOT NULL,
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
CREATE TABLE baton_idempotency (
  scope text PRIMARY KEY,
  request_hash text NOT NULL,
  status integer NOT NULL,
  body bytea NOT NULL,
  expires_at bigint NOT NULL
);
)sql";

// The migration from version i to i + 1 is kMigrations[i].
constexpr std::array<std::string_view, kSchemaVersion> kMigrations = {kVersion1};

// Any number: the key of the advisory lock that serializes the nodes' migrations.
constexpr std::string_view kLock = "SELECT pg_advisory_lock(742017)";

struct Finish {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct Clear {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Answer = std::unique_ptr<PGresult, Clear>;

std::string failure(PGconn* conn, PGresult* result) {
  std::string text = result ? PQresultErrorMessage(result) : PQerrorMessage(conn);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

bool ok(PGresult* result) {
  ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

}  // namespace

std::string migrate(const std::string& conninfo) {
  std::unique_ptr<PGconn, Finish> conn(PQconnectdb(conninfo.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return "cannot connect: " + failure(conn.get(), nullptr);
  }
  auto run = [&](std::string_view sql, std::string& error) -> Answer {
    Answer answer(PQexec(conn.get(), std::string(sql).c_str()));
    if (!ok(answer.get())) error = failure(conn.get(), answer.get());
    return answer;
  };
  std::string error;
  run(kLock, error);
  if (!error.empty()) return error;
  run("CREATE TABLE IF NOT EXISTS baton_schema (version integer NOT NULL)", error);
  if (!error.empty()) return error;
  Answer version = run("SELECT version FROM baton_schema", error);
  if (!error.empty()) return error;
  int current = PQntuples(version.get()) == 0 ? 0 : std::atoi(PQgetvalue(version.get(), 0, 0));
  if (current > kSchemaVersion) {
    return "the database holds Baton schema version " + std::to_string(current) +
           ", newer than this release's " + std::to_string(kSchemaVersion) +
           ": run the release that wrote it, or a newer one";
  }
  for (int next = current; next < kSchemaVersion; ++next) {
    std::string step = "BEGIN;\n" + std::string(kMigrations[static_cast<std::size_t>(next)]) +
                       (next == 0 ? "INSERT INTO baton_schema VALUES (1);\n"
                                  : "UPDATE baton_schema SET version = " + std::to_string(next + 1) + ";\n") +
                       "COMMIT;";
    run(step, error);
    if (!error.empty()) {
      std::string ignored;
      run("ROLLBACK", ignored);
      return "migrating to schema version " + std::to_string(next + 1) + ": " + error;
    }
  }
  return "";
}

}  // namespace baton::pg
