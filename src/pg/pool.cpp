#include "pg/pool.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/errors.hpp"

namespace baton::pg {

namespace asio = boost::asio;

Lease::Lease(Pool& pool, std::unique_ptr<Connection> connection)
    : pool_(&pool), connection_(std::move(connection)) {}

Lease::~Lease() {
  if (connection_) pool_->give_back(std::move(connection_));
}

Pool::Pool(asio::io_context& io, std::string url, std::span<const Statement> statements, int size)
    : io_(io), url_(std::move(url)), statements_(statements), size_(size) {}

asio::awaitable<Lease> Pool::acquire() {
  if (abandoned_) throw StorageError("postgres: the engine is stopping");
  if (!idle_.empty()) {
    std::unique_ptr<Connection> connection = std::move(idle_.back());
    idle_.pop_back();
    co_return Lease(*this, std::move(connection));
  }
  if (open_ < size_) {
    std::string error;
    std::unique_ptr<Connection> connection;
    bool tried = std::chrono::steady_clock::now() >= retry_open_at_;
    if (tried) {
      // Its place is taken while it connects (the thread serves others meanwhile), so
      // that operations arriving then do not open more than `size`; given back however
      // the connect ends.
      struct Place {
        int& open;
        ~Place() { --open; }
      } place{++open_};
      connection = co_await Connection::connect(io_, url_, statements_, error);
    } else {
      error = last_open_error_;
    }
    if (abandoned_) throw StorageError("postgres: the engine is stopping");
    if (connection) {
      ++open_;
      co_return Lease(*this, std::move(connection));
    }
    if (tried) {
      last_open_error_ = error;
      retry_open_at_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    }
    if (open_ == 0) {
      // Nothing lent will come back: this fails, and so does the next waiter, in turn.
      wake_first_waiter();
      throw StorageError(error.starts_with("postgres: ") ? error : "postgres: " + error);
    }
    // Connections that work are lent: wait for one of them.
  }
  auto waiting = std::make_shared<Waiting>(io_);
  waiting_.push_back(waiting);
  boost::system::error_code ignored;
  co_await waiting->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  if (!waiting->handed) {
    // Woken without a connection: one was dropped (broken) or the pool is stopping.
    std::erase(waiting_, waiting);
    co_return co_await acquire();
  }
  co_return Lease(*this, std::move(waiting->handed));
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
  if (abandoned_) {
    --open_;
    return;  // closed here, while its io_context still exists
  }
  if (!connection->broken() && connection->in_transaction()) connection->roll_back_now();
  if (connection->broken()) {
    --open_;
    connection.reset();
    // Its place is free: the longest waiter may open a new one.
    wake_first_waiter();
    return;
  }
  if (!waiting_.empty()) {
    std::shared_ptr<Waiting> first = waiting_.front();
    waiting_.pop_front();
    first->handed = std::move(connection);
    first->timer.cancel();
    return;
  }
  idle_.push_back(std::move(connection));
}

void Pool::wake_first_waiter() {
  if (waiting_.empty()) return;
  waiting_.front()->timer.cancel();
  waiting_.pop_front();
}

void Pool::abandon() {
  abandoned_ = true;
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
  for (auto& waiting : waiting_) waiting->timer.cancel();
  waiting_.clear();
}

}  // namespace baton::pg
