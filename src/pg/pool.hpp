#pragma once
// A thread's connections to PostgreSQL: at most `size`, opened as needed, lent to one
// operation at a time. Only the owning thread touches it, so it takes no lock; an
// operation that finds every connection lent waits, first come first served.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

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
  Lease(Lease&&) noexcept = default;
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
  Pool(boost::asio::io_context& io, std::string conninfo, std::span<const Statement> statements,
       int size);
  // Throws StorageError when no connection can be opened.
  boost::asio::awaitable<Lease> acquire();
  int open_connections() const { return open_; }

 private:
  friend class Lease;
  void give_back(std::unique_ptr<Connection> connection);

  boost::asio::io_context& io_;
  std::string conninfo_;
  std::span<const Statement> statements_;
  int size_;
  int open_ = 0;  // lent and idle
  std::vector<std::unique_ptr<Connection>> idle_;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> waiting_;
};

}  // namespace baton::pg
