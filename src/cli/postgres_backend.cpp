// The shared backend: PostgreSQL (storage.engine: postgres; docs/scale-out.md).
#include "cli/backend.hpp"
#include "cli/log.hpp"
#include "pg/account_store.hpp"
#include "pg/engine.hpp"
#include "pg/schema.hpp"

namespace baton {

namespace {

class PostgresBackend final : public Backend {
 public:
  explicit PostgresBackend(pg::PgOptions options)
      : accounts_(options.url), engine_(watching_accounts(std::move(options))) {}

  TaskEngine& engine() override { return engine_; }
  AccountStore& accounts() override { return accounts_; }
  boost::asio::io_context& context(int shard) override { return engine_.context(shard); }
  void start() override { engine_.start(); }
  void begin_shutdown() override { engine_.begin_shutdown(); }
  void stop() override { engine_.stop(); }
  // Every acknowledged change was committed by PostgreSQL before it was answered.
  void flush() override {}

 private:
  // The engine's sweeper sees other nodes' changes to keys, plans and budgets; the
  // account store tells whoever watches it (the api, which empties its caches of keys).
  pg::PgOptions watching_accounts(pg::PgOptions options) {
    options.accounts_changed = [this] { accounts_.changed_elsewhere(); };
    return options;
  }

  pg::PgAccountStore accounts_;
  pg::PgEngine engine_;
};

}  // namespace

std::unique_ptr<Backend> open_postgres_backend(const Config& config, int shards) {
  const Config::Storage::Postgres& postgres = config.storage.postgres;
  if (std::string problem = pg::migrate(postgres.url); !problem.empty()) {
    log(LogLevel::error, "cannot open storage (postgres)", problem);
    return nullptr;
  }
  pg::PgOptions options;
  options.url = postgres.url;
  options.threads = shards;
  options.connections_per_thread = postgres.connections_per_shard;
  options.notify = postgres.wake == "notify";
  options.poll_interval_ms = postgres.poll_interval_ms;
  options.sweep_interval_ms = postgres.sweep_interval_ms;
  options.backoff = {config.tasks.retry_backoff_base_seconds, config.tasks.retry_backoff_max_seconds};
  options.task_history_kept = config.tasks.history_kept;
  options.purge_interval_seconds = config.tasks.purge_interval_seconds;
  options.purge_batch = config.tasks.purge_batch;
  log(LogLevel::info, "storage opened (postgres)",
      "schema version " + std::to_string(pg::kSchemaVersion) + ", wake: " + postgres.wake);
  return std::make_unique<PostgresBackend>(std::move(options));
}

}  // namespace baton
