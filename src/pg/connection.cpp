#include "pg/connection.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <libpq-fe.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/errors.hpp"
#include "pg/libpq.hpp"

namespace baton::pg {

namespace asio = boost::asio;

// ---- Params ----

Params& Params::text(std::string value) {
  lengths_.push_back(static_cast<int>(value.size()));
  values_.push_back(std::move(value));
  nulls_.push_back(false);
  formats_.push_back(0);
  return *this;
}

Params& Params::integer(std::int64_t value) { return text(std::to_string(value)); }

Params& Params::boolean(bool value) { return text(value ? "t" : "f"); }

Params& Params::bytes(std::string value) {
  text(std::move(value));
  formats_.back() = 1;
  return *this;
}

Params& Params::null() {
  text("");
  nulls_.back() = true;
  return *this;
}

std::vector<const char*> Params::pointers() const {
  std::vector<const char*> out;
  out.reserve(values_.size());
  for (std::size_t i = 0; i < values_.size(); ++i) {
    out.push_back(nulls_[i] ? nullptr : values_[i].data());
  }
  return out;
}

// ---- Result ----

Result::Result(pg_result* result) : result_(result) {}
Result::~Result() {
  if (result_) PQclear(result_);
}
Result::Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

bool Result::ok() const {
  if (!result_) return false;
  ExecStatusType status = PQresultStatus(result_);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

int Result::rows() const { return result_ ? PQntuples(result_) : 0; }

bool Result::is_null(int row, int column) const { return PQgetisnull(result_, row, column) == 1; }

std::string_view Result::bytes(int row, int column) const {
  return {PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t Result::integer(int row, int column) const {
  return big_endian_integer(bytes(row, column));
}

bool Result::boolean(int row, int column) const {
  std::string_view raw = bytes(row, column);
  return !raw.empty() && raw[0] != 0;
}

std::int64_t Result::affected() const {
  const char* count = result_ ? PQcmdTuples(result_) : "";
  return *count ? std::strtoll(count, nullptr, 10) : 0;
}

bool Result::is_pipeline_end() const {
  return result_ && PQresultStatus(result_) == PGRES_PIPELINE_SYNC;
}

std::string Result::error() const {
  if (ok()) return "";
  if (!result_) return "no result";
  if (PQresultStatus(result_) == PGRES_PIPELINE_ABORTED) return "skipped: an earlier statement failed";
  return PQresultErrorMessage(result_);
}

std::string Result::sqlstate() const {
  if (ok() || !result_) return "";
  const char* state = PQresultErrorField(result_, PG_DIAG_SQLSTATE);
  return state ? state : "";
}

// ---- Connection ----

namespace {

// A descriptor of libpq's socket for Asio to own (closing it never closes libpq's); -1
// with `error` set when there is none.
int duplicate_socket(pg_conn* conn, std::string& error) {
  int duplicate = ::fcntl(PQsocket(conn), F_DUPFD_CLOEXEC, 0);
  if (duplicate < 0) error = std::string("duplicating the socket: ") + std::strerror(errno);
  return duplicate;
}

}  // namespace

// The socket as Asio sees it: a duplicate of libpq's descriptor, so that Asio closing its
// own never closes libpq's.
struct Connection::Socket {
  asio::posix::stream_descriptor descriptor;
  Socket(asio::io_context& io, int duplicate) : descriptor(io, duplicate) {}
};

Connection::Connection(asio::io_context& io, pg_conn* conn, int duplicate)
    : conn_(conn), socket_(std::make_unique<Socket>(io, duplicate)) {}

Connection::~Connection() {
  socket_.reset();
  if (conn_) PQfinish(conn_);
}

asio::awaitable<std::unique_ptr<Connection>> Connection::connect(asio::io_context& io, const std::string& url,
                                                                 std::span<const Statement> statements,
                                                                 std::string& error) {
  using asio::experimental::awaitable_operators::operator||;
  using Descriptor = asio::posix::stream_descriptor;
  // Owned until a Connection takes it: a frame destroyed mid-connect (the engine stopping)
  // finishes it too.
  std::unique_ptr<pg_conn, decltype(&PQfinish)> conn(start_connection(url), &PQfinish);
  if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) {
    error = connection_error(conn.get());
    co_return nullptr;
  }
  // The whole open (the connection and the statements) within the connect timeout.
  asio::steady_timer deadline(io);
  deadline.expires_after(connect_timeout(conn.get()));
  PostgresPollingStatusType polled = PGRES_POLLING_WRITING;
  while (polled != PGRES_POLLING_OK) {
    if (polled == PGRES_POLLING_FAILED) {
      error = connection_error(conn.get());
      co_return nullptr;
    }
    // A descriptor of libpq's socket each time: it may move to another of the host's
    // addresses between polls.
    int duplicate = duplicate_socket(conn.get(), error);
    if (duplicate < 0) co_return nullptr;
    std::optional<Descriptor> socket;
    try {
      socket.emplace(io, duplicate);
    } catch (const std::exception& failure) {  // not registered: the descriptor is still ours
      ::close(duplicate);
      error = std::string("registering the socket: ") + failure.what();
      co_return nullptr;
    }
    bool timed_out = false;
    try {
      auto wait = polled == PGRES_POLLING_READING ? Descriptor::wait_read : Descriptor::wait_write;
      auto ready = co_await (socket->async_wait(wait, asio::use_awaitable) ||
                             deadline.async_wait(asio::use_awaitable));
      timed_out = ready.index() == 1;
    } catch (const std::exception& failure) {
      error = std::string("waiting for the server: ") + failure.what();
      co_return nullptr;
    }
    if (timed_out) {
      error = "timeout expired connecting to the server";
      co_return nullptr;
    }
    polled = PQconnectPoll(conn.get());
  }
  if (PQsetnonblocking(conn.get(), 1) != 0 || PQenterPipelineMode(conn.get()) != 1) {
    error = connection_error(conn.get());
    co_return nullptr;
  }
  int duplicate = duplicate_socket(conn.get(), error);
  if (duplicate < 0) co_return nullptr;
  std::unique_ptr<Connection> connection;
  try {
    connection.reset(new Connection(io, conn.get(), duplicate));
    conn.release();
  } catch (const std::exception& failure) {  // Asio could not register the socket
    ::close(duplicate);
    error = std::string("registering the socket: ") + failure.what();
    co_return nullptr;
  }
  if (statements.empty()) co_return connection;
  // Every statement prepared in one round trip.
  for (const Statement& statement : statements) {
    if (PQsendPrepare(connection->conn_, std::string(statement.name).c_str(),
                      std::string(statement.sql).c_str(), 0, nullptr) == 0) {
      error = connection_error(connection->conn_);
      co_return nullptr;
    }
  }
  std::vector<Result> prepared;
  try {
    auto answered = co_await (connection->finish(statements.size()) || deadline.async_wait(asio::use_awaitable));
    if (answered.index() == 0) {
      prepared = std::move(std::get<0>(answered));
    } else {
      error = "timeout expired preparing the statements";
    }
  } catch (const std::exception& failure) {
    error = failure.what();
  }
  if (!error.empty()) co_return nullptr;
  for (std::size_t i = 0; i < prepared.size(); ++i) {
    if (!prepared[i].ok()) {
      error = "preparing " + std::string(statements[i].name) + ": " + prepared[i].error();
      co_return nullptr;
    }
  }
  co_return connection;
}

bool Connection::in_transaction() const {
  PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status != PQTRANS_IDLE;
}

void Connection::roll_back_now() {
  if (broken_) return;
  // Answers still in flight (a pipeline cut short): not worth draining; the pool opens a
  // new connection in its place.
  if (PQtransactionStatus(conn_) == PQTRANS_ACTIVE || PQexitPipelineMode(conn_) != 1) {
    broken_ = true;
    return;
  }
  // PQexec blocks whatever the non-blocking setting; a rollback is one short round trip.
  Result done(PQexec(conn_, "ROLLBACK"));
  if (!done.ok() || PQstatus(conn_) != CONNECTION_OK || PQenterPipelineMode(conn_) != 1) {
    broken_ = true;
  }
}

asio::awaitable<void> Connection::flush() {
  using asio::experimental::awaitable_operators::operator||;
  using Descriptor = asio::posix::stream_descriptor;
  for (;;) {
    int pending = PQflush(conn_);
    if (pending == 0) co_return;
    if (pending < 0) {
      broken_ = true;
      throw StorageError("postgres: " + connection_error(conn_));
    }
    // A long pipeline: the server may be answering its first statements while this still
    // sends, and stop reading until its answers are read. Waiting only to write could wait
    // for ever; answers that come first are read into libpq's buffer.
    auto ready = co_await (socket_->descriptor.async_wait(Descriptor::wait_write, asio::use_awaitable) ||
                           socket_->descriptor.async_wait(Descriptor::wait_read, asio::use_awaitable));
    if (ready.index() == 1 && PQconsumeInput(conn_) == 0) {
      broken_ = true;
      throw StorageError("postgres: " + connection_error(conn_));
    }
  }
}

asio::awaitable<void> Connection::readable() {
  // PQgetResult blocks while libpq is busy, whatever the non-blocking setting: wait here
  // until the next result is in.
  for (;;) {
    if (PQconsumeInput(conn_) == 0) {
      broken_ = true;
      throw StorageError("postgres: " + connection_error(conn_));
    }
    if (PQisBusy(conn_) == 0) co_return;
    co_await socket_->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                            asio::use_awaitable);
  }
}

asio::awaitable<std::vector<Result>> Connection::finish(std::size_t statements) {
  if (PQpipelineSync(conn_) == 0) {
    broken_ = true;
    throw StorageError("postgres: " + connection_error(conn_));
  }
  co_await flush();
  std::vector<Result> results;
  results.reserve(statements);
  for (std::size_t i = 0; i < statements; ++i) {
    // Each statement gives its result, then null; an error's result is the one to keep.
    Result kept;
    bool failed = false;
    for (;;) {
      co_await readable();
      pg_result* next = PQgetResult(conn_);
      if (!next) break;
      Result result(next);
      if (failed) continue;
      failed = !result.ok();
      kept = std::move(result);
    }
    results.push_back(std::move(kept));
  }
  // The pipeline's end; a lost connection ends it without one.
  co_await readable();
  Result end(PQgetResult(conn_));
  if (!end.is_pipeline_end() || PQstatus(conn_) != CONNECTION_OK) {
    broken_ = true;
    throw StorageError("postgres: " + connection_error(conn_));
  }
  co_return results;
}

void Connection::send(const Step& step) {
  int sent = 0;
  if (step.params) {
    std::vector<const char*> values = step.params->pointers();
    sent = PQsendQueryPrepared(conn_, std::string(step.statement).c_str(), step.params->size(),
                               values.data(), step.params->lengths().data(),
                               step.params->formats().data(), 1);
  } else {
    sent = PQsendQueryParams(conn_, std::string(step.statement).c_str(), 0, nullptr, nullptr,
                             nullptr, nullptr, 1);
  }
  if (sent == 0) {
    broken_ = true;
    throw StorageError("postgres: " + connection_error(conn_));
  }
}

asio::awaitable<std::vector<Result>> Connection::pipeline(std::vector<Step> steps) {
  if (broken_) throw StorageError("postgres: connection lost");
  for (const Step& step : steps) send(step);
  co_return co_await finish(steps.size());
}

asio::awaitable<Result> Connection::run(std::string_view statement, const Params& params) {
  if (broken_) throw StorageError("postgres: connection lost");
  send(Step{statement, &params});
  std::vector<Result> results = co_await finish(1);
  co_return std::move(results.front());
}

asio::awaitable<Result> Connection::exec(std::string_view sql) {
  if (broken_) throw StorageError("postgres: connection lost");
  send(Step{sql});
  std::vector<Result> results = co_await finish(1);
  co_return std::move(results.front());
}

asio::awaitable<void> Connection::wait_notifications(
    const std::function<void(std::string_view, std::string_view)>& deliver) {
  // What came with the last answer first: it is already read, and the socket may stay quiet.
  for (;;) {
    while (PGnotify* notification = PQnotifies(conn_)) {
      deliver(notification->relname, notification->extra);
      PQfreemem(notification);
    }
    co_await socket_->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                            asio::use_awaitable);
    if (PQconsumeInput(conn_) == 0) {
      broken_ = true;
      throw StorageError("postgres: " + connection_error(conn_));
    }
  }
}

}  // namespace baton::pg
