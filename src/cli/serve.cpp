#include "cli/serve.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <optional>
#include <stdexcept>
#include <thread>

#include "api/api.hpp"
#include "cli/descriptors.hpp"
#include "cli/log.hpp"
#include "core/failures.hpp"
#include "cli/backend.hpp"
#include "http/address_counts.hpp"
#include "http/listener.hpp"
#include "http/tls.hpp"

namespace baton {

namespace asio = boost::asio;

namespace {

struct Endpoint {
  std::string host;
  unsigned short port = 0;
};

// "HOST:PORT" or "[V6]:PORT", HOST a name or an address; nullopt when malformed.
std::optional<Endpoint> split_listen(const std::string& listen) {
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 >= listen.size()) return std::nullopt;
  Endpoint endpoint;
  endpoint.host = listen.substr(0, colon);
  if (endpoint.host.size() >= 2 && endpoint.host.front() == '[' && endpoint.host.back() == ']') {
    endpoint.host = endpoint.host.substr(1, endpoint.host.size() - 2);
  }
  std::string port = listen.substr(colon + 1);
  if (endpoint.host.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  int value = std::stoi(port);
  if (value > 65535) return std::nullopt;
  endpoint.port = static_cast<unsigned short>(value);
  return endpoint;
}

// The address to bind: a literal as is, a name through the resolver (first answer).
std::string resolve_host(const std::string& host) {
  boost::system::error_code error;
  asio::ip::make_address(host, error);
  if (!error) return host;
  asio::io_context context;
  asio::ip::tcp::resolver resolver(context);
  auto results = resolver.resolve(host, "", error);
  if (error || results.empty()) throw std::runtime_error("cannot resolve " + host);
  return results.begin()->endpoint().address().to_string();
}

}  // namespace

namespace {

// SIGHUP's part for plans and rate limits: the file read again (with the environment's
// overrides, as at start); a file with errors changes nothing.
void reload_plans(api::Api& api, const Config& running, const std::string& config_path) {
  if (config_path.empty()) {
    log(LogLevel::info, "SIGHUP: no config file to reload (started without --config)");
    return;
  }
  ConfigResult reread = load_config(config_path);
  if (!reread.config) {
    std::string why;
    for (const std::string& error : reread.errors) why += (why.empty() ? "" : "; ") + error;
    log(LogLevel::error, "SIGHUP: the config file has errors, the plans in force stay", why);
    return;
  }
  bool changed = api.reload_limits(*reread.config);
  Config others = *reread.config;
  others.plans = running.plans;
  others.rate_limits = running.rate_limits;
  others.server.listen = running.server.listen;  // --listen and --data may differ from the file
  others.storage.path = running.storage.path;
  bool restart_needed = render_config(others) != render_config(running);
  log(LogLevel::info,
      changed ? "SIGHUP: plans and rate limits reloaded" : "SIGHUP: plans and rate limits unchanged",
      restart_needed ? "other keys changed in the file take effect at the next restart" : "");
}

}  // namespace

int serve(const Config& config, const std::string& config_path) {
  configure_log(config.log.level, config.log.format);
  set_failure_log([](Failure kind, std::string_view where, std::string_view detail) {
    log(LogLevel::error, "failure: " + std::string(to_string(kind)) + " in " + std::string(where),
        detail);
  });
  int shards = config.server.shards > 0 ? config.server.shards
                                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto endpoint = split_listen(config.server.listen);
  if (!endpoint) {
    log(LogLevel::error, "server.listen must be HOST:PORT", config.server.listen);
    return 2;
  }
  // Descriptors: storage's share first, so no number of idle connections can starve it.
  // The metrics port's descriptors are set aside with storage's.
  int metrics_descriptors = config.metrics.listen.empty() ? 0 : kMetricsDescriptors;
  // Storage's share: RocksDB's table files, or the PostgreSQL connections (each one's
  // socket and its duplicate for Asio; the LISTEN and blocking ones beside the pools).
  int storage_descriptors = config.storage.engine == "postgres"
                                ? 2 * (shards * config.storage.postgres.connections_per_shard + 3)
                                : config.storage.max_open_files;
  DescriptorBudget descriptors = plan_descriptors(
      config.server.max_connections, storage_descriptors + metrics_descriptors, shards);
  if (descriptors.connections < 1) {
    log(LogLevel::error, "the open-file limit leaves no room for connections",
        "limit " + std::to_string(descriptors.limit) + ", storage and shards need up to " +
            std::to_string(descriptors.reserved) +
            "; raise the limit (ulimit -n, LimitNOFILE=) or lower storage.max_open_files");
    return 1;
  }
  if (descriptors.connections < config.server.max_connections) {
    log(LogLevel::warn, "server.max_connections lowered to fit the open-file limit",
        std::to_string(config.server.max_connections) + " -> " +
            std::to_string(descriptors.connections) + ": the limit is " +
            std::to_string(descriptors.limit) + " descriptors and storage and shards need up to " +
            std::to_string(descriptors.reserved) + " (storage.max_open_files " +
            std::to_string(config.storage.max_open_files) + ")");
  }
  std::unique_ptr<Backend> backend = config.storage.engine == "postgres"
                                        ? open_postgres_backend(config, shards)
                                        : open_rocksdb_backend(config, shards);
  if (!backend) return 1;
  TaskEngine& engine = backend->engine();
  api::Api api(engine, backend->accounts(), config, [](std::string_view message, std::string_view detail) {
    log(LogLevel::warn, message, detail);
  });
  engine.set_retention([&api](const std::string& account) { return api.retention_ms(account); });
  http::ListenerLimits limits;
  limits.max_body_bytes = static_cast<std::uint64_t>(config.server.max_body_bytes);
  limits.max_header_bytes = static_cast<std::uint32_t>(config.server.max_header_bytes);
  limits.idle_timeout_seconds = config.server.idle_timeout_seconds;
  // Each shard takes its share of the connection bound: no counter is shared.
  limits.max_connections = std::max(1, (descriptors.connections + shards - 1) / shards);
  limits.move_after = config.server.move_connections_after;
  if (config.server.max_connections_per_ip > 0) {
    limits.per_address = std::make_shared<http::AddressCounts>(config.server.max_connections_per_ip);
  }
  if (!config.server.tls.cert.empty()) {
    limits.tls = std::make_shared<http::TlsContexts>(config.server.tls.cert, config.server.tls.key);
    if (std::string problem; !limits.tls->load(problem)) {
      log(LogLevel::error, "cannot serve HTTPS", problem);
      return 1;
    }
  }
  std::vector<std::unique_ptr<http::Listener>> listeners;
  unsigned short port = 0;
  std::string address;
  try {
    address = resolve_host(endpoint->host);
    port = endpoint->port;
    for (int i = 0; i < shards; ++i) {
      listeners.push_back(std::make_unique<http::Listener>(backend->context(i), api, limits, i));
      // Port 0: the first shard gets a free port and the others join it.
      port = listeners.back()->open(address, port);
    }
  } catch (const std::exception& failure) {
    log(LogLevel::error, "cannot listen on " + config.server.listen, failure.what());
    return 1;
  }
  // The metrics port: shard 0's, plain HTTP, a few connections (a scraper or two).
  std::unique_ptr<http::Handler> metrics_handler;
  std::unique_ptr<http::Listener> metrics_listener;
  if (!config.metrics.listen.empty()) {
    auto metrics_endpoint = split_listen(config.metrics.listen);
    http::ListenerLimits metrics_limits;
    metrics_limits.max_body_bytes = 4096;  // a scrape sends none; a stray POST gets its 405
    metrics_limits.max_header_bytes = limits.max_header_bytes;
    metrics_limits.idle_timeout_seconds = limits.idle_timeout_seconds;
    metrics_limits.max_connections = kMetricsConnections;
    metrics_limits.move_after = 0;
    try {
      if (!metrics_endpoint) throw std::runtime_error("expected HOST:PORT");
      metrics_handler = api.metrics_port();
      metrics_listener = std::make_unique<http::Listener>(backend->context(0), *metrics_handler,
                                                          metrics_limits, 0);
      unsigned short bound = metrics_listener->open(resolve_host(metrics_endpoint->host),
                                                    metrics_endpoint->port);
      metrics_listener->set_peers({metrics_listener.get()});
      log(LogLevel::info, "metrics listening",
          metrics_endpoint->host + ":" + std::to_string(bound));
    } catch (const std::exception& failure) {
      log(LogLevel::error, "cannot listen on metrics.listen " + config.metrics.listen, failure.what());
      return 1;
    }
  }
  std::vector<http::Listener*> peers;
  for (auto& listener : listeners) peers.push_back(listener.get());
  for (auto& listener : listeners) listener->set_peers(peers);
  api.set_max_connections(descriptors.connections);
  api.set_connection_stats([&listeners] {
    http::ConnectionStats stats;
    for (auto& listener : listeners) {
      stats.open += listener->live_connections();
      stats.moved += listener->moved_connections();
    }
    return stats;
  });
  // Taken before the first request can be answered: a supervisor that sends SIGTERM as
  // soon as the server answers must get a clean stop, not the default action. The set
  // keeps a signal that arrives before the wait below.
  asio::io_context signals_context;
  asio::signal_set signals(signals_context, SIGINT, SIGTERM, SIGHUP);
  backend->start();
  for (int i = 0; i < shards; ++i) {
    http::Listener* listener = listeners[i].get();
    asio::post(backend->context(i), [listener] { listener->start(); });
  }
  if (metrics_listener) {
    http::Listener* listener = metrics_listener.get();
    asio::post(backend->context(0), [listener] { listener->start(); });
  }
  log(LogLevel::info, "listening",
      (address.find(':') == std::string::npos ? address : "[" + address + "]") + ":" +
          std::to_string(port) + " shards=" + std::to_string(shards) +
          (config.storage.engine == "postgres" ? std::string(" storage=postgres")
                                               : " sync=" + std::string(to_string(config.storage.sync))) +
          (limits.tls ? " tls=on" : ""));

  // SIGHUP reads the TLS certificate and key again (a renewed certificate is used by the
  // connections that come after) and the config file's plans and rate limits; SIGINT and
  // SIGTERM stop the server.
  int received = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& error, int signal) {
        if (error) return;
        if (signal != SIGHUP) {
          received = signal;
          return;
        }
        reload_plans(api, config, config_path);
        if (!limits.tls) {
          log(LogLevel::info, "SIGHUP: no TLS certificate to reload (no server.tls)");
        } else if (std::string problem; limits.tls->load(problem)) {
          log(LogLevel::info, "SIGHUP: TLS certificate and key reloaded", config.server.tls.cert);
        } else {
          log(LogLevel::error, "SIGHUP: TLS reload failed, the certificate in use stays", problem);
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  signals_context.run();
  // From here a second SIGTERM / SIGINT gets the default action: immediate exit.
  signals.clear();
  log(LogLevel::info, "shutting down", "signal " + std::to_string(received));

  // Stop accepting, answer parked long polls, let in-flight requests finish.
  for (int i = 0; i < shards; ++i) {
    http::Listener* listener = listeners[i].get();
    asio::post(backend->context(i), [listener] { listener->drain(); });
  }
  if (metrics_listener) {
    http::Listener* listener = metrics_listener.get();
    asio::post(backend->context(0), [listener] { listener->drain(); });
  }
  backend->begin_shutdown();
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::seconds(config.server.shutdown_grace_seconds);
  for (;;) {
    bool drained = true;
    int live = 0;
    for (auto& listener : listeners) drained = drained && listener->drained();
    for (auto& listener : listeners) live += listener->live_connections();
    if (metrics_listener) {
      drained = drained && metrics_listener->drained();
      live += metrics_listener->live_connections();
    }
    if (drained && live == 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      // Requests still running hold coroutine frames that span shards; tearing the
      // shards down under them is unsafe. Write what is queued, then leave at once.
      log(LogLevel::warn, "closing connections still busy", std::to_string(live));
      backend->stop();
      backend->flush();
      log(LogLevel::info, "stopped");
      std::_Exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  backend->stop();
  listeners.clear();
  metrics_listener.reset();
  log(LogLevel::info, "stopped");
  return 0;
}

}  // namespace baton
