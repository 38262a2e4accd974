// The operation table's rows for queues (docs/operations.md "Queues"): what each task
// type of the account holds and how fast it moves, and pausing a type's claims.
#include "api/handlers.hpp"
#include "api/operations.hpp"

namespace baton::api {

namespace {

FieldSpec queue_type_field() {
  return {.name = "type", .in = FieldIn::path, .required = true, .minimum = 1, .maximum = 100,
          .pattern = "^[A-Za-z0-9_-]+$", .check = check_type,
          .description = "The task type whose queue this is."};
}

}  // namespace

void add_queue_operations(std::vector<Operation>& table) {
  table.push_back(
      {.id = "list_queues", .method = "GET", .path = "/v1/queues", .mcp_tool = true,
       .summary = "List queues",
       .description = "The account's task types with what each holds: pending (due), "
                      "scheduled (not due yet), claimed, blocked, awaiting review or "
                      "acceptance, dead-lettered; since when the oldest due task has waited; "
                      "creates and completions in the last minute; whether it is paused. A "
                      "type is listed while it holds a task not yet finished or a dead letter, "
                      "moved in the last minute, or is paused.",
       .output = "QueueList", .errors = {}, .run = list_queues});
  table.push_back(
      {.id = "pause_queue", .method = "POST", .path = "/v1/queues/{type}/pause", .mcp_tool = true,
       .rate = RateClass::mutate, .summary = "Pause a queue",
       .description = "Stops handing out tasks of this type, durably (a restart keeps it "
                      "paused): a claim of the type answers task null at once with "
                      "queue_context {reason: queue_paused} and a wait; a long poll waits for "
                      "the resume; a claim of any type passes the type by. Creates, "
                      "heartbeats, completions and lease expiries go on. Pausing a paused "
                      "queue changes nothing.",
       .fields = {queue_type_field()}, .output = "QueueAnswer", .errors = {},
       .run = pause_queue});
  table.push_back(
      {.id = "resume_queue", .method = "POST", .path = "/v1/queues/{type}/resume",
       .mcp_tool = true, .rate = RateClass::mutate, .summary = "Resume a queue",
       .description = "Hands out the type's tasks again; long polls waiting on it are served "
                      "at once, longest-waiting first.",
       .fields = {queue_type_field()}, .output = "QueueAnswer", .errors = {},
       .run = resume_queue});
}

}  // namespace baton::api
