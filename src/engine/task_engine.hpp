#pragma once
// The seam between the HTTP handlers (api/) and whatever keeps tasks. Handlers speak only
// this interface; LocalEngine (shards, in-memory indexes, timer wheel, RocksDB) is one
// implementation, and a SQL-backed one can be another (docs/architecture.md). Every
// operation is a coroutine that resumes on the caller's executor.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/errors.hpp"
#include "core/histogram.hpp"
#include "core/lifecycle.hpp"
#include "core/log_line.hpp"
#include "core/queue.hpp"
#include "core/schedule.hpp"
#include "core/snapshot.hpp"
#include "core/storage_figures.hpp"
#include "core/task.hpp"
#include "core/usage.hpp"
#include "core/worker_stats.hpp"

namespace baton {

// Renders the exact response body of a successful operation, so an idempotent request
// stores (in the same write as the transition) the bytes it answers with.
using Renderer = std::function<std::string(const Task&, Millis now)>;

struct IdempotencyRequest {
  // The key's scope: the same key sent by another account, or to another method or
  // path, is another request. The account is the operation's own.
  std::string method;
  std::string path;
  std::string key;
  // Set by the engine: the scope as its storage encodes it (LocalEngine: the idempotency
  // family's RocksDB key, store/keys). Handlers leave it empty.
  std::string scope_key;
  std::string request_hash;  // hash of the canonical body
  int success_status = 200;
  int ttl_seconds = 86400;
  Renderer render;
};

struct Outcome {
  ErrorCode error = ErrorCode::none;
  int retry_after_seconds = 0;
  // Shared, not copied: an outcome is moved through several coroutine frames (and across
  // shards) on its way to the answer, and a task is a dozen strings. Never modified once
  // in an outcome. Claim: null when nothing was claimable.
  std::shared_ptr<const Task> task;
  Millis now = 0;            // the time the transition was decided at
  // Claims only: the worker and token the task had before this claim, for undoing it.
  std::string previous_claimed_by;
  std::string previous_lease_token;
  // Set when the answer was rendered by the engine (idempotent requests): send as is.
  int status = 0;
  std::string body;
  // The front-end thread that could serve this queue's next request without a hand-off
  // to another thread (LocalEngine: the owning shard's index); -1 when any is as good.
  int affinity = -1;
  // Reads of a task that is a parent: its children and their rollup.
  std::shared_ptr<const TaskChildren> children;
  // Typed claims: nothing was claimed because an operator paused the type's queue.
  bool queue_paused = false;
  bool ok() const { return error == ErrorCode::none; }
};

inline std::shared_ptr<const Task> share(Task task) {
  return std::make_shared<const Task>(std::move(task));
}
inline std::shared_ptr<const Task> share(std::optional<Task> task) {
  return task ? share(std::move(*task)) : nullptr;
}

struct CreateRequest {
  std::string account;
  std::string type;
  std::string payload_json;
  int priority = 0;
  int max_attempts = 3;
  int lease_duration_seconds = 300;
  Millis scheduled_at = 0;
  // Workflow (docs/workflows.md).
  std::vector<std::string> depends_on;  // task ids of the account, each existing
  bool run_on_dependency_failure = false;
  std::string parent_task_id;  // "" = none
  bool review_required = false;
  std::optional<std::string> definition_of_done;
  std::string verification_type;  // "" = none
  bool auto_accept = false;
  int acceptance_timeout_seconds = 0;
  bool accept_on_timeout = false;
  // Only this worker may claim it (for assign_timeout_seconds when > 0, else for ever);
  // or, with assign_best, the best-ranked worker of the type seen in the last hour, for
  // assign_timeout_seconds.
  std::string assign_to;
  bool assign_best = false;
  int assign_timeout_seconds = 0;
  // The most tasks the account may create this calendar month (its plan's
  // tasks_per_month; 0: no limit): past it, quota_exceeded. `quota_taken`: the create was
  // counted already (a batch counts its items at once) or is not owed (tasks the engine
  // makes itself).
  std::int64_t monthly_quota = 0;
  bool quota_taken = false;
  std::int64_t budget_usd_nanos = 0;  // 0: none
  // Set by the engine for the verifier's task it creates.
  std::string verifies_task_id;
  int verifies_attempt = 0;
  // Set by the engine from the dependencies' states when it creates the task: those not
  // finished (the task starts blocked on them), or that one has failed already (the task
  // starts cancelled, reason dependency_failed). Handlers leave them empty.
  std::vector<std::string> waiting_on;
  bool dependency_failed = false;
};

// Tells a long-polling claim that its client went away; safe to call from the client's
// shard at any time, any number of times.
class ClaimCancel {
 public:
  virtual ~ClaimCancel() = default;
  virtual void cancel() = 0;
};

// Shared by a long-polling claim and its connection's disconnect watch, both on the
// connection's shard. Whichever comes second acts: a client gone before the claim parks
// is never parked; a client that goes while parked cancels the wait.
struct ClaimWatch {
  bool client_gone = false;
  std::shared_ptr<ClaimCancel> cancel;  // set by the engine when the claim parks

