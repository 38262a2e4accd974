#pragma once
// One shard: a thread with its own io_context that owns a set of vnodes, their queues'
// claimable tasks (ReadyQueues), their delayed tasks and leases (TimerWheel), the long
// polls parked on them, the idempotency keys it is home to, and a GroupCommitter. All of
// it is touched only on this shard's thread; other shards reach it via on_shard().
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "engine/engine_options.hpp"
#include "core/lifecycle.hpp"
#include "core/minute_count.hpp"
#include "core/worker_stats.hpp"
#include "core/ulid.hpp"
#include "engine/group_commit.hpp"
#include "engine/lease_gate.hpp"
#include "engine/quota_gate.hpp"
#include "engine/ready_queues.hpp"
#include "engine/spend_meter.hpp"
#include "engine/routing.hpp"
#include "engine/schedule_rules.hpp"
#include "engine/task_engine.hpp"
#include "engine/timer_wheel.hpp"
#include "engine/waiter.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"

namespace date {
class time_zone;
}

namespace baton {

class Db;

struct UlidHash {
  std::size_t operator()(const Ulid& id) const;
};

class Shard {
 public:
  // `leases` counts every account's live leases across all shards (the worker limit),
  // `quota` every account's creates this month, `spend` the cost they reported.
  Shard(int index, Db& db, const EngineOptions& options, LeaseGate& leases, QuotaGate& quota,
        SpendMeter& spend);
  ~Shard();

  int index() const { return index_; }
  boost::asio::io_context& context() { return context_; }

  // Start-up, before the shard's thread runs: rebuild in-memory state from storage.
  void restore(const keys::ActiveKey& key, const records::ActiveEntry& entry);
  void start();          // arms the wheel's tick; call on the shard's thread
  void shut_down();      // answers parked long polls with "nothing"; on the shard's thread

  // Recovery after a storage failure (LocalEngine::recover_storage), on the shard's
  // thread. A failed write leaves the in-memory indexes ahead of what RocksDB holds, so
  // once nothing is in flight (quiescent) they are dropped (forget_state: parked long polls
  // are answered with "nothing", queues, timers and cached records cleared) and rebuilt
  // with restore(), as at start.
  bool quiescent() const;
  void forget_state();

  // Operations, on this shard's thread.
  boost::asio::awaitable<Outcome> create(CreateRequest request,
                                         const IdempotencyRequest* idempotency);
  // Creates every request in one turn, so one write makes them all durable. An item with
  // an idempotency request whose answer is stored already is answered from it.
  boost::asio::awaitable<std::vector<Outcome>> create_all(
      std::vector<CreateRequest> requests, std::vector<const IdempotencyRequest*> idempotency);
  boost::asio::awaitable<Outcome> apply(std::string account, Ulid id, Command command,
                                        const IdempotencyRequest* idempotency);
  // `command`, then, if it succeeded, a claim of the best task of (account, type) on this
  // shard, decided in the same turn: one write makes both durable.
  boost::asio::awaitable<ChainedOutcome> apply_then_claim(std::string account, Ulid id,
                                                          Command command, std::string type,
                                                          Claimant claimant);
  boost::asio::awaitable<Outcome> get(std::string account, Ulid id);
  // get(), answered once the state it read is durable: what other tasks are decided from
  // (a dependency's or a parent's state) must not be one a crash can still take back.
  boost::asio::awaitable<Outcome> get_durable(std::string account, Ulid id);
  // Claims the best claimable task of the queue (or of the account when type is empty)
  // on this shard; Outcome::task empty when there is none. With `min_priority` (that of
  // the best task seen on another shard), only a task of at least that priority: else
  // nothing, so that a claim across shards looks again rather than take a lower-priority
  // task. Only the priority: comparing the whole order (scheduledAt, id) made concurrent
  // typeless claims of equal-priority tasks miss and look again so often that they ran
  // 15-18 % slower with twice the claim p99 (docs/benchmarks.md).
  // An account holding `max_leases` live leases (0: no limit) claims nothing: the outcome
  // is max_workers_reached.
  boost::asio::awaitable<Outcome> claim_best(std::string account, std::optional<std::string> type,
                                             Claimant claimant,
                                             std::optional<int> min_priority = std::nullopt);
  // Up to `count` claims of the queue's best tasks, in one turn and one write; empty
  // when none is claimable, one unavailable outcome when the write failed.
  // Stops at the account's lease limit: a max_workers_reached outcome alone when it was
  // met before any was claimed.
  boost::asio::awaitable<std::vector<Outcome>> claim_several(std::string account,
                                                             std::string type,
                                                             Claimant claimant, int count);
  // The best claimable entry of the account on this shard, for a claim across shards.
  std::optional<ReadyEntry> peek_best(const std::string& account, const std::string& worker);
  // Parks `waiter` here, serving it at once if a task is already claimable.
  void register_waiter(const std::shared_ptr<Waiter>& waiter);
  void forget_waiter(const std::shared_ptr<Waiter>& waiter);
  // Home-shard side of a long poll: deadline on this shard's wheel.
  void arm_deadline(Waiter& waiter, Millis due);
  void disarm_deadline(Waiter& waiter);
  boost::asio::awaitable<StorageStatus> wait_commit(std::uint64_t generation);

