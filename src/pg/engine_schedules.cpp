// PgEngine's schedules (docs/operations.md "Schedules"): rows of baton_schedules, fired
// by whichever node locks a due one first. A firing is one transaction: the schedule's row
// locked, its task written as create() writes one (key, quota, links), the schedule's new
// state and the firing's run; so it happens once, across nodes and across kill -9.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <limits>

#include "core/failures.hpp"
#include "core/sha256.hpp"
#include "engine/schedule_rules.hpp"
#include "pg/engine_thread.hpp"
#include "store/records.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

// Each node looks for due schedules at the earliest due time it read, and at least this
// often: a schedule made or changed on another node is seen within this.
constexpr Millis kSchedulePollMs = 1000;
// A due schedule another transaction holds (a firing, a trigger, a change) is looked at
// again after this, not at once.
constexpr Millis kHeldPollMs = 50;
// A firing this late is missed (the schedule's missed policy decides): every node that
// is up looks at least every kSchedulePollMs, so no node ran when it was due.
constexpr Millis kMissedAfterMs = 2 * kSchedulePollMs;
// Due schedules fired per look, before the next due time is read again.
constexpr int kFiringsPerLook = 64;

Schedule schedule_of(const Result& result, int row) {
  std::optional<Schedule> schedule = records::decode_schedule(result.bytes(row, 0));
  if (!schedule) throw StorageError("postgres: a row of baton_schedules does not decode");
  return std::move(*schedule);
}

// The parameters of save_schedule, and of insert_schedule with the account after them.
Params schedule_params(const Schedule& schedule) {
  return Params().text(schedule.id).integer(schedule.next_due).bytes(records::encode_schedule(schedule));
}

// Whether the request may see the schedule: its account's, or its webhook's secret.
bool opens(const FireRequest& request, const Schedule& schedule) {
  if (!request.account.empty() && schedule.account != request.account) return false;
  return request.trigger != RunTrigger::webhook ||
         (!schedule.webhook_secret_sha256.empty() &&
          constant_time_equal(request.secret_sha256, schedule.webhook_secret_sha256));
}

}  // namespace

void PgEngine::set_task_template(TaskTemplate make, std::int64_t runs_kept) {
  task_template_ = std::move(make);
  runs_kept_ = runs_kept;
}

void PgEngine::schedules_changed() {
  asio::post(threads_.front()->io, [this] {
    schedules_moved_ = true;
    if (schedule_timer_) schedule_timer_->cancel();
  });
}

asio::awaitable<ScheduleOutcome> PgEngine::create_schedule(Schedule schedule, int max_per_account) {
  Thread& thread = here();
  Millis now = wall_now_ms();
  auto clock = clock_of(schedule);
  if (auto* problem = std::get_if<std::string>(&clock)) {
    co_return schedule_error(ErrorCode::invalid_request, *problem);
  }
  std::int64_t micros = wall_now_us();
  schedule.id = std::string(kScheduleIdPrefix) +
                encode_ulid(thread.ulids.next(now, 0, static_cast<int>(micros % 1000)));
  schedule.created_at = schedule.updated_at = now;
  schedule.runs = 0;
  schedule.last_fired_at = 0;
  schedule.last_task_id.clear();
  schedule.next_due = next_due_after(std::get<ScheduleClock>(clock), schedule.enabled, now);
  Lease connection = co_await thread.pool->acquire();
  // Counted under the account's lock: creates racing each other never pass the bound
  // together, on any node.
  Params account = Params().text(schedule.account);
  std::vector<Step> opening{Step{"BEGIN"}, Step{"lock_account", &account},
                            Step{"count_schedules", &account}};
  std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
  // No row, no lock: the count would race. Every key's account has its row.
  if (opened[1].rows() != 1) throw StorageError("postgres: account " + schedule.account + " has no row to lock");
  if (std::int64_t count = opened[2].integer(0, 0); count >= max_per_account) {
    require(co_await connection->exec("ROLLBACK"));
    co_return schedule_error(ErrorCode::invalid_request,
                             "this account has " + std::to_string(count) +
                                 " schedules, the most schedules.max_per_account allows; "
                                 "delete one first");
  }
  Params row = schedule_params(schedule).text(schedule.account);
  std::vector<Step> writing{Step{"insert_schedule", &row}, Step{"COMMIT"}};
  require(co_await connection->pipeline(std::move(writing)));
  schedules_changed();
  ScheduleOutcome outcome;
  outcome.schedule = std::make_shared<const Schedule>(std::move(schedule));
  co_return outcome;
}

