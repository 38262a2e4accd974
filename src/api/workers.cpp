// The worker roster (docs/workflows.md#worker-roster-and-rank): who worked for the
// account lately, on what, how it went, and a rank.
#include <cmath>

#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"

namespace baton::api {

namespace {

void append_number(std::string& out, std::string_view name, long long value) {
  out.append(",\"").append(name).append("\":").append(std::to_string(value));
}

void append_worker(std::string& out, const WorkerSummary& worker) {
  out.append("{\"worker_id\":");
  append_json_string(out, worker.worker_id);
  out.append(",\"last_seen\":\"").append(format_rfc3339(worker.last_seen)).append("\"");
  append_number(out, "live_leases", worker.live_leases);
  append_number(out, "rank", worker.rank);
  out.append(",\"types_claimed\":[");
  for (std::size_t i = 0; i < worker.types.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, worker.types[i].type);
  }
  out.append("],\"types\":[");
  for (std::size_t i = 0; i < worker.types.size(); ++i) {
    const WorkerTypeSummary& row = worker.types[i];
    if (i) out.push_back(',');
    out.append("{\"type\":");
    append_json_string(out, row.type);
    append_number(out, "claims", static_cast<long long>(row.stats.claims));
    append_number(out, "completed", static_cast<long long>(row.stats.completed));
    append_number(out, "failed", static_cast<long long>(row.stats.failed));
    append_number(out, "expired", static_cast<long long>(row.stats.expired));
    append_number(out, "accepted", static_cast<long long>(row.stats.accepted));
    append_number(out, "reworked", static_cast<long long>(row.stats.reworked));
    out.append(",\"mean_complete_ms\":");
    if (row.stats.completed == 0) {
      out.append("null");
    } else {
      out.append(std::to_string(std::llround(mean_complete_ms(row.stats))));
    }
    append_number(out, "rank", row.rank);
    out.push_back('}');
  }
  out.append("]}");
}

}  // namespace

boost::asio::awaitable<Result> list_workers(Services& services, Call& call) {
  auto days = call.input.integer("days").value_or(7);
  Millis since = wall_now_ms() - days * 24 * 3600 * 1000;
  std::vector<WorkerSummary> roster = co_await services.engine.workers(call.account, since);
  std::string out = "{\"workers\":[";
  for (std::size_t i = 0; i < roster.size(); ++i) {
    if (i) out.push_back(',');
    append_worker(out, roster[i]);
  }
  out.append("],\"agent_contract\":");
  append_contract(out, contract_for_list());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

}  // namespace baton::api
