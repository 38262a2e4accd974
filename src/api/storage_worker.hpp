#pragma once
// The api's own storage writes (accounts and keys) are synced, and an fsync on a shard
// thread would stall every connection of that shard for the disk's latency: tenths of a
// millisecond here, tens on an SD card, and registration is open to anyone by default.
// They run on this one thread instead (one thread: a revocation's read-modify-write never
// races another), and the calling coroutine resumes on its own executor. Snapshots, which
// block for seconds, have a worker of their own (Services::backups).
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>

#include "core/storage_status.hpp"

namespace boost::asio { class thread_pool; }

namespace baton::api {

class StorageWorker {
 public:
  explicit StorageWorker(const char* thread_name);  // at most 15 characters (Linux)
  ~StorageWorker();  // runs what is queued, then joins
  StorageWorker(const StorageWorker&) = delete;
  StorageWorker& operator=(const StorageWorker&) = delete;

  // Runs `work` on the worker thread; returns its result.
  boost::asio::awaitable<StorageStatus> run(std::function<StorageStatus()> work);
  // Runs `work` on the worker thread, which leaves its result where `work` says.
  boost::asio::awaitable<void> run(std::function<void()> work);

 private:
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace baton::api
