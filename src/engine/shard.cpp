#include "engine/shard.hpp"

#include <boost/asio/co_spawn.hpp>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstring>

#include "core/failures.hpp"
#include "store/db.hpp"
#include "store/records.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

namespace {
constexpr std::uint32_t kTaskTimerKind = 1;
constexpr std::uint32_t kWaiterDeadlineKind = 2;
constexpr auto kTickInterval = std::chrono::milliseconds(10);
// Enough for the milliseconds between a task's create, claim and complete; a larger cache
// made every eviction walk cold memory (docs/architecture.md, recent_).
constexpr std::size_t kRecentBytes = 2 << 20;

std::size_t footprint(const Task& task) {
  return 256 + task.payload_json.size() + (task.result_json ? task.result_json->size() : 0);
}
}  // namespace

// A delayed task waiting to become claimable, a live lease or an acceptance gate waiting
// to expire, or a claimable task's assignment to one worker waiting to end.
struct Shard::TaskTimer {
  using Kind = TaskTimerKind;
  Kind kind = Kind::delay;
  WheelTimer timer;
  Ulid id{};
  std::string account;  // delay and assignment: where the task goes when due
  std::string type;
  std::string assign_to;
  Millis assigned_until = 0;
  ReadyEntry entry;
};

std::size_t UlidHash::operator()(const Ulid& id) const {
  std::uint64_t low;
  std::memcpy(&low, id.data() + 8, sizeof low);
  return static_cast<std::size_t>(low ^ (low >> 29));
}

Shard::Shard(int index, Db& db, const EngineOptions& options, LeaseGate& leases,
             QuotaGate& quota, SpendMeter& spend)
    : index_(index),
      db_(db),
      options_(options),
      leases_(leases),
      quota_(quota),
      spend_(spend),
      committer_(context_, db, options.sync, options.group_commit_max_batch),
      wheel_(wall_now_ms()),
      ticker_(context_),
      ulids_(std::random_device{}() ^ (static_cast<std::uint64_t>(index) << 32)),
      random_(std::random_device{}()) {
  committer_.set_on_durable(
      [this](std::uint64_t generation, bool ok) { on_durable(generation, ok); });
  committer_.set_before_seal([this] {
    write_usage();
    write_queue_facts();
    write_schedules();
  });
}

Shard::~Shard() {
  // The wheel links into these nodes; unlink them before the map frees them.
  for (auto& [id, timer] : task_timers_) wheel_.cancel(timer.timer);
  for (auto& [id, schedule] : schedules_) wheel_.cancel(schedule->timer);
}

TransitionContext Shard::context_at(Millis now) {
  TransitionContext ctx;
  ctx.now = now;
  ctx.backoff = {options_.retry_backoff_base_seconds, options_.retry_backoff_max_seconds};
  ctx.jitter = std::uniform_real_distribution<double>(0.5, 1.0)(random_);
  ctx.history_kept = options_.task_history_kept;
  return ctx;
}

void Shard::restore(const keys::ActiveKey& key, const records::ActiveEntry& entry) {
  Task shape;
  shape.account_id = key.account;
  shape.type = entry.type;
  shape.status = entry.status;
  shape.priority = entry.priority;
  shape.scheduled_at = entry.scheduled_at;
  shape.lease_expires_at = entry.lease_expires_at;
  shape.acceptance_deadline = entry.lease_expires_at;  // the entry's deadline, either kind
  shape.assign_to = entry.assign_to;
  shape.assigned_until = entry.assigned_until;
  reindex(nullptr, shape, key.id);
  count_queue_status(key.account, entry.type, entry.status, 1);
  if (entry.status == TaskStatus::claimed) {
    leases_.add(key.account, 1);
    ++leases_held_[key.account];
  }
  if (entry.status == TaskStatus::blocked || entry.status == TaskStatus::awaiting_acceptance) {
    restored_links_.push_back(key.id);
  }
}

void Shard::start() { tick(); }

