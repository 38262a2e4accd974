// GET /health (spec section 10): liveness and whether storage can write.
#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "core/failures.hpp"
#include "core/version.hpp"

namespace baton::api {

boost::asio::awaitable<Result> get_health(Services& services, Call&) {
  EngineStats stats = services.engine.stats();
  std::string out = "{\"status\":";
  out.append(stats.storage_writable ? "\"ok\"" : "\"degraded\"");
  out.append(",\"version\":");
  append_json_string(out, kBatonVersion);
  out.append(",\"uptime_seconds\":");
  out.append(std::to_string((wall_now_ms() - services.started_at) / 1000));
  out.append(",\"shards\":");
  out.append(std::to_string(stats.shards));
  out.append(",\"storage\":{\"engine\":");
  append_json_string(out, services.config.storage.engine);
  out.append(",\"writable\":");
  out.append(stats.storage_writable ? "true" : "false");
  // ,"name":number
  auto number = [&out](std::string_view name, std::uint64_t value) {
    out.append(",\"").append(name).append("\":").append(std::to_string(value));
  };
  // The group commit and the spare WAL files are the embedded engine's own.
  if (services.config.storage.engine == "rocksdb") {
    out.append(",\"sync\":");
    append_json_string(out, to_string(services.config.storage.sync));
    number("commit_writes", stats.commit_writes);
    number("commit_ops", stats.commit_ops);
    out.append(",\"commit_us\":{\"wait\":").append(std::to_string(stats.commit_wait_us));
    number("write", stats.commit_write_us);
    number("back_to_shard", stats.commit_back_to_shard_us);
    out.append("}");
    number("wal_spares_used", stats.wal_spares_used);
    number("wal_spares_missed", stats.wal_spares_missed);
  }
  number("failures", stats.storage_failures);
  number("recoveries", stats.storage_recoveries);
  if (!stats.storage_writable) {
    out.append(",\"error\":");
    append_json_string(out, stats.storage_error);
  }
  out.append("}");
  out.append(",\"dependencies\":{\"released\":").append(std::to_string(stats.releases));
  out.append(",\"release_us\":{\"p50\":").append(std::to_string(stats.release_p50_us));
  out.append(",\"p99\":").append(std::to_string(stats.release_p99_us)).append("}}");
  out.append(",\"retention\":{\"purged\":").append(std::to_string(stats.purged)).append("}");
  out.append(",\"log_streams\":{\"open\":")
      .append(std::to_string(services.stream_slots.open()))
      .append("}");
  // Failures no request answered for (core/failures.hpp), by kind.
  out.append(",\"failures\":{");
  for (Failure kind : kFailureKinds) {
    if (kind != kFailureKinds.front()) out.push_back(',');
    append_json_string(out, to_string(kind));
    out.push_back(':');
    out.append(std::to_string(failure_count(kind)));
  }
  out.append("}");
  if (services.connection_stats) {
    http::ConnectionStats connections = services.connection_stats();
    out.append(",\"connections\":{\"open\":");
    out.append(std::to_string(connections.open));
    out.append(",\"moved\":");
    out.append(std::to_string(connections.moved));
    out.append("}");
  }
  out.append("}");
  Result result = json_result(stats.storage_writable ? 200 : 503, std::move(out));
  // Not an error body, but a 503 all the same: it says when to look again.
  if (!stats.storage_writable) result.retry_after_seconds = error_info(ErrorCode::unavailable).retry_after_seconds;
  co_return result;
}

}  // namespace baton::api