asio::awaitable<ScheduleOutcome> PgEngine::update_schedule(std::string account, std::string id,
                                                           SchedulePatch patch) {
  if (!parse_schedule_id(id)) co_return schedule_error(ErrorCode::not_found);
  Thread& thread = here();
  Lease connection = co_await thread.pool->acquire();
  Params key = Params().text(id);
  std::vector<Step> opening{Step{"BEGIN"}, Step{"lock_schedule", &key}};
  std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
  std::optional<Schedule> before;
  if (opened[1].rows() > 0) before = schedule_of(opened[1], 0);
  if (!before || before->account != account) {
    require(co_await connection->exec("ROLLBACK"));
    co_return schedule_error(ErrorCode::not_found);
  }
  Millis now = wall_now_ms();
  Schedule record = *before;
  apply_patch(record, std::move(patch), now);
  auto clock = clock_of(record);
  if (auto* problem = std::get_if<std::string>(&clock)) {
    require(co_await connection->exec("ROLLBACK"));
    co_return schedule_error(ErrorCode::invalid_request, *problem);
  }
  if (timing_changed(*before, record)) {
    record.next_due = next_due_after(std::get<ScheduleClock>(clock), record.enabled, now);
  }
  // A new type moves nothing here: every node fires every schedule.
  Params row = schedule_params(record);
  std::vector<Step> writing{Step{"save_schedule", &row}, Step{"COMMIT"}};
  require(co_await connection->pipeline(std::move(writing)));
  schedules_changed();
  ScheduleOutcome outcome;
  outcome.schedule = std::make_shared<const Schedule>(std::move(record));
  co_return outcome;
}

asio::awaitable<ScheduleOutcome> PgEngine::delete_schedule(std::string account, std::string id) {
  if (!parse_schedule_id(id)) co_return schedule_error(ErrorCode::not_found);
  Thread& thread = here();
  Lease connection = co_await thread.pool->acquire();
  // Locked first, so that the runs deleted after include those of a firing that held it.
  Params key = Params().text(id);
  Params owned = Params().text(id).text(account);
  std::vector<Step> steps{Step{"BEGIN"}, Step{"lock_schedule", &key}, Step{"delete_schedule", &owned},
                          Step{"COMMIT"}};
  std::vector<Result> done = require(co_await connection->pipeline(std::move(steps)));
  if (done[2].rows() == 0) co_return schedule_error(ErrorCode::not_found);
  ScheduleOutcome outcome;
  outcome.schedule = std::make_shared<const Schedule>(schedule_of(done[2], 0));
  co_return outcome;
}

asio::awaitable<ScheduleOutcome> PgEngine::get_schedule(std::string account, std::string id) {
  if (!parse_schedule_id(id)) co_return schedule_error(ErrorCode::not_found);
  Thread& thread = here();
  Lease connection = co_await thread.pool->acquire();
  Result found = require(co_await connection->run("read_schedule", Params().text(id)));
  if (found.rows() == 0) co_return schedule_error(ErrorCode::not_found);
  Schedule schedule = schedule_of(found, 0);
  if (schedule.account != account) co_return schedule_error(ErrorCode::not_found);
  ScheduleOutcome outcome;
  outcome.schedule = std::make_shared<const Schedule>(std::move(schedule));
  co_return outcome;
}

