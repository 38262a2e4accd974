#pragma once
// The single-node engine: N shards over one RocksDB. Routes each operation to the shard
// that owns its queue or task (one on_shard() hop when that is not the caller's shard),
// runs claims across shards when no type is given, parks long polls, and keeps
// idempotency keys single-flight. Threads: one per shard, started by start().
#include <boost/asio/io_context.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <thread>
#include <vector>

#include "core/ulid.hpp"
#include "engine/engine_options.hpp"
#include "engine/latency_histogram.hpp"
#include "engine/lease_gate.hpp"
#include "engine/quota_gate.hpp"
#include "engine/spend_meter.hpp"
#include "engine/task_engine.hpp"

namespace baton {

class Db;
class Shard;

class LocalEngine final : public TaskEngine {
 public:
  LocalEngine(Db& db, const EngineOptions& options, int shard_count);
  ~LocalEngine() override;

  // Rebuilds queues, delayed tasks and leases from storage. Before start().
  void recover();
  void start();
  // Answers parked long polls with "nothing" and stops the shards' ticks (SIGTERM, step 2).
  void begin_shutdown();
  // Stops every shard's loop and joins its thread (after in-flight requests are done).
  void stop();

  int shard_count() const { return static_cast<int>(shards_.size()); }
  boost::asio::io_context& context(int shard);
  // The shard whose thread is calling, or -1 off the shard threads.
  static int current_shard();

  boost::asio::awaitable<Outcome> create(CreateRequest request,
                                         const IdempotencyRequest* idempotency) override;
  // Each shard creates its items in one turn, all shards in parallel.
  boost::asio::awaitable<BatchOutcome> create_batch(
      std::vector<CreateRequest> requests, const IdempotencyRequest* idempotency) override;
  boost::asio::awaitable<Outcome> claim_next(ClaimRequest request) override;
  // A typed batch claim takes its tasks from the queue's shard in one turn and one write.
  boost::asio::awaitable<BatchOutcome> claim_batch(ClaimRequest request, int max_tasks) override;
  boost::asio::awaitable<Outcome> apply(std::string account, std::string task_id,
                                        Command command,
                                        const IdempotencyRequest* idempotency) override;
  // A typed claim whose queue lives on the task's shard is decided in the same turn as
  // the command, so one write (one fsync) makes both durable.
  boost::asio::awaitable<ChainedOutcome> apply_then_claim(std::string account,
                                                          std::string task_id, Command command,
                                                          const IdempotencyRequest* idempotency,
                                                          ClaimRequest next) override;
  boost::asio::awaitable<Outcome> get(std::string account, std::string task_id) override;
  boost::asio::awaitable<ListPage> list(ListRequest request) override;
  boost::asio::awaitable<std::vector<WorkerSummary>> workers(std::string account,
                                                             Millis seen_since) override;
  boost::asio::awaitable<std::vector<QueueStats>> queues(std::string account) override;
  boost::asio::awaitable<QueueControlOutcome> pause_queue(std::string account, std::string type,
                                                          bool paused) override;
  EngineStats stats() override;
  boost::asio::awaitable<EngineMetrics> metrics(int max_types) override;
  std::int64_t leases_in_use(const std::string& account) override;
  void set_retention(RetentionPolicy policy) override { retention_ = std::move(policy); }
  std::vector<UsageRow> usage(const std::string& account, std::int64_t from_hour,
                              std::int64_t until_hour) override;
  std::int64_t created_this_month(const std::string& account) override;
  std::int64_t spent_this_month(const std::string& account) override;
  boost::asio::awaitable<LogAppendOutcome> append_logs(LogAppendRequest request) override;
  boost::asio::awaitable<LogPage> read_logs(std::string account, std::string task_id,
                                            std::int64_t after, int limit) override;
  boost::asio::awaitable<LogSubscription> subscribe_logs(
      std::string account, std::string task_id,
      std::shared_ptr<LogSubscriber> subscriber) override;
  void unsubscribe_logs(const std::string& task_id,
                        std::shared_ptr<LogSubscriber> subscriber) override;
  SnapshotOutcome snapshot(const std::string& target) override;
  void set_task_template(TaskTemplate make, std::int64_t runs_kept) override;
  boost::asio::awaitable<ScheduleOutcome> create_schedule(Schedule schedule,
                                                          int max_per_account) override;
  boost::asio::awaitable<ScheduleOutcome> update_schedule(std::string account, std::string id,
                                                          SchedulePatch patch) override;
  boost::asio::awaitable<ScheduleOutcome> delete_schedule(std::string account,
                                                          std::string id) override;
  boost::asio::awaitable<ScheduleOutcome> get_schedule(std::string account, std::string id) override;
  boost::asio::awaitable<std::vector<Schedule>> list_schedules(std::string account) override;
  boost::asio::awaitable<FireOutcome> fire_schedule(FireRequest request,
                                                    const IdempotencyRequest* idempotency) override;
  boost::asio::awaitable<RunPage> schedule_runs(std::string account, std::string id,
                                                std::int64_t before, int limit) override;

