// A shard's schedules: those whose template's queue it owns, so that a firing's task, the
// schedule's new state and the firing's record are decided on one thread and written in
// one round. Each enabled schedule is one node on the shard's timer wheel.
#include <boost/asio/co_spawn.hpp>

#include "core/failures.hpp"
#include "core/sha256.hpp"
#include "engine/engine_outcomes.hpp"
#include "engine/routing.hpp"
#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace asio = boost::asio;

namespace baton {

void Shard::arm_schedule(ShardSchedule& schedule) {
  wheel_.cancel(schedule.timer);
  if (schedule.record.next_due <= 0) return;
  schedule.timer.kind = kScheduleTimerKind;
  schedule.timer.owner = &schedule;
  wheel_.schedule(schedule.timer, schedule.record.next_due);
}

void Shard::adopt_schedule(const Ulid& id, const Schedule& record) {
  auto& slot = schedules_[id];
  if (!slot) slot = std::make_unique<ShardSchedule>();
  ShardSchedule& schedule = *slot;
  schedule.id = id;
  schedule.record = record;
  auto clock = clock_of(record);
  if (auto* read = std::get_if<ScheduleClock>(&clock)) {
    schedule.clock = *read;
  } else {
    schedule.record.next_due = 0;  // stored by an older release that read it otherwise
    schedule.clock = ScheduleClock{};
  }
  // A firing that passed while the schedule was not here (the server down, storage
  // failing) is catch_up_schedules()' to decide, by the schedule's missed policy.
  if (schedule.record.next_due > wall_now_ms()) {
    arm_schedule(schedule);
  } else {
    wheel_.cancel(schedule.timer);
  }
}

boost::asio::awaitable<ScheduleOutcome> Shard::put_schedule(Ulid id, Schedule record) {
  ScheduleOutcome outcome;
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  auto clock = clock_of(record);
  if (auto* problem = std::get_if<std::string>(&clock)) {
    outcome.error = ErrorCode::invalid_request;
    outcome.message = *problem;
    co_return outcome;
  }
  auto existing = schedules_.find(id);
  if (existing == schedules_.end() || timing_changed(existing->second->record, record)) {
    record.next_due = next_due_after(std::get<ScheduleClock>(clock), record.enabled, wall_now_ms());
  }
  adopt_schedule(id, record);
  // Here already and due this very moment: it fires at the next tick, not never.
  arm_schedule(*schedules_.at(id));
  schedules_dirty_.insert(id);
  std::uint64_t generation = committer_.add_op();
  StorageStatus written = co_await committer_.wait(generation);
  if (!written.ok()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  outcome.schedule = find_schedule(id);
  co_return outcome;
}

boost::asio::awaitable<ScheduleOutcome> Shard::release_schedule(Ulid id, Schedule record) {
  ScheduleOutcome outcome;
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  if (auto it = schedules_.find(id); it != schedules_.end()) {
    wheel_.cancel(it->second->timer);
    schedules_.erase(it);
  }
  schedules_dirty_.erase(id);
  // Written here (the new owner adopts it once this is durable): a crash in between
  // leaves the new record, which the new owner takes at start.
  store::write_schedule(db_, committer_.batch(), record, id);
  std::uint64_t generation = committer_.add_op();
  StorageStatus written = co_await committer_.wait(generation);
  if (!written.ok()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  outcome.schedule = std::make_shared<const Schedule>(std::move(record));
  co_return outcome;
}

boost::asio::awaitable<ScheduleOutcome> Shard::remove_schedule(Ulid id) {
  ScheduleOutcome outcome;
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  auto it = schedules_.find(id);
  if (it == schedules_.end()) {
    outcome.error = ErrorCode::not_found;
    co_return outcome;
  }
  outcome.schedule = std::make_shared<const Schedule>(it->second->record);
  wheel_.cancel(it->second->timer);
  schedules_.erase(it);
  schedules_dirty_.erase(id);
  std::erase_if(runs_to_write_, [&](const auto& run) { return run.first == id; });
  store::delete_schedule(db_, committer_.batch(), id);
  std::uint64_t generation = committer_.add_op();
  StorageStatus written = co_await committer_.wait(generation);
  if (!written.ok()) outcome.error = ErrorCode::unavailable;
  co_return outcome;
}

boost::asio::awaitable<ScheduleOutcome> Shard::patch_schedule(Ulid id, std::string account,
                                                               SchedulePatch patch,
                                                               int shard_count, bool& moved) {
  moved = false;
  auto it = schedules_.find(id);
  if (it == schedules_.end() || it->second->record.account != account) {
    ScheduleOutcome missing;
    missing.error = ErrorCode::not_found;
    co_return missing;
  }
  Schedule record = it->second->record;
  apply_patch(record, std::move(patch), wall_now_ms());
  if (shard_of_vnode(vnode_of(record.account, record.task_type), shard_count) != index_) {
    moved = true;  // its type's queue is another shard's: that shard takes it
    co_return co_await release_schedule(id, std::move(record));
  }
  co_return co_await put_schedule(id, std::move(record));
}

bool Shard::webhook_matches(const Ulid& id, const std::string& secret_sha256) const {
  auto it = schedules_.find(id);
  if (it == schedules_.end()) return false;
  const std::string& kept = it->second->record.webhook_secret_sha256;
  return !kept.empty() && constant_time_equal(secret_sha256, kept);
}

Ulid Shard::new_schedule_id() {
  std::int64_t micros = wall_now_us();
  return ulids_.next(micros / 1000, 0, static_cast<int>(micros % 1000));
}

std::shared_ptr<const Schedule> Shard::find_schedule(const Ulid& id) const {
  auto it = schedules_.find(id);
  if (it == schedules_.end()) return nullptr;
  return std::make_shared<const Schedule>(it->second->record);
}

std::vector<Schedule> Shard::schedules_of(const std::string& account) const {
  std::vector<Schedule> out;
  for (const auto& [id, schedule] : schedules_) {
    if (schedule->record.account == account) out.push_back(schedule->record);
  }
  return out;
}

void Shard::write_schedules() {
  for (const Ulid& id : schedules_dirty_) {
    auto it = schedules_.find(id);
    if (it != schedules_.end()) store::write_schedule(db_, committer_.batch(), it->second->record, id);
  }
  schedules_dirty_.clear();
  for (const auto& [id, run] : runs_to_write_) {
    store::write_schedule_run(db_, committer_.batch(), id, run, runs_kept_);
  }
  runs_to_write_.clear();
}

std::uint64_t Shard::decide_fire(ShardSchedule& schedule, RunTrigger trigger, Millis due,
                                 const std::string* payload, const IdempotencyRequest* idempotency,
                                 FireOutcome& fired) {
  Millis now = wall_now_ms();
  Schedule& record = schedule.record;
  ScheduleRun& run = fired.run;
  // The schedule's new state first, so that it is in the round its task is in (the
  // create below may seal a full round).
  run = begin_run(record, schedule.clock, trigger, due, now);
  schedules_dirty_.insert(schedule.id);
  std::uint64_t generation = 0;
  std::variant<CreateRequest, ErrorCode> made =
      make_task_ ? (*make_task_)(record, payload, now) : std::variant<CreateRequest, ErrorCode>(ErrorCode::server_error);
  if (auto* error = std::get_if<ErrorCode>(&made)) {
    end_run(record, run, "", *error);
  } else {
    // The task's op is counted below, once the run is queued too: counting it here could
    // seal the round (a full one, or every one in sync: always) without the run.
    hold_op_ = true;
    try {
      decide_create(std::move(std::get<CreateRequest>(made)), idempotency, fired.task);
    } catch (...) {
      hold_op_ = false;
      throw;
    }
    hold_op_ = false;
    bool made_one = fired.task.ok() && fired.task.task;
    end_run(record, run, made_one ? fired.task.task->id : std::string(), fired.task.error);
  }
  runs_to_write_.emplace_back(schedule.id, run);
  generation = committer_.add_op();  // the task (if any), the schedule and its run: one round
  fired.schedule = std::make_shared<const Schedule>(record);
  return generation;
}

boost::asio::awaitable<FireOutcome> Shard::fire_schedule(Ulid id, FireRequest request,
                                                         const IdempotencyRequest* idempotency) {
  FireOutcome fired;
  auto it = schedules_.find(id);
  if (it == schedules_.end() || (!request.account.empty() && it->second->record.account != request.account)) {
    fired.error = ErrorCode::not_found;
    co_return fired;
  }
  ShardSchedule& schedule = *it->second;
  if (request.trigger == RunTrigger::webhook &&
      (schedule.record.webhook_secret_sha256.empty() || !constant_time_equal(request.secret_sha256, schedule.record.webhook_secret_sha256))) {
    fired.error = ErrorCode::not_found;  // as an unknown schedule: nothing to learn
    co_return fired;
  }
  if (request.admit && !request.admit()) {
    fired.error = ErrorCode::rate_limited;
    co_return fired;
  }
  if (!db_.writable()) {
    fired.error = ErrorCode::unavailable;
    co_return fired;
  }
  const std::string* payload = request.payload_json ? &*request.payload_json : nullptr;
  std::uint64_t generation = decide_fire(schedule, request.trigger, wall_now_ms(), payload,
                                         idempotency, fired);
  StorageStatus written = co_await committer_.wait(generation);
  if (!written.ok()) {
    fired.error = ErrorCode::unavailable;
    fired.task = error_outcome(ErrorCode::unavailable);
    fired.task.now = fired.run.fired_at;
  }
  co_return fired;
}

void Shard::on_schedule_timer(WheelTimer& timer) {
  auto* schedule = static_cast<ShardSchedule*>(timer.owner);
  asio::co_spawn(context_, fire_on_time(schedule->id, timer.due_ms, RunTrigger::cron),
                 NoteFailure{"schedule firing"});
}

boost::asio::awaitable<void> Shard::fire_on_time(Ulid id, Millis due, RunTrigger trigger) {
  auto it = schedules_.find(id);
  if (it == schedules_.end() || stopping_) co_return;
  ShardSchedule& schedule = *it->second;
  if (!db_.writable()) {
    // Tried again in a second, until storage takes writes again (a recovery adopts the
    // schedules afresh).
    wheel_.schedule(schedule.timer, wall_now_ms() + 1000);
    co_return;
  }
  FireOutcome fired;
  std::uint64_t generation = 0;
  try {
    generation = decide_fire(schedule, trigger, due, nullptr, nullptr, fired);
  } catch (const std::exception& failure) {
    // Armed again all the same: one firing lost is better than a schedule gone quiet.
    note_failure(Failure::schedule_firing, "schedule firing", failure.what());
  }
  arm_schedule(schedule);
  if (generation != 0) co_await committer_.wait(generation);
}

void Shard::catch_up_schedules() {
  Millis now = wall_now_ms();
  for (auto& [id, slot] : schedules_) {
    ShardSchedule& schedule = *slot;
    if (!schedule.record.enabled || schedule.record.next_due <= 0 || schedule.record.next_due > now) continue;
    if (schedule.record.missed == MissedPolicy::run_once) {
      wheel_.cancel(schedule.timer);
      asio::co_spawn(context_, fire_on_time(id, schedule.record.next_due, RunTrigger::missed),
                     NoteFailure{"schedule firing"});
    } else {
      schedule.record.next_due = next_due_after(schedule.clock, true, now);
      schedules_dirty_.insert(id);
      committer_.add_op();
      arm_schedule(schedule);
    }
  }
}

}  // namespace baton
