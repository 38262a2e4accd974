#pragma once
// What `serve` runs on: a TaskEngine and an AccountStore, and the threads (one io_context
// per shard) that serve connections and run the engine's operations. storage.engine picks
// the implementation: RocksDB in the data directory, or a shared PostgreSQL database.
#include <boost/asio/io_context.hpp>

#include <memory>

#include "config/config.hpp"
#include "engine/account_store.hpp"
#include "engine/task_engine.hpp"

namespace baton {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual TaskEngine& engine() = 0;
  virtual AccountStore& accounts() = 0;
  virtual boost::asio::io_context& context(int shard) = 0;
  virtual void start() = 0;
  // Parked long polls answer now; operations in flight go on.
  virtual void begin_shutdown() = 0;
  virtual void stop() = 0;
  // Before an exit that does not wait for operations in flight: what is acknowledged is
  // made durable where the backend has not done so yet.
  virtual void flush() = 0;
};

// Each opens (and recovers, or migrates) its storage, logging why when it cannot: null then.
std::unique_ptr<Backend> open_rocksdb_backend(const Config& config, int shards);
std::unique_ptr<Backend> open_postgres_backend(const Config& config, int shards);

}  // namespace baton