 private:
  Shard& queue_owner(const std::string& account, const std::string& type);
  // Schedules (local_schedules.cpp): the shard that owns a schedule (its template's
  // queue's), and the index from id to account and type.
  struct ScheduleHome {
    std::string account;
    std::string type;
  };
  Shard& schedule_owner(const Schedule& schedule);
  std::optional<ScheduleHome> schedule_home(const std::string& id);
  void set_schedule_home(const std::string& id, std::optional<ScheduleHome> home);
  void recover_schedules();  // at start, before the shards run
  boost::asio::awaitable<Outcome> claim_once(const ClaimRequest& request);
  boost::asio::awaitable<Outcome> park(const ClaimRequest& request);
  template <typename Operation>
  boost::asio::awaitable<Outcome> single_flight(const IdempotencyRequest* idempotency,
                                                Operation operation);
  // Dependencies (dependencies.cpp). A create with depends_on or parent_task_id: checks
  // that they exist, starts the task blocked on the unfinished ones, and watches them.
  boost::asio::awaitable<Outcome> create_linked(CreateRequest request,
                                                const IdempotencyRequest* idempotency,
                                                Shard& owner);
  // The task with this id of this account, once its state is durable (no children read).
  boost::asio::awaitable<Outcome> find(const std::string& account, const std::string& task_id);
  // Has each dependency's shard watch it for `dependent`, telling it of those finished.
  boost::asio::awaitable<void> watch_dependencies(Ulid dependent,
                                                  std::vector<std::string> waiting_on);
  // Tells `dependent` that `dependency` finished: one DependencyDoneCmd on its shard.
  // With `finished_us` (when the dependency finished), a release it makes durable is
  // counted in release_latency_.
  boost::asio::awaitable<void> tell_dependent(Ulid dependent, std::string dependency,
                                              bool failed, std::int64_t finished_us = 0);
  // Looks again at what every blocked or gated task restore() met waits for (start,
  // storage recovery): the watches of before were in memory only, and a notice may have
  // been lost with them.
  void rewatch_restored();
  // Runs on shard 0 for the engine's life when a retention policy is set: every
  // purge_interval_seconds, each account's terminal tasks past its retention are removed,
  // shard by shard, purge_batch at a time (local_retention.cpp).
  boost::asio::awaitable<void> keep_history_bounded();
  boost::asio::awaitable<void> purge_round();  // one look at every account
  // Runs on shard 0 for the engine's life: while storage is unwritable, tries
  // recover_storage() every kStorageRetry.
  boost::asio::awaitable<void> watch_storage();
  // Once no shard has a write in flight: RocksDB resumes, every shard rebuilds its
  // queues, timers and caches from what RocksDB holds (as at start), and writes are
  // allowed again. False when a step is not possible yet.
  boost::asio::awaitable<bool> recover_storage();
  // Closes and opens RocksDB again with every shard but the calling one (shard 0) parked.
  bool reopen_parked();

  Db& db_;
  EngineOptions options_;
  LeaseGate leases_;  // before the shards, which hold it
  QuotaGate quota_;
  SpendMeter spend_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  // From a dependency's terminal state to its dependent's release being durable.
  LatencyHistogram release_latency_;
  Histogram claim_wait_us_{kDurationBoundsUs};  // long polls, parked -> answered
  RetentionPolicy retention_;
  TaskTemplate make_task_;  // set before start; the shards hold a pointer to it
  std::mutex schedules_mutex_;
  std::unordered_map<std::string, ScheduleHome> schedule_homes_;  // by schedule id
  std::uint64_t reservations_ = 0;  // places held by creates in progress (schedule_homes_)
  std::atomic<std::uint64_t> purged_{0};
};

}  // namespace baton
