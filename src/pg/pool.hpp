#pragma once
// A thread's connections to PostgreSQL: at most `size`, opened as needed, lent to one
// operation at a time. Only the owning thread touches it, so it takes no lock. When every
// connection is lent, operations queue and a connection given back goes to the one that
// has waited longest. After an open fails, operations that find no connection open fail
// at once for a second instead of each waiting out a connect timeout of its own; while
// some are open, they wait for one of those.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pg/connection.hpp"

namespace baton::pg {

class Pool;

// A lent connection, given back when this goes: a transaction left open (an operation
// cut short by an exception) is rolled back first, a broken connection is dropped.
class Lease {
 public:
  Lease(Pool& pool, std::unique_ptr<Connection> connection);
  ~Lease();
  Lease(Lease&& other) noexcept = default;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Connection& operator*() { return *connection_; }
  Connection* operator->() { return connection_.get(); }

 private:
  Pool* pool_;
  std::unique_ptr<Connection> connection_;
};

class Pool {
 public:
  Pool(boost::asio::io_context& io, std::string url, std::span<const Statement> statements,
       int size);
  // Throws StorageError when no connection can be opened.
  boost::asio::awaitable<Lease> acquire();
  // Closes the idle connections and drops every one given back from now on: for the
  // engine's stop, before the io_context their sockets belong to goes.
  void abandon();

 private:
  friend class Lease;
  struct Waiting {
    explicit Waiting(boost::asio::io_context& io) : timer(io, boost::asio::steady_timer::time_point::max()) {}
    boost::asio::steady_timer timer;
    std::unique_ptr<Connection> handed;  // set by give_back, then the timer cancelled
  };
  void give_back(std::unique_ptr<Connection> connection);
  // Without a connection: it tries to open one itself, or fails.
  void wake_first_waiter();

  boost::asio::io_context& io_;
  std::string url_;
  std::span<const Statement> statements_;
  int size_;
  int open_ = 0;  // lent and idle
  bool abandoned_ = false;
  std::chrono::steady_clock::time_point retry_open_at_{};
  std::string last_open_error_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::deque<std::shared_ptr<Waiting>> waiting_;
};

}  // namespace baton::pg
