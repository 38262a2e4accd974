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

Pool::Pool(asio::io_context& io, std::string conninfo, std::span<const Statement> statements,
           int size)
    : io_(io), conninfo_(std::move(conninfo)), statements_(statements), size_(size) {}

asio::awaitable<Lease> Pool::acquire() {
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      co_return Lease(*this, std::move(connection));
    }
    if (open_ < size_) {
      std::string error;
      // Blocking: a connection is opened once and kept; this thread waits for it only
      // at its first operations and after the server was lost.
      std::unique_ptr<Connection> connection = Connection::open(io_, conninfo_, statements_, error);
      if (!connection) throw StorageError("postgres: " + error);
      ++open_;
      co_return Lease(*this, std::move(connection));
    }
    auto timer = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
    waiting_.push_back(timer);
    boost::system::error_code ignored;
    co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
  if (!connection->broken() && connection->in_transaction()) connection->roll_back_now();
  if (connection->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  if (!waiting_.empty()) {
    waiting_.front()->cancel();
    waiting_.pop_front();
  }
}

}  // namespace baton::pg
