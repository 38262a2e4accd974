// GET /metrics (docs/operations.md "Metrics"): the Prometheus text exposition of requests,
// latencies, group commit, lease expiry, tasks by state and type, shard depths and the
// storage engine's own figures. Everything is read when scraped; nothing is kept per
// scrape, so scraping often costs only the reading.
#include "api/metrics.hpp"

#include "api/handlers.hpp"
#include "api/request_metrics.hpp"
#include "api/services.hpp"
#include "core/failures.hpp"
#include "core/prometheus_text.hpp"
#include "core/version.hpp"

namespace baton::api {

namespace {

using prometheus::family;
using prometheus::sample;

void gauge(std::string& out, std::string_view name, std::string_view help, double value) {
  family(out, name, "gauge", help);
  sample(out, name, {}, value);
}

void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t value) {
  family(out, name, "counter", help);
  sample(out, name, {}, value);
}

// An unlabelled histogram family; `divisor` turns the snapshot's unit into the metric's.
void histogram(std::string& out, std::string_view name, std::string_view help,
               const HistogramSnapshot& snapshot, double divisor) {
  family(out, name, "histogram", help);
  prometheus::histogram(out, name, {}, snapshot, divisor);
}

void render_types(std::string& out, const std::vector<QueueStats>& types) {
  family(out, "baton_tasks", "gauge",
         "Tasks not yet finished, and dead letters, by state and type (all accounts; types "
         "past metrics.max_types folded into \"other\").");
  for (const QueueStats& t : types) {
    const std::pair<std::string_view, std::int64_t> states[] = {
        {"pending", t.pending},     {"scheduled", t.scheduled},
        {"claimed", t.claimed},     {"blocked", t.blocked},
        {"awaiting_review", t.awaiting_review},
        {"awaiting_acceptance", t.awaiting_acceptance},
        {"dead_letter", t.dead_lettered}};
    for (const auto& [state, count] : states) {
      sample(out, "baton_tasks", {{"state", state}, {"type", t.type}},
             static_cast<std::uint64_t>(std::max<std::int64_t>(0, count)));
    }
  }
  family(out, "baton_tasks_created_last_minute", "gauge", "Tasks created in the last minute, by type.");
  for (const QueueStats& t : types) {
    sample(out, "baton_tasks_created_last_minute", {{"type", t.type}},
           static_cast<std::uint64_t>(t.created_last_minute));
  }
  family(out, "baton_tasks_completed_last_minute", "gauge", "Tasks completed in the last minute, by type.");
  for (const QueueStats& t : types) {
    sample(out, "baton_tasks_completed_last_minute", {{"type", t.type}},
           static_cast<std::uint64_t>(t.completed_last_minute));
  }
}

void render_storage(std::string& out, const std::optional<StorageFigures>& figures,
                    const EngineStats& stats) {
  gauge(out, "baton_storage_writable", "1 while storage takes writes; 0 while degraded.",
        stats.storage_writable ? 1 : 0);
  counter(out, "baton_storage_failures_total", "Times storage stopped taking writes.",
          stats.storage_failures);
  // storage.engine: postgres has none: PostgreSQL's own exporter reports its figures.
  if (!figures) return;
  const StorageFigures& s = *figures;
  counter(out, "baton_wal_syncs_total", "fsyncs of the write-ahead log.", s.wal_syncs);
  counter(out, "baton_wal_bytes_total", "Bytes written to the write-ahead log.", s.wal_bytes);
  family(out, "baton_storage_write_stall_seconds_total", "counter",
         "Time RocksDB delayed or stopped writes (compaction behind).");
  sample(out, "baton_storage_write_stall_seconds_total", {},
         static_cast<double>(s.write_stall_micros) / 1e6);
  gauge(out, "baton_storage_write_stopped", "1 while RocksDB stops writes.", s.write_stopped ? 1 : 0);
  gauge(out, "baton_storage_delayed_write_rate_bytes", "Bytes/s RocksDB holds writes to; 0 when not delayed.",
        static_cast<double>(s.delayed_write_rate));
  counter(out, "baton_storage_compactions_total", "Compactions finished.", s.compactions);
  counter(out, "baton_storage_compaction_read_bytes_total", "Bytes compactions read.",
          s.compaction_read_bytes);
  counter(out, "baton_storage_compaction_write_bytes_total", "Bytes compactions wrote.",
          s.compaction_write_bytes);
  gauge(out, "baton_storage_compactions_running", "Compactions running now.",
        static_cast<double>(s.compactions_running));
  gauge(out, "baton_storage_compaction_pending_bytes",
        "Bytes compaction estimates it still has to rewrite.",
        static_cast<double>(s.compaction_pending_bytes));
  gauge(out, "baton_storage_memtable_bytes", "Bytes in RocksDB's memtables.",
        static_cast<double>(s.memtable_bytes));
  gauge(out, "baton_storage_live_data_bytes", "Bytes of table files in use.",
        static_cast<double>(s.live_data_bytes));
}

}  // namespace

