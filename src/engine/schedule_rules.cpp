#include "engine/schedule_rules.hpp"

#include <algorithm>

#include "core/cron_zone.hpp"

namespace baton {

std::optional<Ulid> parse_schedule_id(std::string_view id) {
  if (!id.starts_with(kScheduleIdPrefix)) return std::nullopt;
  return decode_ulid(id.substr(kScheduleIdPrefix.size()));
}

ScheduleOutcome schedule_error(ErrorCode code, std::string message) {
  ScheduleOutcome outcome;
  outcome.error = code;
  outcome.message = std::move(message);
  return outcome;
}

std::variant<ScheduleClock, std::string> clock_of(const Schedule& schedule) {
  auto parsed = parse_cron(schedule.cron);
  if (auto* problem = std::get_if<std::string>(&parsed)) return *problem;
  ScheduleClock clock{std::get<CronSpec>(parsed), find_time_zone(schedule.timezone)};
  if (!clock.zone) return "unknown time zone " + schedule.timezone;
  return clock;
}

Millis next_due_after(const ScheduleClock& clock, bool enabled, Millis after) {
  if (!enabled || !clock.zone) return 0;
  return next_cron_fire(clock.spec, *clock.zone, after).value_or(0);
}

void apply_patch(Schedule& record, SchedulePatch patch, Millis now) {
  if (patch.name) record.name = std::move(*patch.name);
  if (patch.cron) record.cron = std::move(*patch.cron);
  if (patch.timezone) record.timezone = std::move(*patch.timezone);
  if (patch.enabled) record.enabled = *patch.enabled;
  if (patch.missed) record.missed = *patch.missed;
  if (patch.task_type && patch.template_json) {
    record.task_type = std::move(*patch.task_type);
    record.template_json = std::move(*patch.template_json);
  }
  if (patch.webhook_secret_sha256) record.webhook_secret_sha256 = std::move(*patch.webhook_secret_sha256);
  record.updated_at = now;
}

bool timing_changed(const Schedule& before, const Schedule& after) {
  return before.cron != after.cron || before.timezone != after.timezone ||
         before.enabled != after.enabled || before.next_due == 0;
}

ScheduleRun begin_run(Schedule& record, const ScheduleClock& clock, RunTrigger trigger, Millis due,
                      Millis now) {
  ScheduleRun run;
  run.seq = record.runs + 1;
  run.trigger = trigger;
  run.due_at = due;
  run.fired_at = now;
  record.runs = run.seq;
  record.last_fired_at = now;
  if (trigger == RunTrigger::cron || trigger == RunTrigger::missed) {
    record.next_due = next_due_after(clock, record.enabled, std::max(due, now));
  }
  return run;
}

boost::asio::awaitable<void> add_run_tasks(TaskEngine& engine, const std::string& account, RunPage& page) {
  for (const ScheduleRun& run : page.runs) {
    std::shared_ptr<const Task> task;
    if (!run.task_id.empty()) {
      Outcome read = co_await engine.get(account, run.task_id);
      if (read.ok()) task = read.task;
    }
    page.tasks.push_back(std::move(task));
  }
}

void end_run(Schedule& record, ScheduleRun& run, const std::string& task_id, ErrorCode error) {
  if (!task_id.empty()) {
    run.task_id = task_id;
    record.last_task_id = task_id;
  } else {
    run.error = error;
  }
}

}  // namespace baton
