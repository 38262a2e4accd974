// The operation table's rows for task logs (docs/api.md "Task logs"): appending, reading
// and following a task's lines.
#include "api/handlers.hpp"
#include "api/operations.hpp"

namespace baton::api {

using E = ErrorCode;

// The largest seq a client may name: far past any log, and no sum with it overflows.
constexpr std::int64_t kMaxSeq = std::int64_t{1} << 62;

void add_log_operations(std::vector<Operation>& table, const TaskLimits& limits) {
  const FieldSpec task_id = task_id_field();
  const std::vector<FieldSpec> line_fields{
      {.name = "level", .one_of = {"debug", "info", "log", "warn", "error"},
       .description = "debug, info (default), log (seed 004's), warn or error."},
      {.name = "message", .required = true, .maximum = limits.max_log_line_bytes,
       .description = "The line's text."},
      {.name = "data", .type = FieldType::object,
       .description = "Structured fields, a JSON object."}};
  table.push_back(
      {.id = "append_logs", .method = "POST", .path = "/v1/tasks/{task_id}/logs", .mcp_tool = true,
       .rate = RateClass::heartbeat, .summary = "Append log lines",
       .description = "The lease holder appends lines to the task's log (fenced by the lease "
                      "token like a heartbeat, without renewing the lease). Each line gets a "
                      "server timestamp and the next seq, and is durable when this answers. "
                      "Past task_logs.max_task_bytes the oldest lines are dropped, counted in "
                      "log.dropped.",
       .fields = {task_id,
                  {.name = "lines", .type = FieldType::array, .required = true, .minimum = 1,
                   .maximum = limits.max_log_lines_per_append,
                   .description = "The lines, oldest first: {level?, message, data?}; at most "
                                  "task_logs.max_lines_per_append, each at most "
                                  "task_logs.max_line_bytes (level, message and data).",
                   .properties = line_fields},
                  lease_token_field(), worker_id_field(limits)},
       .output = "LogAppended",
       .errors = {E::task_not_found, E::lease_expired, E::invalid_transition, E::task_cancelled,
                  E::payload_too_large},
       .run = append_logs});
  table.push_back(
      {.id = "get_logs", .method = "GET", .path = "/v1/tasks/{task_id}/logs", .mcp_tool = true,
       .summary = "Read a task's log",
       .description = "The task's lines after seq `after`, oldest first, at most `limit`; "
                      "next_after is where the next page starts. Lines dropped past the task's "
                      "bound are gone (log.first_seq says where the kept ones begin).",
       .fields = {task_id,
                  {.name = "after", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 0, .maximum = kMaxSeq,
                   .description = "Lines with a larger seq; 0 (default): all."},
                  {.name = "limit", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 1, .maximum = 1000, .description = "Lines per page; 100."}},
       .output = "LogPage", .errors = {E::task_not_found}, .run = get_logs});
  table.push_back(
      {.id = "stream_logs", .method = "GET", .path = "/v1/tasks/{task_id}/logs/stream",
       .stream_token = true, .summary = "Follow a task's log live",
       .description = "Server-Sent Events (text/event-stream): the lines after Last-Event-ID "
                      "(or `after`) first, then each line once durable (`id:` its seq), a "
                      "keep-alive comment while idle, an `end` event when the task reaches a "
                      "terminal state. With Upgrade: websocket, the same as WebSocket messages "
                      "{\"type\":\"logs\",\"data\":[…]}, the backlog first. A reader that "
                      "falls task_logs.stream_buffer_bytes behind gets a `dropped` event and "
                      "the stream closes. Browsers authenticate with ?stream_token= (POST "
                      "…/logs/stream-token), never with the key in the URL.",
       .fields = {task_id,
                  {.name = "after", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 0, .maximum = kMaxSeq,
                   .description = "Lines after this seq; Last-Event-ID wins."},
                  {.name = "stream_token", .in = FieldIn::query, .maximum = 100,
                   .description = "A stream token instead of the Authorization header."}},
       .output = "LogStream", .errors = {E::task_not_found, E::rate_limited},
       .run = stream_logs});
  table.push_back(
      {.id = "create_stream_token", .method = "POST",
       .path = "/v1/tasks/{task_id}/logs/stream-token", .rate = RateClass::read,
       .summary = "A browser's token for a log stream",
       .description = "A short-lived token (task_logs.stream_token_seconds) that opens this "
                      "task's stream as ?stream_token=…: for browsers, whose EventSource and "
                      "WebSocket cannot send the Authorization header.",
       .fields = {task_id}, .success_status = 201, .output = "StreamToken",
       .errors = {E::task_not_found, E::rate_limited}, .run = create_stream_token});
}

}  // namespace baton::api