  // Idempotency keys homed on this shard.
  struct IdempotencyCheck {
    enum class Kind { proceed, replay, conflict, in_flight } kind = Kind::proceed;
    int status = 0;
    std::string body;
  };
  IdempotencyCheck begin_idempotent(const IdempotencyRequest& request);
  // What storage holds for the key (replay, conflict, or proceed when nothing), without
  // marking it in flight.
  IdempotencyCheck stored_response(const IdempotencyRequest& request);
  void end_idempotent(const IdempotencyRequest& request);

  // Dependencies (shard_dependencies.cpp). Called once a task this shard owns reached a
  // terminal state that is durable, for each task blocked on it: `dependent` learns that
  // `dependency` finished (failed: dead-lettered or cancelled).
  // `finished_us`: when the dependency's terminal state was decided (wall clock, µs).
  using DependencyNotice = std::function<void(const Ulid& dependent, const std::string& dependency,
                                              bool failed, std::int64_t finished_us)>;
  void set_on_dependency_done(DependencyNotice notice) { on_dependency_done_ = std::move(notice); }
  // `dependent` waits for `dependency`, a task of this shard: nullopt when it is not
  // finished (the notice comes once it is, durably), else whether it failed, for the
  // caller to tell the dependent. Saying it twice registers once.
  std::optional<bool> watch_dependency(const Ulid& dependency, const Ulid& dependent);
  // The blocked and awaiting_acceptance tasks restore() met: what they wait for
  // (dependencies, a verifier) is looked at again after a restart or a storage recovery,
  // which forget what was watched and may have lost a notice.
  std::vector<Ulid> take_restored_links() { return std::exchange(restored_links_, {}); }
  // Verifications (shard_links.cpp), called once the write that made them is durable: a
  // task reached its acceptance gate with a verification to run; a verifier's task
  // finished.
  using TaskNotice = std::function<void(std::shared_ptr<const Task>)>;
  void set_on_verification(TaskNotice needed, TaskNotice finished) {
    on_verification_needed_ = std::move(needed);
    on_verifier_finished_ = std::move(finished);
  }

  // One step of the retention purge: of the account's tasks in terminal `status` this
  // shard owns, created before `cutoff`, after `after`, up to `limit` are looked at, and
  // those still terminal that ended before `cutoff` are removed in one write. Answered
  // once it is durable. `shard_count` tells which tasks are this shard's.
  struct PurgeStep {
    int purged = 0;
    std::optional<Ulid> last;  // where the next step resumes
    bool done = true;          // nothing more of this status to look at now
  };
  boost::asio::awaitable<PurgeStep> purge(std::string account, TaskStatus status, Millis cutoff,
                                          std::optional<Ulid> after, int limit, int shard_count);

