#pragma once
// One libpq connection, driven without blocking from the io_context of the thread that
// owns it: statements are sent, then the coroutine waits on the socket (registered with
// Asio) until the answers are in. Only the owning thread uses it. Statements are prepared
// once, when the connection is opened, and run by name with their parameters as text
// (bytea as binary); answers come back in binary, so integers and bytea need no parsing.
// The connection stays in libpq's pipeline mode: statements whose parameters do not depend
// on each other's answers (BEGIN and the row's lock; the write, the idempotency record and
// COMMIT) go out together and cost one round trip.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace baton::pg {

// A statement the connection prepares when it opens.
struct Statement {
  std::string_view name;
  std::string_view sql;
};

// A statement's parameters, in order.
class Params {
 public:
  Params& text(std::string value);
  Params& integer(std::int64_t value);
  Params& boolean(bool value);
  Params& bytes(std::string value);  // sent as binary: for bytea columns
  Params& null();

  int size() const { return static_cast<int>(values_.size()); }
  // libpq's arrays, valid while this object lives unchanged.
  std::vector<const char*> pointers() const;
  const std::vector<int>& lengths() const { return lengths_; }
  const std::vector<int>& formats() const { return formats_; }

 private:
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// A statement's answer (binary format). Owns the libpq result.
class Result {
 public:
  Result() = default;
  explicit Result(pg_result* result);
  ~Result();
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  bool ok() const;  // the statement succeeded (with or without rows)
  int rows() const;
  bool is_null(int row, int column) const;
  std::string_view bytes(int row, int column) const;  // text and bytea columns
  std::string text(int row, int column) const { return std::string(bytes(row, column)); }
  std::int64_t integer(int row, int column) const;    // smallint, integer, bigint
  bool boolean(int row, int column) const;
  std::int64_t affected() const;  // rows an INSERT, UPDATE or DELETE touched
  bool is_pipeline_end() const;   // the marker that ends a pipeline's answers
  std::string error() const;      // "" when ok
  std::string sqlstate() const;   // "" when ok, e.g. "23505" for a unique violation

 private:
  pg_result* result_ = nullptr;
};

// One statement of a pipeline: a prepared statement with its parameters, or SQL text
// without parameters (BEGIN, COMMIT). The parameters must outlive the pipeline's run.
struct Step {
  std::string_view statement;
  const Params* params = nullptr;  // null: `statement` is SQL text
};

class Connection {
 public:
  // Connects without blocking the thread, within the connect timeout, and prepares
  // `statements` in one round trip. Null with `error` set when the server cannot be
  // reached in time or a statement does not prepare. `error` must start empty.
  static boost::asio::awaitable<std::unique_ptr<Connection>> connect(boost::asio::io_context& io,
                                                                     const std::string& url,
                                                                     std::span<const Statement> statements,
                                                                     std::string& error);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs a prepared statement. A lost connection throws StorageError and leaves the
  // connection broken(); an SQL error is a Result that is not ok().
  boost::asio::awaitable<Result> run(std::string_view statement, const Params& params);
  // Runs SQL text with no parameters (BEGIN, COMMIT, LISTEN).
  boost::asio::awaitable<Result> exec(std::string_view sql);
  // Sends `steps` together and reads their answers, one per step, in order: one round trip.
  // After a statement fails, PostgreSQL skips the rest up to the pipeline's end (their
  // results are not ok()); in an open transaction, that transaction has failed.
  boost::asio::awaitable<std::vector<Result>> pipeline(std::vector<Step> steps);
  // Hands each notification's channel and payload to `deliver`, for as long as the
  // connection lives (the LISTEN connection's loop). Throws StorageError when it is lost.
  boost::asio::awaitable<void> wait_notifications(
      const std::function<void(std::string_view channel, std::string_view payload)>& deliver);

  bool broken() const { return broken_; }
  // In a transaction (or a failed one) after a statement was cut short: not reusable as is.
  bool in_transaction() const;
  // Blocking ROLLBACK, for a connection given back with its transaction open.
  void roll_back_now();

 private:
  Connection(boost::asio::io_context& io, pg_conn* conn, int duplicate);
  boost::asio::awaitable<void> readable();
  void send(const Step& step);
  boost::asio::awaitable<std::vector<Result>> finish(std::size_t statements);
  boost::asio::awaitable<void> flush();

  struct Socket;
  pg_conn* conn_ = nullptr;
  std::unique_ptr<Socket> socket_;
  bool broken_ = false;
};

}  // namespace baton::pg
