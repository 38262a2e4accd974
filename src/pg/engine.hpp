#pragma once
// TaskEngine on PostgreSQL (storage.engine: postgres; docs/scale-out.md): several Baton
// nodes share one database. Each node runs one thread per shard, each with an io_context
// that serves its connections and a bounded pool of non-blocking libpq connections; an
// operation runs on the thread that received it, as one transaction. The pure state
// machine decides every transition between a row's `SELECT … FOR UPDATE` and its UPDATE;
// claims take the best pending row with `FOR UPDATE SKIP LOCKED`; fencing is the lease
// token the state machine checks on the locked row. Long polls wait on the node, woken by
// LISTEN/NOTIFY (or by polling); expired leases of every node are taken back by a
// sweeper on each node, so a dead node's leases come back within one sweep interval.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <array>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/lifecycle.hpp"
#include "engine/task_engine.hpp"

namespace baton::pg {

class BlockingSession;
class Connection;
class Params;
class Result;
struct Step;

struct PgOptions {
  std::string url;  // a libpq connection string or URI
  int threads = 1;
  int connections_per_thread = 4;
  bool notify = true;          // wake: notify (else poll)
  int poll_interval_ms = 500;  // a parked long poll looks again this often
  int sweep_interval_ms = 100;  // expired leases are looked for this often
  BackoffPolicy backoff;
  int task_history_kept = kDefaultTaskHistoryKept;
  // Expired idempotency keys, and terminal tasks past their account's retention, are
  // removed this often; the latter purge_batch tasks at a time.
  int purge_interval_seconds = 60;
  int purge_batch = 1000;
  // Called (on an engine thread) when another node changed a key, a plan or a budget,
  // which the api's caches of keys hold.
  std::function<void()> accounts_changed;
};

class PgEngine final : public TaskEngine {
 public:
  explicit PgEngine(PgOptions options);
  ~PgEngine() override;

  int threads() const { return static_cast<int>(threads_.size()); }
  boost::asio::io_context& context(int thread);
  // Runs the threads, the lease sweeper and (wake: notify) the LISTEN connection.
  void start();
  // Parked long polls answer empty now; new ones do not wait.
  void begin_shutdown();
  void stop();

  void set_retention(RetentionPolicy policy) override;
  boost::asio::awaitable<Outcome> create(CreateRequest request,
                                         const IdempotencyRequest* idempotency) override;
  // All of them in one transaction: every item is created, or none.
  boost::asio::awaitable<BatchOutcome> create_batch(std::vector<CreateRequest> requests,
                                                    const IdempotencyRequest* idempotency) override;
  boost::asio::awaitable<Outcome> claim_next(ClaimRequest request) override;
  boost::asio::awaitable<Outcome> apply(std::string account, std::string task_id, Command command,
                                        const IdempotencyRequest* idempotency) override;
  boost::asio::awaitable<Outcome> get(std::string account, std::string task_id) override;
  boost::asio::awaitable<ListPage> list(ListRequest request) override;
  boost::asio::awaitable<std::vector<WorkerSummary>> workers(std::string account,
                                                             Millis seen_since) override;
  boost::asio::awaitable<LogAppendOutcome> append_logs(LogAppendRequest request) override;
  boost::asio::awaitable<LogPage> read_logs(std::string account, std::string task_id,
                                            std::int64_t after, int limit) override;
  boost::asio::awaitable<LogSubscription> subscribe_logs(
      std::string account, std::string task_id, std::shared_ptr<LogSubscriber> subscriber) override;
  void unsubscribe_logs(const std::string& task_id,
                        std::shared_ptr<LogSubscriber> subscriber) override;
  boost::asio::awaitable<std::vector<QueueStats>> queues(std::string account) override;
  boost::asio::awaitable<QueueControlOutcome> pause_queue(std::string account, std::string type,
                                                          bool paused) override;
  EngineStats stats() override;
  boost::asio::awaitable<EngineMetrics> metrics(int max_types) override;
  void set_task_template(TaskTemplate make, std::int64_t runs_kept) override;
  boost::asio::awaitable<ScheduleOutcome> create_schedule(Schedule schedule,
                                                          int max_per_account) override;
  boost::asio::awaitable<ScheduleOutcome> update_schedule(std::string account, std::string id,
                                                          SchedulePatch patch) override;
  boost::asio::awaitable<ScheduleOutcome> delete_schedule(std::string account,
                                                          std::string id) override;
  boost::asio::awaitable<ScheduleOutcome> get_schedule(std::string account,
                                                       std::string id) override;
  boost::asio::awaitable<std::vector<Schedule>> list_schedules(std::string account) override;
  boost::asio::awaitable<FireOutcome> fire_schedule(FireRequest request,
                                                    const IdempotencyRequest* idempotency) override;
  boost::asio::awaitable<RunPage> schedule_runs(std::string account, std::string id,
                                                std::int64_t before, int limit) override;
  std::int64_t leases_in_use(const std::string& account) override;
  std::vector<UsageRow> usage(const std::string& account, std::int64_t from_hour,
                              std::int64_t until_hour) override;
  std::int64_t created_this_month(const std::string& account) override;
  std::int64_t spent_this_month(const std::string& account) override;
  SnapshotOutcome snapshot(const std::string& target) override;

