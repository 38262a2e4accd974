#pragma once
// What both engines decide about a schedule, apart from how they keep it: its cron
// expression read in its zone, the next firing, a PATCH applied, and a firing's run.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/cron.hpp"
#include "core/schedule.hpp"
#include "core/ulid.hpp"
#include "engine/task_engine.hpp"

namespace date {
class time_zone;
}

namespace baton {

// A schedule's id is "sch_" and a ULID.
inline constexpr std::string_view kScheduleIdPrefix = "sch_";
std::optional<Ulid> parse_schedule_id(std::string_view id);

// A refused schedule operation; `message` says what is wrong (for invalid_request).
ScheduleOutcome schedule_error(ErrorCode code, std::string message = {});

struct ScheduleClock {
  CronSpec spec;
  const date::time_zone* zone = nullptr;
};

// The schedule's expression and zone, or what is wrong with them (a sentence for a 400).
std::variant<ScheduleClock, std::string> clock_of(const Schedule& schedule);

// Its cron firing strictly after `after`; 0 when disabled or when it never fires.
Millis next_due_after(const ScheduleClock& clock, bool enabled, Millis after);

// The fields the patch names, changed; updated_at is `now`. A new expression, zone or
// enabled flag needs its next_due worked out again (timing_changed).
void apply_patch(Schedule& record, SchedulePatch patch, Millis now);
bool timing_changed(const Schedule& before, const Schedule& after);

// A firing due at `due`, decided at `now`, begun on the record: its run numbered, and the
// record's count and time moved. A cron (or missed) firing moves next_due on from the
// later of `due` and `now`: a late firing does not make up for the slots that passed
// meanwhile. A trigger leaves next_due as it is.
ScheduleRun begin_run(Schedule& record, const ScheduleClock& clock, RunTrigger trigger, Millis due,
                      Millis now);
// The run's task, once decided: made (task_id), or refused with `error`.
void end_run(Schedule& record, ScheduleRun& run, const std::string& task_id, ErrorCode error);

// Each of the page's runs' task as it is now (null: none was made, or it has since been
// purged), read through `engine`.
boost::asio::awaitable<void> add_run_tasks(TaskEngine& engine, const std::string& account, RunPage& page);

}  // namespace baton
