// The operation table's rows for schedules and webhook triggers (docs/operations.md
// "Schedules"): seed 002's routes under /v1/schedules, and the keyless webhook.
#include "api/handlers.hpp"
#include "api/operations.hpp"
#include "core/cron.hpp"
#include "core/cron_zone.hpp"

namespace baton::api {

namespace {

using E = ErrorCode;

std::string check_cron(std::string_view text) {
  auto parsed = parse_cron(text);
  if (auto* problem = std::get_if<std::string>(&parsed)) return *problem;
  return {};
}

std::string check_zone(std::string_view name) {
  return find_time_zone(name) ? std::string()
                              : "timezone must be an IANA time zone name such as UTC or Europe/Berlin";
}

FieldSpec schedule_id_field() {
  return {.name = "schedule_id", .alias = "scheduleId", .in = FieldIn::path, .required = true,
          .minimum = 1, .maximum = 64, .description = "The schedule's id (sch_…)."};
}

// What a schedule is made of; `creating` makes cron and task required.
std::vector<FieldSpec> schedule_fields(const TaskLimits& limits, bool creating) {
  return {{.name = "name", .maximum = 200, .description = "A label."},
          {.name = "cron", .required = creating, .minimum = 1, .maximum = 200, .check = check_cron,
           .description = "When it fires: five fields (minute hour day-of-month month "
                          "day-of-week) or six with leading seconds; ranges, steps, lists, "
                          "names, @hourly and the like."},
          {.name = "timezone", .minimum = 1, .maximum = 64, .check = check_zone,
           .description = "The IANA time zone the expression is read in (default UTC). A "
                          "local time daylight saving skips fires when the gap ends; one it "
                          "repeats fires at its first occurrence."},
          {.name = "enabled", .type = FieldType::boolean,
           .description = "false: no cron firings (trigger and the webhook still fire)."},
          {.name = "missed", .one_of = {"skip", "run_once"},
           .description = "Firings missed while the server was down: skip them (default), or "
                          "fire once at start."},
          {.name = "task", .type = FieldType::object, .required = creating,
           .maximum = limits.max_payload_bytes,
           .description = "The template of each firing's task: the fields of create_task "
                          "(depends_on and parent_task_id excepted); delaySeconds counts from "
                          "the firing.",
           .properties = task_template_fields(limits)},
          {.name = "webhook", .type = FieldType::boolean,
           .description = "true: the schedule gets a secret webhook URL (shown in this answer "
                          "only); false: it has none."}};
}

}  // namespace

void add_schedule_operations(std::vector<Operation>& table, const TaskLimits& limits) {
  table.push_back(
      {.id = "create_schedule", .method = "POST", .path = "/v1/schedules", .mcp_tool = true,
       .rate = RateClass::mutate, .summary = "Create a schedule",
       .description = "A task template fired on a cron expression in a time zone. Each firing "
                      "creates its task in the same write as the schedule's new state, so it "
                      "happens once, also across a crash. With webhook: true the answer shows "
                      "the webhook's secret URL, once.",
       .fields = schedule_fields(limits, true), .success_status = 201, .output = "ScheduleAnswer",
       .errors = {}, .run = create_schedule});
  table.push_back(
      {.id = "list_schedules", .method = "GET", .path = "/v1/schedules", .mcp_tool = true,
       .summary = "List schedules", .description = "The account's schedules, oldest first.",
       .output = "ScheduleList", .errors = {}, .run = list_schedules});
  table.push_back(
      {.id = "get_schedule", .method = "GET", .path = "/v1/schedules/{schedule_id}",
       .mcp_tool = true, .summary = "Read a schedule",
       .description = "The schedule, its next firing and its last.",
       .fields = {schedule_id_field()}, .output = "ScheduleAnswer", .errors = {E::not_found},
       .run = get_schedule});
  {
    std::vector<FieldSpec> fields = schedule_fields(limits, false);
    fields.insert(fields.begin(), schedule_id_field());
    table.push_back(
        {.id = "update_schedule", .method = "PATCH", .path = "/v1/schedules/{schedule_id}",
         .mcp_tool = true, .rate = RateClass::mutate, .summary = "Change a schedule",
         .description = "Changes the fields sent (cron, timezone, enabled, missed, task, name, "
                        "webhook); the next firing is computed again when cron, timezone or "
                        "enabled change.",
         .fields = fields, .output = "ScheduleAnswer", .errors = {E::not_found},
         .run = update_schedule});
  }
  table.push_back(
      {.id = "delete_schedule", .method = "DELETE", .path = "/v1/schedules/{schedule_id}",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Delete a schedule",
       .description = "Deletes the schedule and its run history; the tasks it made stay.",
       .fields = {schedule_id_field()}, .output = "ScheduleAnswer", .errors = {E::not_found},
       .run = delete_schedule});
  table.push_back(
      {.id = "trigger_schedule", .method = "POST", .path = "/v1/schedules/{schedule_id}/trigger",
       .mcp_tool = true, .rate = RateClass::create, .summary = "Fire a schedule now",
       .description = "Fires once now, outside the cron expression (disabled schedules too): "
                      "the task and the run, as a firing makes them. The next cron firing "
                      "does not move.",
       .fields = {schedule_id_field(),
                  {.name = "payload", .type = FieldType::object,
                   .maximum = limits.max_payload_bytes,
                   .description = "Replaces the template's payload for this firing."}},
       .success_status = 201, .output = "ScheduleFired",
       .errors = {E::not_found, E::quota_exceeded}, .run = trigger_schedule});
  table.push_back(
      {.id = "list_schedule_runs", .method = "GET", .path = "/v1/schedules/{schedule_id}/runs",
       .mcp_tool = true, .summary = "A schedule's firings",
       .description = "Each firing, newest first: when it was due and made, what made it "
                      "(cron, manual, webhook, missed), its task and that task's state now. "
                      "The last schedules.runs_kept are kept.",
       .fields = {schedule_id_field(),
                  {.name = "limit", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 1, .maximum = 100, .description = "Page size, default 20."},
                  {.name = "before", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 1, .description = "next_before of the previous page."}},
       .output = "ScheduleRuns", .errors = {E::not_found}, .run = list_schedule_runs});
  table.push_back(
      {.id = "rotate_schedule_webhook", .method = "POST",
       .path = "/v1/schedules/{schedule_id}/webhook/rotate", .rate = RateClass::mutate,
       .summary = "Rotate a webhook secret",
       .description = "A new secret URL for the schedule's webhook (made if it had none), "
                      "shown in this answer only; the old one stops working.",
       .fields = {schedule_id_field()}, .output = "ScheduleAnswer", .errors = {E::not_found},
       .run = rotate_schedule_webhook});
  table.push_back(
      {.id = "fire_webhook", .method = "POST", .path = "/v1/webhooks/{schedule_id}/{secret}",
       .auth = Auth::none, .summary = "A schedule's webhook",
       .description = "Fires the schedule: its template's task, with this request's JSON "
                      "body (an object) as payload when there is one. No key: the secret in "
                      "the URL is the credential (compared in constant time; a wrong one is "
                      "404). Honours Idempotency-Key. At most schedules.webhook_per_minute "
                      "calls per schedule.",
       .fields = {schedule_id_field(),
                  {.name = "secret", .in = FieldIn::path, .required = true, .minimum = 1,
                   .maximum = 128, .description = "The secret of the webhook URL."}},
       .success_status = 201, .output = "TaskAnswer",
       .errors = {E::not_found, E::rate_limited, E::quota_exceeded, E::idempotency_conflict,
                  E::idempotency_in_flight},
       .run = fire_webhook});
}

}  // namespace baton::api