  // Per thread: its io_context, pool and parked claims (pg/engine_thread.hpp).
  struct Thread;
  struct Waiter;
  // A dependency's end, to tell one of its dependents (engine_links.cpp).
  struct DependencyNotice {
    std::string dependency, dependent;
    bool failed = false;  // dead-lettered or cancelled
  };

 private:
  Thread& here();
  TransitionContext context_at(Thread& thread, Millis now);

  // One claim attempt as a transaction: the best claimable task, claimed; a null task
  // when there is none.
  boost::asio::awaitable<Outcome> try_claim(Thread& thread, const ClaimRequest& request);
  // Waits (on this thread, listed node-wide) until woken, the poll interval passes or `deadline`;
  // false when the claim should stop waiting (client gone, shutting down, deadline).
  boost::asio::awaitable<bool> park(Thread& thread, const ClaimRequest& request,
                                    std::chrono::steady_clock::time_point deadline,
                                    std::uint64_t order, std::uint64_t wakes_seen);
  // A task of `account`/`type` became claimable. Made on this node: the node's
  // longest-parked claim that can take it is woken, whichever thread it waits on.
  // Announced by another node (NOTIFY): every such claim looks, since one notification may
  // stand for several tasks (PostgreSQL folds equal payloads of one transaction into one).
  void wake(const std::string& account, const std::string& type, bool every = false);
  // Under waiting_mutex_: has `waiter`'s thread cancel its timer.
  void wake_waiter(Waiter* waiter);
  boost::asio::awaitable<void> sweep();
  // The rows whose deadline passed (`statement`: expired_leases or expired_gates), each
  // expired as the state machine decides: a lease's end, an acceptance gate's timeout.
  boost::asio::awaitable<void> sweep_deadlines(Thread& thread, const char* statement);
  boost::asio::awaitable<void> check_accounts(Thread& thread);
  boost::asio::awaitable<void> purge_idempotency(Thread& thread, Millis now);
  boost::asio::awaitable<void> listen_ready();
  // Storage reachability as /health reports it: set by the sweeper's round trips.
  void storage_reached(bool reached, const std::string& error);
  // The NOTIFY payload of a claimable task of `account`/`type`, from this node.
  std::string ready_notice(const std::string& account, const std::string& type) const;
  // A new task as `request` describes it, not yet written.
  Task make_task(Thread& thread, CreateRequest& request, Millis now);
  // How a create's transaction ends: given the task written (null: refused for `refused`,
  // nothing written), the steps after its rows (a stored answer, the COMMIT or ROLLBACK),
  // whose parameters go into `params`.
  using CreateClosing = std::function<void(const Task* task, ErrorCode refused,
                                           std::vector<Step>& steps, std::deque<Params>& params)>;
  struct CreateWrite {
    std::optional<Task> task;             // written
    ErrorCode refused = ErrorCode::none;  // or why not
    // The key `opening` takes (at key_step) is held: nothing was written, and the
    // transaction has failed.
    bool key_held = false;
  };
  // A create's rows, in the transaction `opening` begins (or one open already): its
  // links locked and checked and its plan's quota counted (sent with `opening` when they
  // need a round trip), then the task made and written with what `closing` adds, in one
  // pipeline (engine_creates.cpp). Shared by create() and a schedule's firing.
  boost::asio::awaitable<CreateWrite> write_create(Connection& connection, Thread& thread,
                                                   CreateRequest& request, Millis now,
                                                   std::vector<Step> opening,
                                                   std::optional<std::size_t> key_step,
                                                   const CreateClosing& closing);
  // In the transaction open on `connection`: the account's row locked, whether one more
  // lease (claim) fits its plan's worker limit, and how many more tasks its monthly quota
  // allows (engine_limits.cpp).
  boost::asio::awaitable<bool> lease_fits(Connection& connection, const std::string& account,
                                          std::int64_t max_leases);
  boost::asio::awaitable<std::int64_t> quota_room(Connection& connection, const std::string& account,
                                                  std::int64_t monthly_quota, Millis now);
  // A batch of idempotent creates made item by item in the transaction open on
  // `connection` (a retry: some items are stored, and answered again); `room` is what the
  // monthly quota allows, -1 for no quota. Commits.
  boost::asio::awaitable<BatchOutcome> create_items(Connection& connection, std::vector<Task>& tasks,
                                                    const IdempotencyRequest& idempotency,
                                                    std::int64_t room, Millis now);
  // Tells dependents that their dependency ended, each in a transaction of its own that
  // takes the link away (engine_links.cpp): now, or from a coroutine of its own.
  boost::asio::awaitable<void> tell_dependents(std::vector<DependencyNotice> notices);
  void tell_later(Thread& thread, std::vector<DependencyNotice> notices);
  // One of them; the dependents of a dependent it cancels go to `more`.
  boost::asio::awaitable<void> tell_dependent(Thread& thread, const DependencyNotice& notice,
                                              std::vector<DependencyNotice>& more);
  // The sweeper's step: the links whose dependency finished and whose dependent was never
  // told (its node died in between).
  boost::asio::awaitable<void> tell_unfinished_links(Thread& thread);
  // The sweeper's step: the last hours' usage rows folded, one per (account, hour, type)
  // (engine_usage.cpp).
  boost::asio::awaitable<void> fold_usage(Thread& thread, Millis now);
  // After a change before -> after is durable (engine_gates.cpp): the verification it owes
  // started, or its verifier's verdict reported, and a finished task's log streams ended,
  // each from a coroutine of its own on `thread`.
  void after_change(Thread& thread, const Task* before, const Task& after);
  // The sweeper's step: every gated task whose verification is pending gets what it still
  // needs (resume_verification), from one coroutine at a time; `at_start` looks at every
  // one, later looks pass over those changed in the last seconds, which their own node is
  // still seeing to.
  boost::asio::awaitable<void> resume_gates(Thread& thread, bool at_start);
  // The sweeper's step: the terminal tasks of every account past its retention, removed
  // (engine_retention.cpp).
  boost::asio::awaitable<void> purge_history(Thread& thread);
  boost::asio::awaitable<void> purge_status(Thread& thread, const std::string& account,
                                            TaskStatus status, Millis cutoff);
  // The pipeline that ends a write transaction (its COMMIT, or a lone write), timed for
  // /metrics with the `changes` of tasks it carries (none: not counted).
  boost::asio::awaitable<std::vector<Result>> commit(Connection& connection, std::vector<Step> steps,
                                                     int changes);
  // Runs `step` from a coroutine of its own on `thread`, unless the one started before
  // (`running`, the sweeper's thread's) has not ended: a long step never holds up the
  // sweeps, nor runs twice at once.
  void spawn_alone(Thread& thread, bool& running, boost::asio::awaitable<void> step,
                   std::string_view where);
  // The worker roster (engine_workers.cpp). The creates that ask for assign: best get the
  // best-ranked worker of their type seen in the last hour, if any; and the sweeper's
  // step that folds the roster's rows.
  boost::asio::awaitable<void> assign_best(Connection& connection, std::vector<CreateRequest*> requests,
                                           Millis now);
  boost::asio::awaitable<void> fold_workers(Thread& thread);
  // Live log streams (engine_logs.cpp): whether this node follows the task; a pull of what
  // its subscribers have not been given, now (from a coroutine of its own) or awaited;
  // the poll that catches up with other nodes; and the end of every stream.
  bool followed(const std::string& task_id);
  void pull_later(Thread& thread, const std::string& task_id);
  boost::asio::awaitable<void> pull_logs(Thread& thread, std::string task_id);
  boost::asio::awaitable<void> follow_logs();
  void end_log_streams(std::string_view reason);
  // Schedules (engine_schedules.cpp). The first thread fires every due schedule that no
  // other node holds, at its due time or within kSchedulePollMs of it; schedules_changed
  // has it look again at once (a schedule of this node's made or moved).
  boost::asio::awaitable<void> run_schedules();
  boost::asio::awaitable<Millis> fire_due(Thread& thread);
  boost::asio::awaitable<void> fire_on_time(Connection& connection, Thread& thread, Schedule& record,
                                            Millis now);
  // A firing of `record`, locked in the transaction open on `connection`: its run, its
  // task (as a create would write it, under `idempotency` when given), the schedule's new
  // state; committed.
  boost::asio::awaitable<void> fire_locked(Connection& connection, Thread& thread, Schedule& record,
                                           RunTrigger trigger, Millis due,
                                           const std::string* payload,
                                           const IdempotencyRequest* idempotency,
                                           const std::string& scope, FireOutcome& fired);
  // After a firing failed (and was rolled back): the schedule moved on to its next slot.
  boost::asio::awaitable<void> skip_firing(Connection& connection, const std::string& id);
  void schedules_changed();
  // An idempotent request's stored answer, or why there is none to give.
  boost::asio::awaitable<Outcome> replay(Connection& connection, const std::string& scope,
                                         const std::string& request_hash, Millis now);