  // Task logs of this shard's tasks (shard_logs.cpp).
  boost::asio::awaitable<LogAppendOutcome> append_logs(Ulid id, LogAppendRequest request);
  boost::asio::awaitable<LogPage> read_logs(std::string account, Ulid id, std::int64_t after,
                                            int limit);
  LogSubscription subscribe_logs(const std::string& account, const Ulid& id,
                                 std::shared_ptr<LogSubscriber> subscriber);
  void unsubscribe_logs(const Ulid& id, const std::shared_ptr<LogSubscriber>& subscriber);

  // The worker roster's counts of the queues this shard owns (shard_workers.cpp): kept
  // here, written once a second (a kill -9 loses at most the last second's counts, never
  // a task), and read back at start.
  void restore_worker_stats(const std::string& key, const WorkerTypeStats& stats);
  std::vector<std::pair<keys::WorkerStatsKey, WorkerTypeStats>> worker_stats_of(
      const std::string& account, Millis seen_since) const;
  // The best-ranked worker of (account, type) seen in the last hour (assign: "best"), or
  // nothing when none was.
  std::optional<std::string> best_worker(const std::string& account, const std::string& type,
                                         Millis now) const;

  // Queues (shard_queues.cpp): what GET /v1/queues shows of the account's queues this
  // shard owns (of `shard_count`), and pausing one of them durably.
  std::vector<QueueStats> queue_stats(const std::string& account, int shard_count);
  boost::asio::awaitable<QueueControlOutcome> set_paused(std::string account, std::string type,
                                                         bool paused, int shard_count);
  // Whether the webhook secret's hash is the schedule's (a schedule without a webhook
  // matches none).
  bool webhook_matches(const Ulid& id, const std::string& secret_sha256) const;
  bool queue_paused(const std::string& account, const std::string& type) const {
    return ready_.paused(account, type);
  }
  // /metrics: the shard's queues by type, all accounts together (no dead letters, which
  // are stored); how late lease expiries were handled; claimable tasks held (any thread).
  std::vector<QueueStats> type_totals();
  HistogramSnapshot expiry_lag() const { return expiry_lag_us_.snapshot(); }
  std::uint64_t ready_depth() const { return ready_depth_.load(std::memory_order_relaxed); }
  // Start-up: a queue storage says is paused.
  void restore_paused(const std::string& account, const std::string& type) {
    ready_.set_paused(account, type, true);
  }

  // Schedules (shard_schedules.cpp): those whose template's queue this shard owns. Each
  // is armed on the wheel at its next firing; a firing's task, the schedule's new state
  // and the firing's record are written in one round.
  void set_task_template(const TaskTemplate* make, std::int64_t runs_kept) {
    make_task_ = make;
    runs_kept_ = runs_kept;
  }
  // Takes a schedule into memory without writing it (start, storage recovery, a schedule
  // handed over by the shard that owned its old type) and arms it.
  void adopt_schedule(const Ulid& id, const Schedule& schedule);
  // Writes the schedule (new or changed) and keeps or arms it here; answered once durable.
  boost::asio::awaitable<ScheduleOutcome> put_schedule(Ulid id, Schedule schedule);
  // Writes the schedule and lets it go (its type now lives on another shard): nothing
  // here fires it after this returns.
  boost::asio::awaitable<ScheduleOutcome> release_schedule(Ulid id, Schedule schedule);
  boost::asio::awaitable<ScheduleOutcome> remove_schedule(Ulid id);
  // Applies `patch` to the account's schedule and writes it; `moved` when its new type's
  // queue is another shard's (of `shard_count`), which must then put_schedule it.
  boost::asio::awaitable<ScheduleOutcome> patch_schedule(Ulid id, std::string account,
                                                         SchedulePatch patch, int shard_count,
                                                         bool& moved);
  Ulid new_schedule_id();
  std::shared_ptr<const Schedule> find_schedule(const Ulid& id) const;
  std::vector<Schedule> schedules_of(const std::string& account) const;
  boost::asio::awaitable<FireOutcome> fire_schedule(Ulid id, FireRequest request,
                                                    const IdempotencyRequest* idempotency);
  // After start and after a storage recovery: each enabled schedule whose firing passed
  // while it was not armed fires once now (missed: run_once) or moves on to its next
  // (skip).
  void catch_up_schedules();