void Shard::forget_state() {
  end_waits();
  // Sizes of lines a failed write never stored may be in here; streams resume by seq.
  end_log_streams("storage_recovery", true);
  // restore() counts the leases storage holds again.
  for (const auto& [account, held] : leases_held_) leases_.give_back(account, held);
  leases_held_.clear();
  // Counts of failed writes may be in here: read them from storage again when next met.
  usage_.clear();
  usage_dirty_.clear();
  // Likewise the queues' facts; their counts by status are rebuilt by restore().
  queue_facts_.clear();
  queue_facts_dirty_.clear();
  queue_facts_written_.clear();
  queue_tallies_.clear();
  // Schedules too: adopted again from what storage holds.
  for (auto& [id, schedule] : schedules_) wheel_.cancel(schedule->timer);
  schedules_.clear();
  schedules_dirty_.clear();
  runs_to_write_.clear();
  for (auto& [id, timer] : task_timers_) wheel_.cancel(timer.timer);
  task_timers_.clear();
  ready_.clear();
  recent_.clear();
  recent_order_.clear();
  recent_bytes_ = 0;
  dependents_.clear();
  releases_.clear();
  restored_links_.clear();
  after_durable_.clear();
  committer_.clear_failure();
}

void Shard::tick() {
  if (stopping_) return;
  constexpr int kTicksPerStatsWrite = 100;  // once a second
  if (++ticks_ % kTicksPerStatsWrite == 0) {
    write_worker_stats();
    drop_old_usage(wall_now_ms());
    drop_idle_queues(wall_now_ms());
  }
  wheel_.advance(wall_now_ms(), [this](WheelTimer& timer) { on_timer(timer); });
  ready_.release_empty();  // no queue reference is held between handlers
  ready_depth_.store(ready_.size(), std::memory_order_relaxed);
  ticker_.expires_after(kTickInterval);
  ticker_.async_wait([this](boost::system::error_code error) {
    if (!error) tick();
  });
}

void Shard::on_timer(WheelTimer& timer) {
  if (timer.kind == kScheduleTimerKind) {
    on_schedule_timer(timer);
    return;
  }
  if (timer.kind == kWaiterDeadlineKind) {
    auto* waiter = static_cast<Waiter*>(timer.owner);
    if (waiter->try_take()) waiter->result.set(WaitResult::ended(WaitResult::Kind::timed_out));
    return;
  }
  auto* task_timer = static_cast<TaskTimer*>(timer.owner);
  Ulid id = task_timer->id;
  if (task_timer->kind == TaskTimer::Kind::delay) {
    // Due: into its type's queue, or its worker's while it is assigned.
    Task shape;
    shape.account_id = task_timer->account;
    shape.type = task_timer->type;
    shape.assign_to = task_timer->assign_to;
    shape.assigned_until = task_timer->assigned_until;
    ReadyEntry entry = task_timer->entry;
    task_timers_.erase(id);
    make_ready(shape, entry, id);
    return;
  }
  if (task_timer->kind == TaskTimer::Kind::assignment) {
    // The assignment ended: anyone of the type may claim it now.
    ReadyQueues::Queue* pinned =
        ready_.find(task_timer->account, pinned_type(task_timer->type, task_timer->assign_to));
    std::string account = task_timer->account, type = task_timer->type;
    ReadyEntry entry = task_timer->entry;
    task_timers_.erase(id);
    if (pinned && ready_.erase(*pinned, entry)) {
      ReadyQueues::Queue& queue = ready_.queue(account, type);
      ready_.push(queue, entry);
      on_claimable(queue);
    }
    return;
  }
  bool gate = task_timer->kind == TaskTimer::Kind::gate;
  if (!gate) expiry_lag_us_.add(std::max<std::int64_t>(0, wall_now_us() - timer.due_ms * 1000));
  task_timers_.erase(id);
  asio::co_spawn(
      context_,
      [this, id, gate]() -> asio::awaitable<void> {
        // An expiry (of a lease, or of an acceptance gate) that could not be written
        // (storage fault) or was decided early (the wall clock stepped back) must be tried
        // again, or the task stays where it is.
        Millis retry_at = 0;
        try {
          // A Command made first, not converted in the call: g++ 12 destroys such a
          // temporary coroutine argument twice.
          Command expire = ExpireLeaseCmd{};
          if (gate) expire = AcceptanceTimeoutCmd{};
          Outcome outcome = co_await apply(std::string(), id, std::move(expire), nullptr);
          if ((outcome.error == ErrorCode::task_currently_claimed ||
               outcome.error == ErrorCode::not_yet_claimable) &&
              outcome.task) {
            retry_at = gate ? outcome.task->acceptance_deadline : outcome.task->lease_expires_at;
          } else if (outcome.error == ErrorCode::unavailable) {
            retry_at = wall_now_ms() + 1000;
          }
        } catch (const std::exception& failure) {
          note_failure(Failure::expiry_write, "lease expiry", failure.what());
          retry_at = wall_now_ms() + 1000;
        }
        if (retry_at != 0 && !task_timers_.contains(id)) {
          Task shape;
          shape.status = gate ? TaskStatus::awaiting_acceptance : TaskStatus::claimed;
          shape.lease_expires_at = retry_at;
          shape.acceptance_deadline = retry_at;
          reindex(nullptr, shape, id);
        }
      },
      NoteFailure{"lease expiry"});
}

