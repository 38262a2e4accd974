// Schedules and webhook triggers (docs/operations.md "Schedules"): the handlers, the
// rendering of a schedule and its runs, and the template that turns a schedule into the
// create each firing makes.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/commands.hpp"
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"
#include "core/sha256.hpp"
#include "core/ulid.hpp"

namespace json = boost::json;

namespace baton::api {

namespace {

void append_time(std::string& out, std::string_view name, Millis at) {
  out.append(",\"").append(name).append("\":");
  if (at <= 0) {
    out.append("null");
  } else {
    out.append("\"").append(format_rfc3339(at)).append("\"");
  }
}

std::string webhook_path(const Schedule& schedule, std::string_view secret) {
  return "/v1/webhooks/" + schedule.id + "/" + std::string(secret);
}

// {"schedule": {…}[, "webhook": {url, secret}], "agent_contract": …}
std::string schedule_body(const Schedule& s, std::string_view secret = {}) {
  std::string out = "{\"schedule\":{\"id\":";
  append_json_string(out, s.id);
  out.append(",\"name\":");
  append_json_string(out, s.name);
  out.append(",\"cron\":");
  append_json_string(out, s.cron);
  out.append(",\"timezone\":");
  append_json_string(out, s.timezone);
  out.append(",\"enabled\":").append(s.enabled ? "true" : "false");
  out.append(",\"missed\":\"").append(to_string(s.missed)).append("\"");
  out.append(",\"task\":").append(s.template_json);
  out.append(",\"webhook\":").append(s.webhook_secret_sha256.empty() ? "false" : "true");
  append_time(out, "next_run_at", s.next_due);
  append_time(out, "last_run_at", s.last_fired_at);
  out.append(",\"last_task_id\":");
  append_json_string_or_null(out, s.last_task_id);
  out.append(",\"runs\":").append(std::to_string(s.runs));
  append_time(out, "created_at", s.created_at);
  append_time(out, "updated_at", s.updated_at);
  out.push_back('}');
  if (!secret.empty()) {
    out.append(",\"webhook\":{\"url\":");
    append_json_string(out, webhook_path(s, secret));
    out.append(",\"secret\":");
    append_json_string(out, secret);
    out.push_back('}');
  }
  return out;
}

std::string with_contract(std::string body) {
  body.append(",\"agent_contract\":");
  append_contract(body, contract_for_list());
  body.push_back('}');
  return body;
}

void append_run(std::string& out, const ScheduleRun& run, const Task* task) {
  out.append("{\"seq\":").append(std::to_string(run.seq));
  out.append(",\"trigger\":\"").append(to_string(run.trigger)).append("\"");
  append_time(out, "due_at", run.due_at);
  append_time(out, "fired_at", run.fired_at);
  out.append(",\"task_id\":");
  append_json_string_or_null(out, run.task_id);
  out.append(",\"task_status\":");
  if (task) {
    out.append("\"").append(to_string(task->status)).append("\"");
  } else {
    out.append("null");
  }
  out.append(",\"error\":");
  if (run.error == ErrorCode::none) {
    out.append("null");
  } else {
    out.append("\"").append(error_info(run.error).name).append("\"");
  }
  out.push_back('}');
}

// A new webhook secret: what the URL carries, and the hash the schedule keeps.
std::pair<std::string, std::string> new_webhook_secret() {
  std::string secret = random_hex_token("whk_", 32);
  return {secret, hex_encode(sha256_bytes(secret))};
}

Result outcome_result(const Call& call, const ScheduleOutcome& outcome, int status,
                      std::string_view secret = {}) {
  if (!outcome.ok()) {
    return error_result(call, outcome.error,
                        outcome.message.empty() ? message_for(outcome.error) : outcome.message);
  }
  return json_result(status, with_contract(schedule_body(*outcome.schedule, secret)));
}

// The template as stored: the task field's object, re-serialized.
std::optional<std::string> template_of(const Call& call, std::string& type, std::optional<Result>& problem) {
  const json::value* task = call.input.find("task");
  if (!task) return std::nullopt;
  const json::object& object = task->as_object();
  for (std::string_view refused : {"depends_on", "dependsOn", "parent_task_id", "parentTaskId",
                                   "idempotencyKey", "idempotency_key"}) {
    if (object.contains(refused)) {
      problem = error_result(call, ErrorCode::invalid_request,
                             "task." + std::string(refused) +
                                 " cannot be part of a schedule's template: each firing makes a "
                                 "new task");
      return std::nullopt;
    }
  }
  type = std::string(object.at("type").as_string());
  return json::serialize(object);
}

}  // namespace

TaskTemplate task_template(Services& services) {
  return [&services](const Schedule& schedule, const std::string* payload_json,
                     Millis now) -> std::variant<CreateRequest, ErrorCode> {
    boost::system::error_code error;
    json::value parsed = json::parse(schedule.template_json, error);
    if (error || !parsed.is_object()) return ErrorCode::server_error;
    json::object fields = std::move(parsed.as_object());
    if (payload_json) {
      json::value payload = json::parse(*payload_json, error);
      if (error || !payload.is_object()) return ErrorCode::invalid_request;
      fields["payload"] = std::move(payload);
    }
    Built<CreateRequest> built = create_request(Input(std::move(fields)), services.limits,
                                                schedule.account, now);
    if (auto* problem = std::get_if<InputProblem>(&built)) return problem->code;
    CreateRequest create = std::move(std::get<CreateRequest>(built));
    std::optional<Account> account = services.accounts.find_account(schedule.account);
    if (!account) return ErrorCode::not_found;
    create.monthly_quota = services.plans.current().plans.of_account(account->plan).tasks_per_month;
    return create;
  };
}

boost::asio::awaitable<Result> create_schedule(Services& services, Call& call) {
  Schedule schedule;
  schedule.account = call.account;
  schedule.name = call.input.string("name").value_or("");
  schedule.cron = call.input.string("cron").value_or("");
  schedule.timezone = call.input.string("timezone").value_or("UTC");
  schedule.enabled = call.input.boolean("enabled").value_or(true);
  schedule.missed = parse_missed_policy(call.input.string("missed").value_or("skip")).value_or(MissedPolicy::skip);
  std::optional<Result> problem;
  std::optional<std::string> made = template_of(call, schedule.task_type, problem);
  if (problem) co_return *problem;
  schedule.template_json = made.value_or("{}");
  std::string secret;
  if (call.input.boolean("webhook").value_or(false)) {
    std::tie(secret, schedule.webhook_secret_sha256) = new_webhook_secret();
  }
  ScheduleOutcome outcome = co_await services.engine.create_schedule(
      std::move(schedule), services.config.schedules.max_per_account);
  co_return outcome_result(call, outcome, 201, secret);
}

boost::asio::awaitable<Result> list_schedules(Services& services, Call& call) {
  std::vector<Schedule> schedules = co_await services.engine.list_schedules(call.account);
  std::string out = "{\"schedules\":[";
  for (std::size_t i = 0; i < schedules.size(); ++i) {
    if (i) out.push_back(',');
    std::string one = schedule_body(schedules[i]);
    out.append(std::string_view(one).substr(std::string_view("{\"schedule\":").size()));
  }
  out.append("]");
  co_return json_result(200, with_contract(std::move(out)));
}

boost::asio::awaitable<Result> get_schedule(Services& services, Call& call) {
  ScheduleOutcome outcome = co_await services.engine.get_schedule(
      call.account, call.input.string("schedule_id", "scheduleId").value_or(""));
  co_return outcome_result(call, outcome, 200);
}

boost::asio::awaitable<Result> update_schedule(Services& services, Call& call) {
  SchedulePatch patch;
  patch.name = call.input.string("name");
  patch.cron = call.input.string("cron");
  patch.timezone = call.input.string("timezone");
  patch.enabled = call.input.boolean("enabled");
  if (auto missed = call.input.string("missed")) patch.missed = parse_missed_policy(*missed);
  std::optional<Result> problem;
  std::string type;
  if (std::optional<std::string> made = template_of(call, type, problem)) {
    patch.task_type = type;
    patch.template_json = std::move(*made);
  }
  if (problem) co_return *problem;
  std::string secret;
  if (std::optional<bool> webhook = call.input.boolean("webhook")) {
    if (*webhook) {
      // Kept when it has one already: rotate makes a new secret.
      ScheduleOutcome current = co_await services.engine.get_schedule(
          call.account, call.input.string("schedule_id", "scheduleId").value_or(""));
      if (!current.ok()) co_return outcome_result(call, current, 200);
      if (current.schedule->webhook_secret_sha256.empty()) {
        std::string hash;
        std::tie(secret, hash) = new_webhook_secret();
        patch.webhook_secret_sha256 = hash;
      }
    } else {
      patch.webhook_secret_sha256 = std::string();
    }
  }
  ScheduleOutcome outcome = co_await services.engine.update_schedule(
      call.account, call.input.string("schedule_id", "scheduleId").value_or(""), std::move(patch));
  co_return outcome_result(call, outcome, 200, secret);
}

boost::asio::awaitable<Result> delete_schedule(Services& services, Call& call) {
  ScheduleOutcome outcome = co_await services.engine.delete_schedule(
      call.account, call.input.string("schedule_id", "scheduleId").value_or(""));
  co_return outcome_result(call, outcome, 200);
}

boost::asio::awaitable<Result> rotate_schedule_webhook(Services& services, Call& call) {
  SchedulePatch patch;
  auto [secret, hash] = new_webhook_secret();
  patch.webhook_secret_sha256 = hash;
  ScheduleOutcome outcome = co_await services.engine.update_schedule(
      call.account, call.input.string("schedule_id", "scheduleId").value_or(""), std::move(patch));
  co_return outcome_result(call, outcome, 200, secret);
}

namespace {

// A firing's answer: 201 with the task (as a create answers it) and the run.
Result fired_result(Services& services, const Call& call, const FireOutcome& fired) {
  if (fired.error == ErrorCode::not_found) return error_result(call, ErrorCode::not_found, "No such schedule.");
  if (fired.error == ErrorCode::rate_limited) {
    int seconds = static_cast<int>(60 - (wall_now_ms() / 1000) % 60);
    return error_result(call, ErrorCode::rate_limited,
                        "This schedule's webhook takes " +
                            std::to_string(services.config.schedules.webhook_per_minute) +
                            " calls a minute (schedules.webhook_per_minute).",
                        {}, seconds);
  }
  const Outcome& task = fired.task;
  if (task.status != 0) {  // an idempotent replay: the stored answer
    Result replay = json_result(task.status, task.body);
    return replay;
  }
  if (!fired.ok() || !task.ok() || fired.run.error != ErrorCode::none) {
    ErrorCode code = !task.ok() ? task.error : (fired.run.error != ErrorCode::none ? fired.run.error : fired.error);
    return error_result(call, code, message_for(code), {}, task.retry_after_seconds);
  }
  std::string out = task_body(*task.task, task.now, ContractSite::other, TaskView{});
  out.pop_back();
  out.append(",\"run\":");
  append_run(out, fired.run, task.task.get());
  out.push_back('}');
  Result result = json_result(201, std::move(out));
  result.affinity = task.affinity;
  return result;
}

}  // namespace

boost::asio::awaitable<Result> trigger_schedule(Services& services, Call& call) {
  FireRequest request;
  request.account = call.account;
  request.schedule_id = call.input.string("schedule_id", "scheduleId").value_or("");
  request.trigger = RunTrigger::manual;
  if (const json::value* payload = call.input.find("payload")) request.payload_json = json::serialize(*payload);
  FireOutcome fired = co_await services.engine.fire_schedule(std::move(request), nullptr);
  co_return fired_result(services, call, fired);
}

boost::asio::awaitable<Result> fire_webhook(Services& services, Call& call) {
  FireRequest request;
  request.schedule_id = call.input.string("schedule_id", "scheduleId").value_or("");
  request.trigger = RunTrigger::webhook;
  request.secret_sha256 = hex_encode(sha256_bytes(call.input.string("secret").value_or("")));
  // The body, whole, is the payload (a JSON object; none: the template's).
  if (call.http && !call.http->body.empty()) {
    boost::system::error_code error;
    json::value body = json::parse(call.http->body, error);
    if (error || !body.is_object()) {
      co_return error_result(call, ErrorCode::invalid_request,
                             "A webhook's body, when sent, is the task's payload: a JSON object.");
    }
    request.payload_json = json::serialize(body);
  }
  // Counted per schedule once its secret is verified (an unknown or wrong one counts
  // nothing, so no caller can fill this map or spend another's allowance).
  request.admit = [&services, id = request.schedule_id] {
    std::lock_guard lock(services.webhook_mutex);
    return services.webhook_calls[id]
        .take(wall_now_ms() / 60000, services.config.schedules.webhook_per_minute)
        .allowed;
  };
  call.path = "/v1/webhooks/" + request.schedule_id;
  const AnswerShape shape{201, ContractSite::other, false};
  std::optional<Result> problem;
  std::optional<IdempotencyRequest> idempotency = idempotency_for(services, call, shape, problem);
  if (problem) co_return *problem;
  FireOutcome fired = co_await services.engine.fire_schedule(std::move(request),
                                                             idempotency ? &*idempotency : nullptr);
  co_return fired_result(services, call, fired);
}

boost::asio::awaitable<Result> list_schedule_runs(Services& services, Call& call) {
  int limit = static_cast<int>(call.input.integer("limit").value_or(20));
  std::int64_t before = call.input.integer("before").value_or(0);
  RunPage page = co_await services.engine.schedule_runs(
      call.account, call.input.string("schedule_id", "scheduleId").value_or(""), before, limit + 1);
  if (page.error != ErrorCode::none) co_return error_result(call, page.error, "No such schedule.");
  bool more = static_cast<int>(page.runs.size()) > limit;
  std::string out = "{\"runs\":[";
  std::size_t shown = std::min(page.runs.size(), static_cast<std::size_t>(limit));
  for (std::size_t i = 0; i < shown; ++i) {
    if (i) out.push_back(',');
    append_run(out, page.runs[i], page.tasks[i].get());
  }
  out.append("],\"next_before\":");
  out.append(more && shown > 0 ? std::to_string(page.runs[shown - 1].seq) : "null");
  co_return json_result(200, with_contract(std::move(out)));
}

}  // namespace baton::api