  void on_client_gone() {
    client_gone = true;
    if (cancel) cancel->cancel();
  }
};

// Who claims: the worker, and the most live leases its account may hold (its plan's
// workers; 0: no limit). A claim that would pass it takes nothing: max_workers_reached.
struct Claimant {
  std::string worker_id;
  std::int64_t max_leases = 0;
};

struct ClaimRequest {
  std::string account;
  std::optional<std::string> type;  // nullopt: any type of the account
  std::string worker_id;
  std::int64_t max_leases = 0;  // as Claimant's
  int wait_ms = 0;
  std::shared_ptr<ClaimWatch> watch;  // long polls only

  Claimant claimant() const { return {worker_id, max_leases}; }
};

// Several outcomes of one call, in request order (batch create, batch claim), or the
// error that stopped it.
struct BatchOutcome {
  ErrorCode error = ErrorCode::none;
  int retry_after_seconds = 0;
  std::vector<Outcome> items;
  Millis now = 0;
  int affinity = -1;
  bool queue_paused = false;  // as Outcome's
  bool ok() const { return error == ErrorCode::none; }
};

// Item `index` of an idempotent batch create is an idempotent create of its own, under
// this key: a retry of the batch creates only the items no earlier attempt made durable,
// and answers the others' stored bodies. The separator is no printable character, so no
// client key can name an item's.
IdempotencyRequest item_idempotency(const IdempotencyRequest& batch, std::size_t index);

struct ListRequest {
  std::string account;
  std::optional<std::string> type;
  std::optional<TaskStatus> status;
  int limit = 20;
  std::optional<std::string> cursor;  // a task id
};

struct ListPage {
  ErrorCode error = ErrorCode::none;
  std::vector<Task> tasks;
  std::optional<std::string> next_cursor;
};

struct UsageRow {
  std::int64_t hour = 0;  // hours since the epoch (UTC)
  std::string type;
  UsageCounts counts;
};

struct EngineStats {
  int shards = 0;
  bool storage_writable = true;
  std::string storage_error;  // the first write failure, when not writable
  std::uint64_t storage_failures = 0;    // times storage stopped being writable
  std::uint64_t storage_recoveries = 0;  // times it was writable again
  std::uint64_t commit_writes = 0;  // RocksDB writes issued by group commit, all shards
  std::uint64_t commit_ops = 0;     // transitions they carried
  // Where the writes spent their time, summed over all shards (GroupCommitter's
  // CommitTiming, in microseconds).
  std::uint64_t commit_wait_us = 0, commit_write_us = 0, commit_back_to_shard_us = 0;
  // Dependency releases: how many were made durable, and the time from a dependency's
  // terminal state to its dependent's release being durable (quantiles, microseconds).
  std::uint64_t releases = 0;
  std::int64_t release_p50_us = 0, release_p99_us = 0;
  std::uint64_t purged = 0;  // terminal tasks removed past their retention
  std::uint64_t wal_spares_used = 0;    // WAL files that started as a spare (store/spare_wal)
  std::uint64_t wal_spares_missed = 0;  // WAL files created while no spare was ready
};

// What /metrics shows of the engine: latency and size histograms, the storage engine's
// own figures, and the tasks not yet finished by type across accounts.
struct EngineMetrics {
  HistogramSnapshot commit_write_us;   // each group-commit write, its fsync included
  HistogramSnapshot commit_ops;        // transitions per write
  HistogramSnapshot lease_expiry_lag_us;  // a lease's end -> its expiry handled
  HistogramSnapshot claim_wait_us;     // long polls: parked -> answered
  std::vector<std::uint64_t> shard_ready;  // claimable tasks held per shard (LocalEngine)
  std::optional<StorageFigures> storage;   // the embedded store's own figures (LocalEngine)
  // Per type, all accounts together (QueueStats's counts; oldest and paused unset): the
  // `max_types` types with the most tasks, then one named "other" for the rest.
  std::vector<QueueStats> types;
};

// A command and the claim that follows it (complete and fail with claim_next).
struct ChainedOutcome {
  Outcome done;       // the command's outcome, as apply() gives it
  bool claimed = false;  // the command succeeded, so the claim was made
  Outcome next;       // the claim's outcome, as claim_next() gives it (when claimed)
};

// Whether `outcome` is a success a claim may follow: decided now, or a stored success
// replayed for an idempotent retry.
inline bool succeeded(const Outcome& outcome) {
  return outcome.ok() && (outcome.status == 0 || (outcome.status >= 200 && outcome.status < 300));
}

// Task logs (docs/api.md "Task logs"). The lease holder appends lines; they get their
// seq and time here, are durable before the append is answered, and go to the task's
// subscribers once durable.
struct LogLineInput {
  std::string level;
  std::string message;
  std::string data_json;  // "" = none
};

struct LogAppendRequest {
  std::string account;
  std::string task_id;
  Caller caller;
  std::vector<LogLineInput> lines;
  // The most bytes (LogLine::bytes) of lines a task keeps: past it the oldest are dropped.
  std::int64_t max_task_bytes = 1 << 20;
};

struct LogAppendOutcome {
  ErrorCode error = ErrorCode::none;
  std::shared_ptr<const Task> task;  // after the append (its log counters)
  std::int64_t first_seq = 0;        // the seqs the lines got
  std::int64_t last_seq = 0;
  Millis now = 0;
  bool ok() const { return error == ErrorCode::none; }
};

struct LogPage {
  ErrorCode error = ErrorCode::none;
  std::shared_ptr<const Task> task;
  std::vector<LogLine> lines;  // in seq order
};

// A live stream's end of a subscription. Called on the engine's threads: implementations
// hand the call to their own and return at once.
class LogSubscriber {
 public:
  virtual ~LogSubscriber() = default;
  // Lines, in seq order, once durable.
  virtual void deliver(std::shared_ptr<const std::vector<LogLine>> lines) = 0;
  // No more lines will come: the task reached a terminal state (`status`), or the engine
  // stopped following it (`reason`: "shutting_down", "storage_recovery", "purged").
  virtual void end(std::string_view reason, TaskStatus status) = 0;
};

// From the moment it is made, every line that becomes durable is delivered; what was
// durable before it is read with read_logs (which waits for the writes in flight), so
// the two overlap and never leave a gap (the subscriber drops lines it has already).
// When the task is over already, nothing is delivered or ended: read, then end.
struct LogSubscription {
  ErrorCode error = ErrorCode::none;
  std::shared_ptr<const Task> task;
  bool terminal = false;
};

// Pausing or resuming a queue: the queue as it is once that is durable.
struct QueueControlOutcome {
  ErrorCode error = ErrorCode::none;
  QueueStats queue;
  bool ok() const { return error == ErrorCode::none; }
};

// Schedules (docs/operations.md "Schedules"). The engine keeps them, fires them on their
// cron expression, and makes each firing's task in the same write as the schedule's new
// state and the firing's record, so a firing happens once, also across kill -9.
struct ScheduleOutcome {
  ErrorCode error = ErrorCode::none;
  std::string message;  // for invalid_request: what is wrong
  std::shared_ptr<const Schedule> schedule;
  bool ok() const { return error == ErrorCode::none; }
};

// The fields a PATCH changes; absent ones stay.
struct SchedulePatch {
  std::optional<std::string> name, cron, timezone;
  std::optional<bool> enabled;
  std::optional<MissedPolicy> missed;
  std::optional<std::string> task_type, template_json;  // both or neither
  std::optional<std::string> webhook_secret_sha256;     // "" removes the webhook
};

struct FireRequest {
  std::string account;  // "" for a webhook: the schedule's own
  std::string schedule_id;
  RunTrigger trigger = RunTrigger::manual;
  std::optional<std::string> payload_json;  // replaces the template's payload
  std::string secret_sha256;                // webhooks: must be the schedule's
  // Called on the engine's thread once the schedule (and a webhook's secret) is verified,
  // before the firing: false refuses it with rate_limited. Empty: always admitted.
  std::function<bool()> admit;
};

struct FireOutcome {
  ErrorCode error = ErrorCode::none;  // not_found, or as a create's
  ScheduleRun run;
  Outcome task;  // the create's outcome (a replay of an idempotent one: status and body)
  std::shared_ptr<const Schedule> schedule;
  bool ok() const { return error == ErrorCode::none; }
};

struct RunPage {
  ErrorCode error = ErrorCode::none;
  std::vector<ScheduleRun> runs;  // newest first
  // Each run's task as it is now (null: none made, or since purged).
  std::vector<std::shared_ptr<const Task>> tasks;
};

// Turns a schedule's template (and a webhook's payload, when given) into the create a
// firing makes, or the error that stops it. Set by the API, which owns the create's
// rules; called on the engine's threads.
using TaskTemplate = std::function<std::variant<CreateRequest, ErrorCode>(
    const Schedule& schedule, const std::string* payload_json, Millis now)>;

// How long an account's terminal tasks (completed, dead-lettered, cancelled) are kept
// after they end, in milliseconds; 0: for ever. Called from the engine's threads.
using RetentionPolicy = std::function<Millis(const std::string& account)>;

class TaskEngine {
 public:
  virtual ~TaskEngine() = default;
  // Terminal tasks past their account's retention are removed in the background, in
  // bounded batches; pending, claimed, blocked and gated tasks never are. Set before the
  // engine starts.
  virtual void set_retention(RetentionPolicy policy) = 0;
  virtual boost::asio::awaitable<Outcome> create(CreateRequest request,
                                                 const IdempotencyRequest* idempotency) = 0;
  // Creates every request, answered once all are durable. With `idempotency`, item i is
  // an idempotent create under item_idempotency(*idempotency, i) whose stored body is
  // idempotency->render of its task. This one creates them one after the other; an engine
  // may write its shards in parallel.
  virtual boost::asio::awaitable<BatchOutcome> create_batch(
      std::vector<CreateRequest> requests, const IdempotencyRequest* idempotency);
  virtual boost::asio::awaitable<Outcome> claim_next(ClaimRequest request) = 0;
  // Up to `max_tasks` claims as claim_next would make them: the long poll (if any) ends
  // at the first task, and the rest are what is claimable then. This one claims them one
  // after the other; an engine may take them in one step.
  virtual boost::asio::awaitable<BatchOutcome> claim_batch(ClaimRequest request, int max_tasks);
  // Claim by id, heartbeat, complete, fail, cancel, requeue: one command on one task.
  virtual boost::asio::awaitable<Outcome> apply(std::string account, std::string task_id,
                                                Command command,
                                                const IdempotencyRequest* idempotency) = 0;
  // `command`, then, if it succeeded, a claim as claim_next(next) would make it. The
  // claim is answered no earlier than the command is durable. This one runs them one after
  // the other; an engine may decide both in one step and make them durable together.
  virtual boost::asio::awaitable<ChainedOutcome> apply_then_claim(
      std::string account, std::string task_id, Command command,
      const IdempotencyRequest* idempotency, ClaimRequest next);
  virtual boost::asio::awaitable<Outcome> get(std::string account, std::string task_id) = 0;
  virtual boost::asio::awaitable<ListPage> list(ListRequest request) = 0;
  // The account's workers seen since `seen_since`, with their counts per type, live
  // leases and rank (core/worker_stats.hpp), best first.
  virtual boost::asio::awaitable<std::vector<WorkerSummary>> workers(std::string account,
                                                                     Millis seen_since) = 0;
  // Task logs: append (fenced by the caller's lease like a heartbeat, without renewing the
  // lease), read (lines after `after`, at most `limit`), and follow live.
  virtual boost::asio::awaitable<LogAppendOutcome> append_logs(LogAppendRequest request) = 0;
  virtual boost::asio::awaitable<LogPage> read_logs(std::string account, std::string task_id,
                                                    std::int64_t after, int limit) = 0;
  virtual boost::asio::awaitable<LogSubscription> subscribe_logs(
      std::string account, std::string task_id, std::shared_ptr<LogSubscriber> subscriber) = 0;
  // Any thread; saying it twice, or after the end, does nothing.
  virtual void unsubscribe_logs(const std::string& task_id,
                                std::shared_ptr<LogSubscriber> subscriber) = 0;
  // The account's queues (docs/operations.md "Queues"): every type with a task not yet
  // finished, a dead letter, a create or completion in the last minute, or a pause; by type.
  virtual boost::asio::awaitable<std::vector<QueueStats>> queues(std::string account) = 0;
  // Pauses (or resumes) a type's queue, durably: while paused, no claim takes its tasks
  // (a typed claim answers empty with queue_paused, a long poll waits, a claim of any
  // type passes it by); creates, heartbeats and completions go on.
  virtual boost::asio::awaitable<QueueControlOutcome> pause_queue(std::string account,
                                                                  std::string type,
                                                                  bool paused) = 0;
  virtual EngineStats stats() = 0;
  virtual boost::asio::awaitable<EngineMetrics> metrics(int max_types) = 0;
  // Schedules. Set the template before the engine starts; schedules fire from start().
  // create_schedule takes the schedule without id, times or runs (the engine sets them)
  // and refuses past `max_per_account`; runs past `runs_kept` per schedule are dropped.
  virtual void set_task_template(TaskTemplate make, std::int64_t runs_kept) = 0;
  virtual boost::asio::awaitable<ScheduleOutcome> create_schedule(Schedule schedule,
                                                                  int max_per_account) = 0;
  virtual boost::asio::awaitable<ScheduleOutcome> update_schedule(std::string account,
                                                                  std::string id,
                                                                  SchedulePatch patch) = 0;
  virtual boost::asio::awaitable<ScheduleOutcome> delete_schedule(std::string account,
                                                                  std::string id) = 0;
  virtual boost::asio::awaitable<ScheduleOutcome> get_schedule(std::string account,
                                                               std::string id) = 0;
  virtual boost::asio::awaitable<std::vector<Schedule>> list_schedules(std::string account) = 0;
  // Fires once now (trigger or webhook); with `idempotency`, a retry answers the stored
  // create instead of firing again.
  virtual boost::asio::awaitable<FireOutcome> fire_schedule(FireRequest request,
                                                            const IdempotencyRequest* idempotency) = 0;
  virtual boost::asio::awaitable<RunPage> schedule_runs(std::string account, std::string id,
                                                        std::int64_t before, int limit) = 0;
  // The account's live leases (tasks claimed and not yet completed, failed or expired).
  virtual std::int64_t leases_in_use(const std::string& account) = 0;
  // The account's usage per type and hour, of the hours [from_hour, until_hour) (hours
  // since the epoch), in hour order; and its creates counted toward this month's quota.
  virtual std::vector<UsageRow> usage(const std::string& account, std::int64_t from_hour,
                                      std::int64_t until_hour) = 0;
  virtual std::int64_t created_this_month(const std::string& account) = 0;
  // The cost (estimated_cost_usd, in nano-dollars) the account's workers reported this
  // calendar month (UTC): what a monthly cost budget is checked against.
  virtual std::int64_t spent_this_month(const std::string& account) = 0;
  // A consistent copy of everything stored (tasks, accounts, keys, idempotency records),
  // as a new data directory at `target`, while requests go on being served. Holds every
  // change acknowledged before the call. Blocks for as long as the copy takes: call it
  // off the threads that serve requests.
  virtual SnapshotOutcome snapshot(const std::string& target) = 0;
};

}  // namespace baton