asio::awaitable<std::vector<Schedule>> PgEngine::list_schedules(std::string account) {
  Thread& thread = here();
  Lease connection = co_await thread.pool->acquire();
  Result rows = require(co_await connection->run("list_schedules", Params().text(account)));
  std::vector<Schedule> schedules;
  for (int row = 0; row < rows.rows(); ++row) schedules.push_back(schedule_of(rows, row));
  co_return schedules;
}

asio::awaitable<FireOutcome> PgEngine::fire_schedule(FireRequest request,
                                                     const IdempotencyRequest* idempotency) {
  FireOutcome fired;
  fired.error = ErrorCode::not_found;
  if (!parse_schedule_id(request.schedule_id)) co_return fired;
  Thread& thread = here();
  Lease connection = co_await thread.pool->acquire();
  // Read first, for its account (a webhook names only the id) and its secret, which is
  // checked before a stored answer of an idempotent retry is given: only the webhook's
  // own URL may see it.
  Params id = Params().text(request.schedule_id);
  Result found = require(co_await connection->run("read_schedule", id));
  if (found.rows() == 0) co_return fired;
  const Schedule seen = schedule_of(found, 0);
  if (!opens(request, seen)) co_return fired;
  const std::string& account = seen.account;
  Millis now = wall_now_ms();
  std::string scope;
  Params key;
  std::vector<Step> opening{Step{"BEGIN"}};
  if (idempotency) {
    scope = scope_of(account, *idempotency);
    key = key_params(scope, *idempotency, now);
    opening.push_back(Step{"try_idempotency", &key});
  }
  opening.push_back(Step{"lock_schedule", &id});
  std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
  if (idempotency && opened[1].rows() == 0) {
    // Answered before: that answer, and no firing.
    require(co_await connection->exec("ROLLBACK"));
    fired.error = ErrorCode::none;
    fired.task = co_await replay(*connection, scope, idempotency->request_hash, now);
    co_return fired;
  }
  std::optional<Schedule> record;
  if (opened.back().rows() > 0) record = schedule_of(opened.back(), 0);
  if (!record || !opens(request, *record)) {
    require(co_await connection->exec("ROLLBACK"));
    co_return fired;
  }
  if (request.admit && !request.admit()) {
    require(co_await connection->exec("ROLLBACK"));
    fired.error = ErrorCode::rate_limited;
    co_return fired;
  }
  fired.error = ErrorCode::none;
  const std::string* payload = request.payload_json ? &*request.payload_json : nullptr;
  co_await fire_locked(*connection, thread, *record, request.trigger, now, payload, idempotency, scope,
                       fired);
  co_return fired;
}