  PgOptions options_;
  std::string node_;  // this process's id in NOTIFY payloads: its own come back and are skipped
  std::vector<std::unique_ptr<Thread>> threads_;
  std::atomic<bool> shutting_down_{false};
  // The claims parked on this node, by order, whichever thread each waits on: a task made
  // here wakes the longest-parked claim that can take it, node-wide.
  std::mutex waiting_mutex_;
  std::list<Waiter*> waiting_;
  std::uint64_t parked_ = 0;  // claims parked so far: the next one's order
  // Wake-ups so far, by a hash of the account: a claim that saw its account's count move
  // while it looked does not park (the task it missed may be the one that woke no one).
  std::array<std::uint64_t, 64> wakes_{};
  std::uint64_t& wakes_of(const std::string& account) {
    return wakes_[std::hash<std::string>{}(account) % wakes_.size()];
  }
  RetentionPolicy retention_;
  TaskTemplate task_template_;
  std::int64_t runs_kept_ = 0;
  // The first thread's: the schedules loop's timer while it waits, and whether a schedule
  // changed since it last looked.
  boost::asio::steady_timer* schedule_timer_ = nullptr;
  bool schedules_moved_ = false;
  std::atomic<std::uint64_t> purged_{0};  // terminal tasks removed past their retention
  // For /metrics (engine_metrics.cpp), added to from every thread.
  Histogram commit_us_{kDurationBoundsUs};      // each commit's round trip
  Histogram commit_changes_{kSizeBounds};       // tasks changed per commit
  Histogram expiry_lag_us_{kDurationBoundsUs};  // a lease's end -> its expiry committed
  Histogram claim_wait_us_{kDurationBoundsUs};  // long polls, parked -> answered
  std::int64_t accounts_revision_ = -1;  // baton_revision as last read (sweeper's thread)
  bool resuming_gates_ = false;  // resume_gates is running (sweeper's thread)
  bool purging_ = false;         // purge_history is running (sweeper's thread)
  // The tasks whose logs this node's streams follow, by task id.
  struct LogFollow {
    std::vector<std::shared_ptr<LogSubscriber>> subscribers;
    std::int64_t delivered = 0;  // the last seq given to them
    bool pulling = false;        // a pull is running: only it delivers
    bool again = false;          // asked for again while it ran
  };
  std::mutex follows_mutex_;
  std::map<std::string, LogFollow> follows_;
  std::mutex storage_mutex_;  // the three below: written by the sweeper, read by stats()
  bool storage_writable_ = true;
  std::string storage_error_;
  std::uint64_t storage_failures_ = 0, storage_recoveries_ = 0;
  // For the counts the interface asks for without a coroutine (leases_in_use, …).
  std::unique_ptr<BlockingSession> counts_;
};

}  // namespace baton::pg
