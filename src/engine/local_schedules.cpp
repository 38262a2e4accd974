// The engine's schedules: routing each to the shard that owns its template's queue (where
// it fires), an index from id to account and type (a webhook names only the id), and the
// account's bound on how many it may have.
#include <boost/asio/post.hpp>

#include <algorithm>

#include "engine/cross_shard.hpp"
#include "engine/engine_outcomes.hpp"
#include "engine/local_engine.hpp"
#include "engine/schedule_rules.hpp"
#include "engine/shard.hpp"
#include "engine/single_flight.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace asio = boost::asio;

namespace baton {

Shard& LocalEngine::schedule_owner(const Schedule& schedule) {
  return queue_owner(schedule.account, schedule.task_type);
}

std::optional<LocalEngine::ScheduleHome> LocalEngine::schedule_home(const std::string& id) {
  std::lock_guard lock(schedules_mutex_);
  auto it = schedule_homes_.find(id);
  if (it == schedule_homes_.end()) return std::nullopt;
  return it->second;
}

void LocalEngine::set_schedule_home(const std::string& id, std::optional<ScheduleHome> home) {
  std::lock_guard lock(schedules_mutex_);
  if (home) {
    schedule_homes_[id] = std::move(*home);
  } else {
    schedule_homes_.erase(id);
  }
}

void LocalEngine::set_task_template(TaskTemplate make, std::int64_t runs_kept) {
  make_task_ = std::move(make);
  for (auto& shard : shards_) shard->set_task_template(&make_task_, runs_kept);
}

void LocalEngine::recover_schedules() {
  store::scan_schedules(db_, [&](const Ulid& id, const Schedule& schedule) {
    schedule_owner(schedule).adopt_schedule(id, schedule);
    set_schedule_home(schedule.id, ScheduleHome{schedule.account, schedule.task_type});
  });
}

asio::awaitable<ScheduleOutcome> LocalEngine::create_schedule(Schedule schedule, int max_per_account) {
  // A place is held under the lock while the schedule is made, so creates racing each
  // other never pass the bound together.
  std::string reservation;
  {
    std::lock_guard lock(schedules_mutex_);
    auto count = std::count_if(schedule_homes_.begin(), schedule_homes_.end(),
                               [&](const auto& home) { return home.second.account == schedule.account; });
    if (count >= max_per_account) {
      co_return schedule_error(ErrorCode::invalid_request,
                               "this account has " + std::to_string(count) +
                                   " schedules, the most schedules.max_per_account allows; "
                                   "delete one first");
    }
    reservation = "reserved:" + std::to_string(++reservations_);
    schedule_homes_[reservation] = ScheduleHome{schedule.account, {}};
  }
  Shard& owner = schedule_owner(schedule);
  ScheduleOutcome outcome = co_await on_shard(owner.context(), [&]() -> asio::awaitable<ScheduleOutcome> {
    Ulid id = owner.new_schedule_id();
    schedule.id = std::string(kScheduleIdPrefix) + encode_ulid(id);
    schedule.created_at = schedule.updated_at = wall_now_ms();
    schedule.runs = 0;
    schedule.last_fired_at = 0;
    schedule.last_task_id.clear();
    schedule.next_due = 0;
    return owner.put_schedule(id, schedule);
  });
  set_schedule_home(reservation, std::nullopt);
  if (outcome.ok()) set_schedule_home(outcome.schedule->id, ScheduleHome{schedule.account, schedule.task_type});
  co_return outcome;
}

asio::awaitable<ScheduleOutcome> LocalEngine::update_schedule(std::string account, std::string id,
                                                              SchedulePatch patch) {
  auto ulid = parse_schedule_id(id);
  auto home = schedule_home(id);
  if (!ulid || !home || home->account != account) co_return schedule_error(ErrorCode::not_found);
  Shard& owner = queue_owner(home->account, home->type);
  bool moved = false;
  int count = shard_count();
  ScheduleOutcome outcome = co_await on_shard(owner.context(), [&]() -> asio::awaitable<ScheduleOutcome> {
    return owner.patch_schedule(*ulid, account, std::move(patch), count, moved);
  });
  if (!outcome.ok()) co_return outcome;
  if (moved) {
    // Its new home from here: what storage holds now, and what a recovery adopts.
    set_schedule_home(id, ScheduleHome{outcome.schedule->account, outcome.schedule->task_type});
    Schedule record = *outcome.schedule;
    Shard& taker = schedule_owner(record);
    outcome = co_await on_shard(taker.context(), [&]() -> asio::awaitable<ScheduleOutcome> {
      return taker.put_schedule(*ulid, record);
    });
  }
  if (outcome.ok()) set_schedule_home(id, ScheduleHome{outcome.schedule->account, outcome.schedule->task_type});
  co_return outcome;
}

asio::awaitable<ScheduleOutcome> LocalEngine::delete_schedule(std::string account, std::string id) {
  auto ulid = parse_schedule_id(id);
  auto home = schedule_home(id);
  if (!ulid || !home || home->account != account) co_return schedule_error(ErrorCode::not_found);
  Shard& owner = queue_owner(home->account, home->type);
  ScheduleOutcome outcome = co_await on_shard(owner.context(), [&]() -> asio::awaitable<ScheduleOutcome> {
    return owner.remove_schedule(*ulid);
  });
  if (outcome.ok()) set_schedule_home(id, std::nullopt);
  co_return outcome;
}

asio::awaitable<ScheduleOutcome> LocalEngine::get_schedule(std::string account, std::string id) {
  auto ulid = parse_schedule_id(id);
  auto home = schedule_home(id);
  if (!ulid || !home || home->account != account) co_return schedule_error(ErrorCode::not_found);
  Shard& owner = queue_owner(home->account, home->type);
  ScheduleOutcome outcome;
  outcome.schedule = co_await on_shard(owner.context(), [&]() -> asio::awaitable<std::shared_ptr<const Schedule>> {
    co_return owner.find_schedule(*ulid);
  });
  if (!outcome.schedule) outcome.error = ErrorCode::not_found;
  co_return outcome;
}

asio::awaitable<std::vector<Schedule>> LocalEngine::list_schedules(std::string account) {
  std::vector<Schedule> all;
  for (auto& shard : shards_) {
    Shard& owner = *shard;
    std::vector<Schedule> part = co_await on_shard(owner.context(), [&]() -> asio::awaitable<std::vector<Schedule>> {
      co_return owner.schedules_of(account);
    });
    for (Schedule& schedule : part) all.push_back(std::move(schedule));
  }
  // Ids are time-ordered: oldest first.
  std::sort(all.begin(), all.end(), [](const Schedule& a, const Schedule& b) { return a.id < b.id; });
  co_return all;
}

asio::awaitable<FireOutcome> LocalEngine::fire_schedule(FireRequest request,
                                                        const IdempotencyRequest* asked) {
  FireOutcome fired;
  auto ulid = parse_schedule_id(request.schedule_id);
  auto home = schedule_home(request.schedule_id);
  if (!ulid || !home || (!request.account.empty() && home->account != request.account)) {
    fired.error = ErrorCode::not_found;
    co_return fired;
  }
  Shard& owner = queue_owner(home->account, home->type);
  if (request.trigger == RunTrigger::webhook) {
    // The secret first, before a stored answer of an idempotent retry is replayed: only
    // the webhook's own URL may see it.
    bool matches = co_await on_shard(owner.context(), [&]() -> asio::awaitable<bool> {
      co_return owner.webhook_matches(*ulid, request.secret_sha256);
    });
    if (!matches) {
      fired.error = ErrorCode::not_found;
      co_return fired;
    }
  }
  std::optional<IdempotencyRequest> scope = scoped(home->account, asked);
  const IdempotencyRequest* idempotency = scope ? &*scope : nullptr;
  bool ran = false;
  Outcome task = co_await single_flight(idempotency, [&]() -> asio::awaitable<Outcome> {
    ran = true;
    fired = co_await on_shard(owner.context(), [&]() -> asio::awaitable<FireOutcome> {
      return owner.fire_schedule(*ulid, request, idempotency);
    });
    co_return fired.task;
  });
  if (!ran) fired.task = std::move(task);  // a replay (or a conflict) of an idempotent one
  fired.task.affinity = owner.index();
  co_return fired;
}

asio::awaitable<RunPage> LocalEngine::schedule_runs(std::string account, std::string id,
                                                    std::int64_t before, int limit) {
  RunPage page;
  auto ulid = parse_schedule_id(id);
  auto home = schedule_home(id);
  if (!ulid || !home || home->account != account) {
    page.error = ErrorCode::not_found;
    co_return page;
  }
  page.runs = store::read_schedule_runs(db_, *ulid, before, limit);
  co_await add_run_tasks(*this, account, page);
  co_return page;
}

}  // namespace baton