  const GroupCommitter& committer() const { return committer_; }
  // After the shard's thread has stopped: see GroupCommitter::finish_pending.
  void finish_commits() { committer_.finish_pending(); }

 private:
  enum class TaskTimerKind : std::uint8_t { delay, lease, gate, assignment };
  struct TaskTimer;
  struct Dirty {
    std::shared_ptr<const Task> task;
    std::uint64_t generation = 0;
  };

  // The task's newest state, shared (records are never modified in place); null if none.
  std::shared_ptr<const Task> load(const Ulid& id);
  // Persists before -> after (and a stored response), updates in-memory indexes and
  // timers, wakes long polls. Returns the commit generation to wait for. `dequeued`: the
  // caller already took the task's ready entry out (a claim from its queue), so no search
  // of the queue is made for it.
  std::uint64_t commit_transition(const Task* before, std::shared_ptr<const Task> after,
                                  const Ulid& id,
                                  const IdempotencyRequest* idempotency, Millis now,
                                  Outcome& outcome, bool dequeued = false);
  void reindex(const Task* before, const Task& after, const Ulid& id, bool dequeued = false);
  // A due pending task into its queue: its type's, or its worker's while assigned (with a
  // timer that moves it to its type's when the assignment ends). Wakes long polls.
  void make_ready(const Task& task, const ReadyEntry& entry, const Ulid& id);
  // Arms the task's one timer (delay, lease, gate or assignment) at `due`; `task` and
  // `entry` say where a delay or an assignment puts the task when it fires.
  void arm_task_timer(const Ulid& id, TaskTimerKind kind, Millis due, const Task* task = nullptr,
                      const ReadyEntry& entry = {});
  // The queue a claim of (account, type) by `worker` takes from: the type's, or the
  // worker's pinned one when its best task comes first. Null when neither exists.
  ReadyQueues::Queue* queue_for(const std::string& account, const std::string& type,
                                const std::string& worker);
  void on_claimable(ReadyQueues::Queue& queue);
  struct Claimed {
    std::shared_ptr<const Task> task;      // null: nothing claimed
    std::shared_ptr<const Task> previous;  // the task before the claim (for undoing it)
    std::uint64_t generation = 0;          // the write to wait for
    bool at_lease_limit = false;           // the account holds its plan's workers
  };
  // Synchronous claim of the queue's best task; none when it has none, or none of at
  // least `min_priority`, or the claimant's account is at its lease limit.
  Claimed claim_from(ReadyQueues::Queue& queue, const Claimant& claimant, Millis now,
                     std::optional<int> min_priority = std::nullopt);
  // claim_from into an outcome (the task, and what it was before, for undoing the
  // claim; max_workers_reached at the lease limit); returns the generation to wait for,
  // 0 when nothing was claimed.
  std::uint64_t claim_into(Outcome& outcome, ReadyQueues::Queue& queue, const Claimant& claimant,
                           std::optional<int> min_priority = std::nullopt);
  // A lease slot of the account's (LeaseGate), counted here too so that forget_state can
  // give back this shard's.
  bool take_lease(const std::string& account, std::int64_t max_leases);
  void end_lease(const std::string& account);
  boost::asio::awaitable<Outcome> finish(Outcome outcome, std::uint64_t generation);
  // Decides a create into `outcome`; returns the generation to wait for (0 on an error).
  std::uint64_t decide_create(CreateRequest request, const IdempotencyRequest* idempotency,
                              Outcome& outcome);
  // Decides `command` on the task into `outcome`; returns the generation to wait for
  // before answering (0: nothing to wait for, or an error in `outcome`).
  std::uint64_t decide(const std::string& account, const Ulid& id, Command& command,
                       const IdempotencyRequest* idempotency, Outcome& outcome);
  void on_durable(std::uint64_t generation, bool ok);
  // `id` reached a terminal state in the write of `generation`: its dependents are told
  // once that write is durable.
  void note_finished(const Ulid& id, const Task& task, std::uint64_t generation);
  void deliver_releases(std::uint64_t generation, bool ok);
  void count_worker(const Task* before, const Task& after, Millis now);
  // Usage (shard_usage.cpp): what a transition adds to its (account, type, hour) counts,
  // kept here and written whole into the batch of the round that changed them, just
  // before it is sealed, so the counts are durable with the transitions they count.
  void count_usage(const Task* before, const Task& after, Millis now);
  void write_usage();
  void drop_old_usage(Millis now);
  void write_worker_stats();
  void note_verification(const Task* before, const Task& after,
                         const std::shared_ptr<const Task>& shared, std::uint64_t generation,
                         bool finished);
  // Logs (shard_logs.cpp): a task's transition ended its claim, or ended it; a task's
  // subscribers are told once the write is durable.
  void note_log_transition(const Task* before, const Task& after, const Ulid& id,
                           std::uint64_t generation);
  void end_log_streams_when_durable(const Ulid& id, TaskStatus status, std::uint64_t generation);
  // Tells every subscriber the stream ends (`reason`); `forget_sizes` also drops what the
  // shard knows of its tasks' lines (after a storage fault, when it may be wrong).
  void end_log_streams(std::string_view reason, bool forget_sizes);
  // Queues (shard_queues.cpp): a transition's change to its queue's counts by status and
  // last-minute rates (memory), and to its dead-letter count (stored, written whole into
  // the round's batch before it is sealed, as usage is).
  void count_queue(const Task* before, const Task& after, Millis now);
  void count_queue_status(const std::string& account, const std::string& type, TaskStatus status,
                          int change);
  QueueFacts& queue_facts(const std::string& account, const std::string& type);
  void write_queue_facts();
  void count_purged(const Task& task);
  // Once a second: drops counts of queues with nothing in them and no recent activity,
  // and stored facts no write is waiting for (read back when next met).
  void drop_idle_queues(Millis now);
  // Schedules (shard_schedules.cpp).
  static constexpr std::uint32_t kScheduleTimerKind = 3;
  struct ShardSchedule {
    Ulid id{};
    Schedule record;
    ScheduleClock clock;  // zone null: its expression or zone does not read
    WheelTimer timer;  // armed at record.next_due while enabled
  };
  void on_schedule_timer(WheelTimer& timer);
  void arm_schedule(ShardSchedule& schedule);
  // Decides a firing of `schedule` due at `due` into `fired` (its run and task); returns
  // the generation to wait for.
  std::uint64_t decide_fire(ShardSchedule& schedule, RunTrigger trigger, Millis due,
                            const std::string* payload, const IdempotencyRequest* idempotency,
                            FireOutcome& fired);
  boost::asio::awaitable<void> fire_on_time(Ulid id, Millis due, RunTrigger trigger);
  void write_schedules();
  void remember(const Ulid& id, std::shared_ptr<const Task> task);
  void forget_recent(const Ulid& id);
  void tick();
  void on_timer(WheelTimer& timer);
  void end_waits();  // answers every parked long poll with "nothing"
  TransitionContext context_at(Millis now);

