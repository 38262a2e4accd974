#pragma once
// One PostgreSQL connection for the calls that must answer without a coroutine (the
// AccountStore interface, the engine's synchronous counts, the schema's migration):
// statements run blocking, one at a time under a lock, and the connection is opened again
// after it is lost. An SQL error or a lost server throws StorageError (answered 503), as a
// RocksDB fault does.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct pg_conn;
struct pg_result;

namespace baton::pg {

// Parameters sent as text, bytea ones as binary.
struct BlockingParams {
  std::vector<std::string> values;
  std::vector<int> formats;

  BlockingParams& text(std::string value);
  BlockingParams& integer(std::int64_t value) { return text(std::to_string(value)); }
  BlockingParams& bytes(std::string value);
};

// A statement's answer, in binary format.
class Answer {
 public:
  explicit Answer(pg_result* result);
  ~Answer();
  Answer(Answer&& other) noexcept;
  Answer(const Answer&) = delete;
  Answer& operator=(const Answer&) = delete;
  Answer& operator=(Answer&&) = delete;

  bool ok() const;
  std::string error() const;  // "" when there is no result (the connection says why)
  int rows() const;
  std::string text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  std::int64_t affected() const;  // rows an INSERT, UPDATE or DELETE touched

 private:
  pg_result* result_;
};

class BlockingSession {
 public:
  explicit BlockingSession(std::string url) : url_(std::move(url)) {}
  ~BlockingSession();
  BlockingSession(const BlockingSession&) = delete;
  BlockingSession& operator=(const BlockingSession&) = delete;

  Answer run(const std::string& sql, const BlockingParams& params = {});
  // Several statements without parameters, in one round trip (a migration's script).
  void run_script(const std::string& sql);

 private:
  pg_conn* connection();  // under mutex_
  void check(const Answer& answer);

  std::string url_;
  std::mutex mutex_;
  pg_conn* conn_ = nullptr;
};

}  // namespace baton::pg
