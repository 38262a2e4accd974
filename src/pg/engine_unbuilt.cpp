// What PgEngine does not offer yet: each answers 501 not_implemented (NotImplemented),
// naming the feature, so an agent is told plainly rather than given an empty answer.
// docs/scale-out.md lists them.
#include "pg/engine_thread.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

[[noreturn]] void unbuilt(std::string_view what) {
  throw NotImplemented(std::string(what) + " is not available with storage.engine: postgres yet");
}

}  // namespace

// Schedules need a firing that happens once across nodes; until then none is kept, and
// every schedule operation says so.
void PgEngine::set_task_template(TaskTemplate, std::int64_t) {}

asio::awaitable<ScheduleOutcome> PgEngine::create_schedule(Schedule, int) {
  unbuilt("schedules");
  co_return ScheduleOutcome{};
}

asio::awaitable<ScheduleOutcome> PgEngine::update_schedule(std::string, std::string, SchedulePatch) {
  unbuilt("schedules");
  co_return ScheduleOutcome{};
}

asio::awaitable<ScheduleOutcome> PgEngine::delete_schedule(std::string, std::string) {
  unbuilt("schedules");
  co_return ScheduleOutcome{};
}

asio::awaitable<ScheduleOutcome> PgEngine::get_schedule(std::string, std::string) {
  unbuilt("schedules");
  co_return ScheduleOutcome{};
}

asio::awaitable<std::vector<Schedule>> PgEngine::list_schedules(std::string) {
  unbuilt("schedules");
  co_return std::vector<Schedule>{};
}

asio::awaitable<FireOutcome> PgEngine::fire_schedule(FireRequest, const IdempotencyRequest*) {
  unbuilt("schedules");
  co_return FireOutcome{};
}

asio::awaitable<RunPage> PgEngine::schedule_runs(std::string, std::string, std::int64_t, int) {
  unbuilt("schedules");
  co_return RunPage{};
}

SnapshotOutcome PgEngine::snapshot(const std::string&) {
  SnapshotOutcome outcome;
  outcome.failure = SnapshotFailure::failed;
  outcome.reason = "storage.engine: postgres keeps no data of its own to copy: back the database "
                   "up with PostgreSQL's tools (pg_dump, pg_basebackup)";
  return outcome;
}

}  // namespace baton::pg
