// Queues (docs/operations.md "Queues"): the account's task types as an operator sees
// them, and pausing one.
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "api/task_answers.hpp"

namespace baton::api {

namespace {

void append_count(std::string& out, std::string_view name, std::int64_t value) {
  out.append(",\"").append(name).append("\":").append(std::to_string(value));
}

void append_time(std::string& out, std::string_view name, Millis at) {
  out.append(",\"").append(name).append("\":");
  if (at == 0) {
    out.append("null");
  } else {
    out.append("\"").append(format_rfc3339(at)).append("\"");
  }
}

void append_queue(std::string& out, const QueueStats& q, Millis now) {
  out.append("{\"type\":");
  append_json_string(out, q.type);
  append_count(out, "pending", q.pending);
  append_count(out, "scheduled", q.scheduled);
  append_count(out, "claimed", q.claimed);
  append_count(out, "blocked", q.blocked);
  append_count(out, "awaiting_review", q.awaiting_review);
  append_count(out, "awaiting_acceptance", q.awaiting_acceptance);
  append_count(out, "dead_lettered", q.dead_lettered);
  out.append(",\"oldest_pending_age_seconds\":");
  if (q.oldest_pending_since == 0) {
    out.append("null");
  } else {
    out.append(std::to_string(std::max<Millis>(0, now - q.oldest_pending_since) / 1000));
  }
  append_count(out, "created_per_minute", q.created_last_minute);
  append_count(out, "completed_per_minute", q.completed_last_minute);
  out.append(",\"paused\":").append(q.paused ? "true" : "false");
  append_time(out, "paused_at", q.paused_at);
  out.push_back('}');
}

boost::asio::awaitable<Result> set_paused(Services& services, Call& call, bool paused) {
  std::string type = call.input.string("type").value_or(std::string());
  QueueControlOutcome outcome = co_await services.engine.pause_queue(call.account, type, paused);
  if (!outcome.ok()) co_return error_result(call, outcome.error, message_for(outcome.error));
  std::string out = "{\"queue\":";
  append_queue(out, outcome.queue, wall_now_ms());
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_list());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

}  // namespace

boost::asio::awaitable<Result> list_queues(Services& services, Call& call) {
  std::vector<QueueStats> queues = co_await services.engine.queues(call.account);
  Millis now = wall_now_ms();
  std::string out = "{\"queues\":[";
  for (std::size_t i = 0; i < queues.size(); ++i) {
    if (i) out.push_back(',');
    append_queue(out, queues[i], now);
  }
  out.append("],\"agent_contract\":");
  append_contract(out, contract_for_list());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

boost::asio::awaitable<Result> pause_queue(Services& services, Call& call) {
  co_return co_await set_paused(services, call, true);
}

boost::asio::awaitable<Result> resume_queue(Services& services, Call& call) {
  co_return co_await set_paused(services, call, false);
}

}  // namespace baton::api