void Shard::make_ready(const Task& task, const ReadyEntry& entry, const Ulid& id) {
  Millis now = wall_now_ms();
  if (!task.assigned_at(now)) {
    ReadyQueues::Queue& queue = ready_.queue(task.account_id, task.type);
    ready_.push(queue, entry);
    on_claimable(queue);
    return;
  }
  ReadyQueues::Queue& pinned = ready_.queue(task.account_id, pinned_type(task.type, task.assign_to));
  ready_.push(pinned, entry);
  if (task.assigned_until > 0) {
    arm_task_timer(id, TaskTimer::Kind::assignment, task.assigned_until, &task, entry);
  }
  on_claimable(pinned);
}

void Shard::arm_task_timer(const Ulid& id, TaskTimerKind kind, Millis due, const Task* task,
                           const ReadyEntry& entry) {
  TaskTimer& timer = task_timers_[id];
  timer.kind = kind;
  timer.id = id;
  if (task) {  // delay and assignment: where the task goes when the timer fires
    timer.account = task->account_id;
    timer.type = task->type;
    timer.assign_to = task->assign_to;
    timer.assigned_until = task->assigned_until;
    timer.entry = entry;
  }
  timer.timer.kind = kTaskTimerKind;
  timer.timer.owner = &timer;
  wheel_.schedule(timer.timer, due);
}

void Shard::reindex(const Task* before, const Task& after, const Ulid& id, bool dequeued) {
  if (before && before->status == TaskStatus::pending && !dequeued) {
    // In its type's queue, or in its worker's when it was assigned (whichever holds it).
    ReadyEntry entry = make_ready_entry(before->priority, before->scheduled_at, id);
    ReadyQueues::Queue* queue = ready_.find(before->account_id, before->type);
    if ((!queue || !ready_.erase(*queue, entry)) && !before->assign_to.empty()) {
      if (auto* pinned = ready_.find(before->account_id,
                                     pinned_type(before->type, before->assign_to))) {
        ready_.erase(*pinned, entry);
      }
    }
  }
  auto timer_it = task_timers_.find(id);
  if (timer_it != task_timers_.end()) {
    if (after.status == TaskStatus::claimed && timer_it->second.kind == TaskTimer::Kind::lease) {
      // A heartbeat: move the lease's node on the wheel; nothing is freed or allocated.
      wheel_.schedule(timer_it->second.timer, after.lease_expires_at);
      return;
    }
    wheel_.cancel(timer_it->second.timer);
    task_timers_.erase(timer_it);
  }
  if (after.status == TaskStatus::pending) {
    ReadyEntry entry = make_ready_entry(after.priority, after.scheduled_at, id);
    if (after.scheduled_at <= wall_now_ms()) {
      make_ready(after, entry, id);
    } else {
      arm_task_timer(id, TaskTimer::Kind::delay, after.scheduled_at, &after, entry);
    }
  } else if (after.status == TaskStatus::claimed) {
    arm_task_timer(id, TaskTimer::Kind::lease, after.lease_expires_at);
  } else if (after.status == TaskStatus::awaiting_acceptance && after.acceptance_deadline > 0) {
    arm_task_timer(id, TaskTimer::Kind::gate, after.acceptance_deadline);
  }
}

