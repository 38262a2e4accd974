// GET /health (spec section 10): liveness and whether storage can write.
#include "api/api.hpp"
#include "api/render.hpp"
#include "core/version.hpp"

namespace baton::api {

http::Response Api::health(http::Request&) {
  EngineStats stats = engine_.stats();
  http::Response response;
  response.status = stats.storage_writable ? 200 : 503;
  std::string out = "{\"status\":";
  out.append(stats.storage_writable ? "\"ok\"" : "\"degraded\"");
  out.append(",\"version\":");
  append_json_string(out, kBatonVersion);
  out.append(",\"uptime_seconds\":");
  out.append(std::to_string((wall_now_ms() - started_at_) / 1000));
  out.append(",\"shards\":");
  out.append(std::to_string(stats.shards));
  out.append(",\"storage\":{\"engine\":\"rocksdb\",\"writable\":");
  out.append(stats.storage_writable ? "true" : "false");
  out.append(",\"sync\":");
  append_json_string(out, to_string(config_.storage.sync));
  out.append(",\"commit_writes\":");
  out.append(std::to_string(stats.commit_writes));
  out.append(",\"commit_ops\":");
  out.append(std::to_string(stats.commit_ops));
  out.append(",\"wal_spares_used\":");
  out.append(std::to_string(stats.wal_spares_used));
  out.append(",\"wal_spares_missed\":");
  out.append(std::to_string(stats.wal_spares_missed));
  if (!stats.storage_writable) {
    out.append(",\"error\":");
    append_json_string(out, stats.storage_error);
  }
  out.append("}");
  if (connection_stats_) {
    http::ConnectionStats connections = connection_stats_();
    out.append(",\"connections\":{\"open\":");
    out.append(std::to_string(connections.open));
    out.append(",\"moved\":");
    out.append(std::to_string(connections.moved));
    out.append("}");
  }
  out.append("}");
  if (!stats.storage_writable) response.headers.emplace_back("Retry-After", "5");
  response.body = std::move(out);
  return response;
}

}  // namespace baton::api