asio::awaitable<void> PgEngine::fire_locked(Connection& connection, Thread& thread, Schedule& record,
                                            RunTrigger trigger, Millis due, const std::string* payload,
                                            const IdempotencyRequest* idempotency,
                                            const std::string& scope, FireOutcome& fired) {
  Millis now = wall_now_ms();
  auto clock = clock_of(record);
  // An expression that no longer reads (stored by another release) fires no more by itself.
  ScheduleClock timing = std::holds_alternative<ScheduleClock>(clock) ? std::get<ScheduleClock>(clock)
                                                                      : ScheduleClock{};
  fired.run = begin_run(record, timing, trigger, due, now);
  fired.task.now = now;
  CreateClosing closing = [&](const Task* task, ErrorCode refused, std::vector<Step>& steps,
                              std::deque<Params>& params) {
    end_run(record, fired.run, task ? task->id : std::string(), refused);
    if (idempotency && task) {
      fired.task.status = idempotency->success_status;
      fired.task.body = idempotency->render(*task, now);
      Params& stored = params.emplace_back(Params().text(scope).integer(fired.task.status).bytes(fired.task.body));
      steps.push_back(Step{"store_idempotency", &stored});
    } else if (idempotency) {
      steps.push_back(Step{"release_idempotency", &params.emplace_back(Params().text(scope))});
    }
    steps.push_back(Step{"save_schedule", &params.emplace_back(schedule_params(record))});
    Params& run = params.emplace_back(
        Params().text(record.id).integer(fired.run.seq).bytes(records::encode_schedule_run(fired.run)));
    steps.push_back(Step{"insert_run", &run});
    if (runs_kept_ > 0) {
      Params& trim = params.emplace_back(Params().text(record.id).integer(fired.run.seq - runs_kept_));
      steps.push_back(Step{"trim_runs", &trim});
    }
    steps.push_back(Step{"COMMIT"});
  };
  std::variant<CreateRequest, ErrorCode> made =
      task_template_ ? task_template_(record, payload, now) : std::variant<CreateRequest, ErrorCode>(ErrorCode::server_error);
  if (auto* error = std::get_if<ErrorCode>(&made)) {
    std::vector<Step> steps;
    std::deque<Params> params;
    closing(nullptr, *error, steps, params);
    require(co_await commit(connection, std::move(steps), 0));
  } else {
    CreateRequest& request = std::get<CreateRequest>(made);
    if (request.assign_best) {
      std::vector<CreateRequest*> assigning{&request};
      co_await assign_best(connection, std::move(assigning), now);
    }
    std::vector<Step> opening;  // the transaction is open: the schedule is locked in it
    std::optional<std::size_t> no_key;  // a firing's key, if any, is taken already
    CreateWrite written = co_await write_create(connection, thread, request, now, std::move(opening),
                                                no_key, closing);
    if (written.refused != ErrorCode::none) {
      fired.task.error = written.refused;
    } else {
      if (written.task->status == TaskStatus::pending) wake(written.task->account_id, written.task->type);
      fired.task.task = share(std::move(*written.task));
    }
  }
  fired.schedule = std::make_shared<const Schedule>(record);
}

asio::awaitable<void> PgEngine::fire_on_time(Connection& connection, Thread& thread, Schedule& record,
                                             Millis now) {
  auto clock = clock_of(record);
  const std::string no_scope;  // no idempotency key: a named local, not a temporary in co_await
  if (!std::holds_alternative<ScheduleClock>(clock)) {
    // Stored by a release that read its expression otherwise: it no longer fires by itself.
    record.next_due = 0;
  } else if (record.next_due + kMissedAfterMs <= now) {
    // Missed (no node ran while it was due): skipped, or fired once for all it missed.
    if (record.missed == MissedPolicy::run_once) {
      FireOutcome fired;
      co_await fire_locked(connection, thread, record, RunTrigger::missed, record.next_due, nullptr,
                           nullptr, no_scope, fired);
      co_return;
    }
    record.next_due = next_due_after(std::get<ScheduleClock>(clock), record.enabled, now);
  } else {
    FireOutcome fired;
    co_await fire_locked(connection, thread, record, RunTrigger::cron, record.next_due, nullptr,
                         nullptr, no_scope, fired);
    co_return;
  }
  Params row = schedule_params(record);
  std::vector<Step> steps{Step{"save_schedule", &row}, Step{"COMMIT"}};
  require(co_await connection.pipeline(std::move(steps)));
}

asio::awaitable<void> PgEngine::skip_firing(Connection& connection, const std::string& id) {
  Params key = Params().text(id);
  std::vector<Step> opening{Step{"BEGIN"}, Step{"lock_schedule", &key}};
  std::vector<Result> opened = require(co_await connection.pipeline(std::move(opening)));
  if (opened[1].rows() == 0) {
    require(co_await connection.exec("ROLLBACK"));
    co_return;
  }
  Schedule record = schedule_of(opened[1], 0);
  auto clock = clock_of(record);
  record.next_due = std::holds_alternative<ScheduleClock>(clock)
                        ? next_due_after(std::get<ScheduleClock>(clock), record.enabled, wall_now_ms())
                        : 0;
  Params row = schedule_params(record);
  std::vector<Step> steps{Step{"save_schedule", &row}, Step{"COMMIT"}};
  require(co_await connection.pipeline(std::move(steps)));
}