std::shared_ptr<const Task> Shard::load(const Ulid& id) {
  if (auto it = dirty_.find(id); it != dirty_.end()) return it->second.task;
  if (auto it = recent_.find(id); it != recent_.end()) return it->second;
  auto bytes = db_.get(Cf::tasks, keys::task_key(id));
  if (!bytes) return nullptr;
  return share(records::decode_task(*bytes));
}

std::uint64_t Shard::commit_transition(const Task* before, std::shared_ptr<const Task> shared,
                                       const Ulid& id, const IdempotencyRequest* idempotency,
                                       Millis now, Outcome& outcome, bool dequeued) {
  const Task& after = *shared;
  std::shared_ptr<const Task> shared_after = shared;
  // First: they may read storage (and throw) before anything else is changed, and their
  // rows must be dirty before add_op, which may seal the round (and write the dirty rows).
  // The queue's facts are read before either counts anything.
  if ((before && before->status == TaskStatus::dead_letter) != (after.status == TaskStatus::dead_letter)) {
    queue_facts(after.account_id, after.type);
  }
  count_usage(before, after, now);
  count_queue(before, after, now);
  // Encoded and added to the batch on the commit thread (GroupCommitter::add_transition).
  committer_.add_transition(store::plan_transition(before, shared, id));
  if (idempotency) {
    outcome.status = idempotency->success_status;
    outcome.body = idempotency->render(after, now);
    store::write_response(
        db_, committer_.batch(), idempotency->scope_key,
        records::StoredResponse{idempotency->request_hash, outcome.status, outcome.body,
                                now + static_cast<Millis>(idempotency->ttl_seconds) * 1000});
  }
  // Until its write is durable, the newest state of the task lives here, not in RocksDB.
  std::uint64_t generation = committer_.filling_generation();
  dirty_[id] = Dirty{std::move(shared), generation};
  dirty_order_.emplace_back(generation, id);
  // Held by a firing that has more to add to this round once it knows the task (its run).
  if (!hold_op_) committer_.add_op();
  // A claim took its lease slot before it committed (claim_from, decide). Given back
  // before reindex, which may hand the task to a parked claim of the same account at once.
  if (before && before->status == TaskStatus::claimed && after.status != TaskStatus::claimed) {
    end_lease(after.account_id);
  }
  reindex(before, after, id, dequeued);
  count_worker(before, after, now);
  if (!logs_.empty()) note_log_transition(before, after, id, generation);
  bool finished = is_terminal(after.status) && (!before || !is_terminal(before->status));
  if (finished) note_finished(id, after, generation);
  note_verification(before, after, shared_after, generation, finished);
  return generation;
}

void Shard::on_durable(std::uint64_t generation, bool ok) {
  deliver_releases(generation, ok);
  while (!dirty_order_.empty() && dirty_order_.front().first <= generation) {
    auto [written, id] = dirty_order_.front();
    dirty_order_.pop_front();
    auto it = dirty_.find(id);
    if (it == dirty_.end() || it->second.generation != written) continue;
    if (ok && it->second.task) remember(id, std::move(it->second.task));  // null: purged
    dirty_.erase(it);
  }
}

void Shard::forget_recent(const Ulid& id) {
  auto it = recent_.find(id);
  if (it == recent_.end()) return;
  recent_bytes_ -= footprint(*it->second);
  recent_.erase(it);  // its place in recent_order_ is skipped when reached
}

void Shard::remember(const Ulid& id, std::shared_ptr<const Task> task) {
  std::size_t size = footprint(*task);
  auto [it, inserted] = recent_.try_emplace(id);
  if (!inserted) recent_bytes_ -= footprint(*it->second);
  it->second = std::move(task);
  recent_bytes_ += size;
  if (inserted) recent_order_.push_back(id);
  while (recent_bytes_ > kRecentBytes && !recent_order_.empty()) {
    auto old = recent_.find(recent_order_.front());
    recent_order_.pop_front();
    if (old == recent_.end()) continue;
    recent_bytes_ -= footprint(*old->second);
    recent_.erase(old);
  }
}

}  // namespace baton