  int index_;
  Db& db_;
  EngineOptions options_;
  LeaseGate& leases_;
  std::unordered_map<std::string, std::int64_t> leases_held_;  // this shard's, by account
  QuotaGate& quota_;
  SpendMeter& spend_;
  // Usage counts by storage key (keys::usage_key) of the hours this shard counted in
  // lately, read from storage when first met; those changed this round.
  std::unordered_map<std::string, UsageCounts> usage_;
  std::unordered_set<std::string> usage_dirty_;
  boost::asio::io_context context_{1};
  GroupCommitter committer_;
  TimerWheel wheel_;
  boost::asio::steady_timer ticker_;
  ReadyQueues ready_;
  std::unordered_map<Ulid, TaskTimer, UlidHash> task_timers_;
  std::unordered_map<Ulid, Dirty, UlidHash> dirty_;
  std::deque<std::pair<std::uint64_t, Ulid>> dirty_order_;
  // Records written recently and durable: a claim usually follows its create, and a
  // complete its claim, within milliseconds, so these spare a RocksDB read. Bounded by
  // bytes (kRecentBytes); evicted oldest first.
  std::unordered_map<Ulid, std::shared_ptr<const Task>, UlidHash> recent_;
  std::deque<Ulid> recent_order_;
  std::size_t recent_bytes_ = 0;
  std::unordered_map<std::string, std::deque<std::shared_ptr<Waiter>>> typed_waiters_;
  std::unordered_map<std::string, std::deque<std::shared_ptr<Waiter>>> any_waiters_;
  std::unordered_set<std::string> idempotency_in_flight_;
  // Who waits for a task of this shard to finish, and the notices held until the write
  // that finished it is durable.
  struct Release {
    std::uint64_t generation = 0;
    std::string dependency;
    bool failed = false;
    std::vector<Ulid> dependents;
    std::int64_t finished_us = 0;
  };
  std::unordered_map<Ulid, std::vector<Ulid>, UlidHash> dependents_;
  std::deque<Release> releases_;
  std::vector<Ulid> restored_links_;
  DependencyNotice on_dependency_done_;
  std::deque<std::pair<std::uint64_t, std::function<void()>>> after_durable_;
  TaskNotice on_verification_needed_, on_verifier_finished_;
  // Tasks with logs written since start or with live subscribers: the sizes of the lines
  // kept (seq log_first_seq on, the unwritten ones too), so an append knows what to drop
  // without reading storage, and who follows the task.
  struct TaskLog {
    std::deque<std::int64_t> sizes;
    bool sizes_known = false;
    std::vector<std::shared_ptr<LogSubscriber>> subscribers;
  };
  std::unordered_map<Ulid, TaskLog, UlidHash> logs_;
  // A queue's tasks by status (those not finished) and its last minute's creates and
  // completions, by queue_key; its stored facts by keys::queue_facts_key, those changed
  // this round.
  struct QueueTally {
    std::array<std::int64_t, kTaskStatusCount> by_status{};
    MinuteCount created, completed;
  };
  std::unordered_map<std::string, QueueTally> queue_tallies_;
  std::unordered_map<std::string, QueueFacts> queue_facts_;
  std::unordered_set<std::string> queue_facts_dirty_;
  // The round each entry was last written in: an entry is dropped from memory only once
  // that write is durable, else a read of storage would miss it.
  std::unordered_map<std::string, std::uint64_t> queue_facts_written_;
  std::unordered_map<std::string, WorkerTypeStats> worker_stats_;  // by storage key
  std::unordered_set<std::string> worker_stats_dirty_;
  std::unordered_map<Ulid, std::unique_ptr<ShardSchedule>, UlidHash> schedules_;
  // Schedules changed this round (written whole before it is sealed, or deleted), and
  // the firings to record with them.
  std::unordered_set<Ulid, UlidHash> schedules_dirty_;
  std::vector<std::pair<Ulid, ScheduleRun>> runs_to_write_;
  const TaskTemplate* make_task_ = nullptr;
  bool hold_op_ = false;  // commit_transition leaves add_op to its caller (decide_fire)
  std::int64_t runs_kept_ = 100;
  Histogram expiry_lag_us_{kDurationBoundsUs};
  std::atomic<std::uint64_t> ready_depth_{0};  // ready_.size() as of the last tick
  int ticks_ = 0;
  UlidGenerator ulids_;
  std::mt19937_64 random_;
  bool stopping_ = false;
};

}  // namespace baton