asio::awaitable<Millis> PgEngine::fire_due(Thread& thread) {
  Lease connection = co_await thread.pool->acquire();
  int firings = 0;
  for (; firings < kFiringsPerLook && !shutting_down_; ++firings) {
    Millis now = wall_now_ms();
    Params at = Params().integer(now);
    std::vector<Step> opening{Step{"BEGIN"}, Step{"due_schedule", &at}};
    std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
    if (opened[1].rows() == 0) {
      require(co_await connection->exec("ROLLBACK"));
      break;
    }
    const std::string id = opened[1].text(0, 0);
    std::optional<Schedule> record = records::decode_schedule(opened[1].bytes(0, 1));
    if (!record) {
      // Not Baton's: it stops firing (and holds up no other schedule) until changed.
      note_failure(Failure::schedule_firing, "schedule firing", "the record of " + id + " does not decode");
      Params stopped = Params().text(id);
      std::vector<Step> steps{Step{"stop_schedule", &stopped}, Step{"COMMIT"}};
      require(co_await connection->pipeline(std::move(steps)));
      continue;
    }
    bool failed = false;
    try {
      co_await fire_on_time(*connection, thread, *record, now);
    } catch (const std::exception& failure) {
      if (connection->broken()) throw;
      note_failure(Failure::schedule_firing, "schedule firing", failure.what());
      failed = true;
    }
    if (failed) {
      // One firing lost rather than a schedule gone quiet: it moves on to its next slot.
      require(co_await connection->exec("ROLLBACK"));
      co_await skip_firing(*connection, id);
    }
  }
  Result next = require(co_await connection->run("next_due", Params()));
  Millis due = next.is_null(0, 0) ? 0 : next.integer(0, 0);
  // Due and not taken: another transaction holds it, which takes a few round trips.
  if (firings == 0 && due > 0 && due <= wall_now_ms()) due = wall_now_ms() + kHeldPollMs;
  co_return due;
}

asio::awaitable<void> PgEngine::run_schedules() {
  Thread& thread = *threads_.front();
  asio::steady_timer timer(thread.io);
  schedule_timer_ = &timer;
  while (!shutting_down_) {
    schedules_moved_ = false;
    Millis wait = kSchedulePollMs;
    try {
      Millis next = co_await fire_due(thread);
      if (next > 0) wait = std::clamp<Millis>(next - wall_now_ms(), 0, kSchedulePollMs);
    } catch (const std::exception& failure) {
      note_failure(Failure::schedule_firing, "postgres schedules", failure.what());
    }
    // A schedule made or changed meanwhile may be due before what was read.
    if (!schedules_moved_ && wait > 0) co_await wait_for(timer, std::chrono::milliseconds(wait));
  }
  schedule_timer_ = nullptr;
}

asio::awaitable<RunPage> PgEngine::schedule_runs(std::string account, std::string id,
                                                 std::int64_t before, int limit) {
  RunPage page;
  page.error = ErrorCode::not_found;
  if (!parse_schedule_id(id)) co_return page;
  Thread& thread = here();
  {
    Lease connection = co_await thread.pool->acquire();
    Params key = Params().text(id);
    Result found = require(co_await connection->run("read_schedule", key));
    if (found.rows() == 0 || schedule_of(found, 0).account != account) co_return page;
    std::int64_t below = before > 0 ? before : std::numeric_limits<std::int64_t>::max();
    Result runs = require(co_await connection->run("read_runs", Params().text(id).integer(below).integer(limit)));
    for (int row = 0; row < runs.rows(); ++row) {
      std::optional<ScheduleRun> run = records::decode_schedule_run(runs.bytes(row, 0));
      if (!run) throw StorageError("postgres: a row of baton_schedule_runs does not decode");
      page.runs.push_back(std::move(*run));
    }
  }
  page.error = ErrorCode::none;
  // Each run's task as it is now, with the connection given back (get takes one).
  co_await add_run_tasks(*this, account, page);
  co_return page;
}

}  // namespace baton::pg
