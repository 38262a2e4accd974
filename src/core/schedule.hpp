#pragma once
// A schedule (docs/operations.md "Schedules"): a task template fired on a cron expression
// in a time zone, by hand (trigger), or by a webhook; and the record of each firing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/errors.hpp"
#include "core/time.hpp"

namespace baton {

// What a schedule does about firings it missed while the server was down.
enum class MissedPolicy : std::uint8_t { skip, run_once };
std::string_view to_string(MissedPolicy policy);
std::optional<MissedPolicy> parse_missed_policy(std::string_view text);

// What made a firing: the cron expression, a trigger call, a webhook, or the one firing
// `run_once` makes for what was missed.
enum class RunTrigger : std::uint8_t { cron, manual, webhook, missed };
std::string_view to_string(RunTrigger trigger);

struct Schedule {
  std::string id;       // "sch_" + ULID
  std::string account;  // the account whose tasks it creates
  std::string name;     // a label, "" when none
  std::string cron;     // as given (core/cron.hpp)
  std::string timezone = "UTC";
  bool enabled = true;
  MissedPolicy missed = MissedPolicy::skip;
  std::string task_type;      // the template's type (a queue: where the schedule lives)
  std::string template_json;  // the template: a JSON object with the fields of a create
  // SHA-256 of the webhook secret (hex); "" when the schedule has no webhook.
  std::string webhook_secret_sha256;
  Millis created_at = 0;
  Millis updated_at = 0;
  Millis next_due = 0;  // the next cron firing; 0 when disabled or when it never fires
  std::int64_t runs = 0;  // firings made (the seq of the last run)
  Millis last_fired_at = 0;
  std::string last_task_id;
};

struct ScheduleRun {
  std::int64_t seq = 0;  // 1, 2, … per schedule
  RunTrigger trigger = RunTrigger::cron;
  Millis due_at = 0;    // when it was due (a trigger's: when it was called)
  Millis fired_at = 0;  // when its task was decided
  std::string task_id;  // "" when no task was made (error says why)
  ErrorCode error = ErrorCode::none;
  bool operator==(const ScheduleRun&) const = default;
};

}  // namespace baton
