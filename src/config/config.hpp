#pragma once
// Baton's configuration: one YAML file, then BATON_<SECTION>_<KEY> environment overrides
// (BATON_REGISTRATION, BATON_ADMIN_KEY and BATON_DEFAULT_PLAN for the top-level scalars).
// Immutable after start and shared read-only by every shard; SIGHUP reads the file again
// for the plans and rate limits only (api::PlanSource).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/plan.hpp"
#include "core/sync_mode.hpp"

namespace baton {

enum class Registration { open, closed, admin };

struct Config {
  struct Server {
    std::string listen = "127.0.0.1:7420";  // HOST:PORT
    int shards = 0;                         // 0: one per core
    std::int64_t max_body_bytes = 1048576;
    std::int64_t max_header_bytes = 16384;
    int idle_timeout_seconds = 60;
    int max_connections = 10000;
    // Open connections from one client address at most, across all shards (0: no bound).
    int max_connections_per_ip = 1000;
    int shutdown_grace_seconds = 8;  // in-flight requests get this long on SIGTERM
    bool pin_shards = true;          // shard i runs on core i mod cores
    // A keep-alive connection whose requests this many times in a row went to queues of
    // one other shard moves to that shard's thread (0: never).
    int move_connections_after = 2;
    // HTTPS: PEM files of the certificate (chain) and its private key; both empty: plain
    // HTTP. Read again on SIGHUP.
    struct Tls {
      std::string cert;
      std::string key;
    } tls;
  } server;
  struct Storage {
    std::string path = "./data";
    SyncMode sync = SyncMode::batch;
    int group_commit_max_batch = 1024;  // transitions per synced write, at most
    // A WAL file this size is kept written ahead of use, so fsyncs write only data
    // (store/spare_wal.hpp); 0: none. Unused when sync is none.
    std::int64_t wal_spare_bytes = 64LL << 20;
    // RocksDB table files kept open at most; part of the descriptor budget (serve).
    int max_open_files = 256;
    // Where tasks, accounts and keys live: "rocksdb" (embedded, under `path`) or
    // "postgres" (one PostgreSQL-wire database that several nodes share; docs/scale-out.md).
    std::string engine = "rocksdb";
    struct Postgres {
      std::string url;  // a libpq connection string or postgresql:// URI
      int connections_per_shard = 4;
      std::string wake = "notify";  // long polls woken by LISTEN/NOTIFY, or "poll"
      int poll_interval_ms = 500;   // a parked long poll looks again this often
      int sweep_interval_ms = 100;  // expired leases (of every node) are taken back this often
    } postgres;
  } storage;
  struct Leases {
    int min_seconds = 30;
    int max_seconds = 3600;
    int default_seconds = 300;
    bool require_token = false;
  } leases;
  struct Claims {
    int max_wait_seconds = 30;
    int max_batch = 100;  // largest max_tasks of one claim
  } claims;
  struct Tasks {
    std::int64_t max_payload_bytes = 65536;
    int max_depth = 32;
    int max_batch = 1000;  // most tasks in one batch create
    int max_dependencies = 100;  // most depends_on ids of one task
    int acceptance_timeout_seconds = 7 * 24 * 3600;  // an acceptance gate's default; 0 = none
    int assign_timeout_seconds = 60;  // assign: "best" holds a task this long by default
    int default_max_attempts = 3;
    std::int64_t max_schedule_ahead_seconds = 30LL * 24 * 3600;
    int retry_backoff_base_seconds = 2;
    int retry_backoff_max_seconds = 300;
    int history_kept = 50;  // events of a task's history kept, the latest (GET …/history)
    // The retention purge (docs/limits.md): how often it runs, and the most tasks one
    // shard removes per write.
    int purge_interval_seconds = 60;
    int purge_batch = 1000;
  } tasks;
  // Task logs and their live streams (docs/api.md "Task logs").
  struct TaskLogs {
    int max_line_bytes = 16384;         // a line's level, message and data, serialized
    int max_lines_per_append = 1000;
    std::int64_t max_task_bytes = 1048576;  // kept per task; past it the oldest are dropped
    int max_streams = 10000;            // live streams open at once, all accounts
    int max_streams_per_account = 1000;
    std::int64_t stream_buffer_bytes = 1048576;  // a subscriber's unsent lines; past it, dropped
    int stream_heartbeat_seconds = 15;  // an idle stream's keep-alive
    int stream_token_seconds = 300;     // how long a browser's stream token is good for
  } task_logs;
  // Cron schedules and webhook triggers (docs/operations.md "Schedules").
  struct Schedules {
    int max_per_account = 1000;
    int runs_kept = 100;           // firings kept per schedule (GET …/runs); older ones dropped
    int webhook_per_minute = 60;   // webhook calls of one schedule per minute, at most
  } schedules;
  // GET /metrics (docs/operations.md "Metrics").
  struct Metrics {
    // HOST:PORT of a port serving only GET /metrics, without a key, as Prometheus scrapes
    // it; loopback only. "" (the default): none, /metrics is on the main port with the
    // admin key.
    std::string listen;
    int max_types = 100;  // task types labelled apart; the rest fold into "other"
  } metrics;
  struct Idempotency {
    int ttl_seconds = 86400;
  } idempotency;
  struct Mcp {
    bool enabled = true;
    // Origin headers accepted on /mcp (a browser page's origin, e.g. http://localhost:6274);
    // a request with any other Origin gets 403. Requests without one are not affected.
    std::vector<std::string> allowed_origins;
    int max_sessions = 10000;
    // One account past this loses its own least recently used session.
    int max_sessions_per_account = 1000;
    int session_idle_seconds = 3600;
  } mcp;
  Registration registration = Registration::open;
  std::string admin_key;
  // Plans (the `plans:` map, the built-in `unlimited` plan) and `default_plan`, the plan of
  // an account the admin has not assigned one.
  PlanBook plans = shipped_plans();
  struct RateLimits {
    // POST /v1/keys/register from one client address per hour, at most (0: no bound).
    int registrations_per_hour_per_address = 0;
  } rate_limits;
  struct Log {
    std::string level = "info";   // debug | info | warn | error
    std::string format = "json";  // json | text
  } log;

  TaskLimits task_limits() const;
  // Seed 000's four plans (free, basic, pro, agency) beside `unlimited`, the default plan:
  // there to assign, throttling no one until the admin does. A `plans:` map replaces them.
  static PlanBook shipped_plans();
};

struct ConfigResult {
  std::optional<Config> config;      // set when valid
  std::vector<std::string> errors;   // "file:line: key: message"; non-empty means invalid
  std::vector<std::string> warnings; // unknown keys and the like
};

// Reads the file (empty path: defaults only), applies `environment` overrides
// (pass nullptr to use the process environment), validates.
ConfigResult load_config(const std::string& path, char** environment = nullptr);
// The same from YAML text; `origin` names it in messages as the path would.
ConfigResult parse_config(const std::string& text, const std::string& origin,
                          char** environment = nullptr);
// The YAML text of an effective configuration (what check-config prints).
std::string render_config(const Config& config);
// storage.postgres.url as render_config prints it: the password, if any, as "***".
std::string mask_password(std::string_view url);

std::string_view to_string(SyncMode mode);
std::string_view to_string(Registration mode);

}  // namespace baton