boost::asio::awaitable<std::string> render_metrics(Services& services) {
  EngineMetrics engine = co_await services.engine.metrics(services.config.metrics.max_types);
  EngineStats stats = services.engine.stats();
  std::string out;
  out.reserve(16384);
  family(out, "baton_build_info", "gauge", "The running release.");
  sample(out, "baton_build_info", {{"version", kBatonVersion}}, std::uint64_t{1});
  gauge(out, "baton_uptime_seconds", "Since the server started.",
        static_cast<double>(wall_now_ms() - services.started_at) / 1000.0);
  if (services.request_metrics) services.request_metrics->render(out);

  histogram(out, "baton_claim_wait_seconds",
            "Long-polling claims: from parking to the answer (a task, or the wait's end).",
            engine.claim_wait_us, 1e6);
  histogram(out, "baton_commit_seconds",
            "Each group-commit write to storage, its fsync included (storage.sync batch or always).",
            engine.commit_write_us, 1e6);
  histogram(out, "baton_commit_batch_operations",
            "Transitions (creates, claims, completions, ...) made durable by one write.",
            engine.commit_ops, 1.0);
  histogram(out, "baton_lease_expiry_lag_seconds", "From a lease's end to its expiry being handled.",
            engine.lease_expiry_lag_us, 1e6);

  render_types(out, engine.types);
  family(out, "baton_shard_ready_tasks", "gauge", "Claimable tasks each shard holds in its queues.");
  for (std::size_t i = 0; i < engine.shard_ready.size(); ++i) {
    std::string shard = std::to_string(i);
    sample(out, "baton_shard_ready_tasks", {{"shard", shard}}, engine.shard_ready[i]);
  }
  render_storage(out, engine.storage, stats);

  if (services.connection_stats) {
    http::ConnectionStats connections = services.connection_stats();
    gauge(out, "baton_connections_open", "Client connections open.", connections.open);
  }
  gauge(out, "baton_log_streams_open", "Live task log streams open.",
        static_cast<double>(services.stream_slots.open()));
  family(out, "baton_failures_total", "counter",
         "Failures no request answered for (logged), by kind.");
  for (Failure kind : kFailureKinds) {
    sample(out, "baton_failures_total", {{"kind", to_string(kind)}}, failure_count(kind));
  }
  co_return out;
}

std::optional<http::Response> MetricsPort::refuse(const http::Request& request) const {
  std::string_view path = std::string_view(request.target).substr(0, request.target.find('?'));
  if (path != "/metrics") {
    return to_response(error_result(request.request_id, ErrorCode::not_found,
                                    "This port serves GET /metrics only."));
  }
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response refused = to_response(error_result(
        request.request_id, ErrorCode::method_not_allowed, "/metrics takes GET (and HEAD)."));
    refused.headers.emplace_back("Allow", "GET, HEAD");
    return refused;
  }
  return std::nullopt;
}

std::optional<http::Response> MetricsPort::screen(const http::Request& head) { return refuse(head); }

http::Response MetricsPort::reject(int status, const std::string& code, const std::string& message,
                                   const std::string& request_id) {
  ErrorCode known = ErrorCode::invalid_request;
  for (const ErrorInfo& info : error_catalog()) {
    if (info.name == code) known = info.code;
  }
  http::Response response = to_response(error_result(request_id, known, message));
  response.status = status;
  return response;
}

boost::asio::awaitable<http::Response> MetricsPort::handle(http::Request& request,
                                                           http::Connection&) {
  if (std::optional<http::Response> refused = refuse(request)) co_return std::move(*refused);
  http::Response response;
  response.body = co_await render_metrics(services_);
  response.content_type = kMetricsContentType;
  co_return response;
}

boost::asio::awaitable<Result> get_metrics(Services& services, Call&) {
  Result result;
  result.status = 200;
  result.body = co_await render_metrics(services);
  result.content_type = kMetricsContentType;
  co_return result;
}

}  // namespace baton::api
