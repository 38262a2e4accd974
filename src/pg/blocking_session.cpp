#include "pg/blocking_session.hpp"

#include <libpq-fe.h>

#include <cstdlib>

#include "core/errors.hpp"
#include "pg/libpq.hpp"

namespace baton::pg {

BlockingParams& BlockingParams::text(std::string value) {
  values.push_back(std::move(value));
  formats.push_back(0);
  return *this;
}

BlockingParams& BlockingParams::bytes(std::string value) {
  text(std::move(value));
  formats.back() = 1;
  return *this;
}

Answer::Answer(pg_result* result) : result_(result) {}

Answer::~Answer() {
  if (result_) PQclear(result_);
}

Answer::Answer(Answer&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }

bool Answer::ok() const {
  ExecStatusType status = result_ ? PQresultStatus(result_) : PGRES_FATAL_ERROR;
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

std::string Answer::error() const { return result_ ? PQresultErrorMessage(result_) : ""; }

int Answer::rows() const { return result_ ? PQntuples(result_) : 0; }

std::string Answer::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t Answer::integer(int row, int column) const {
  return big_endian_integer(text(row, column));
}

std::int64_t Answer::affected() const {
  const char* count = result_ ? PQcmdTuples(result_) : "";
  return *count ? std::strtoll(count, nullptr, 10) : 0;
}

BlockingSession::~BlockingSession() {
  if (conn_) PQfinish(conn_);
}

pg_conn* BlockingSession::connection() {
  if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
  if (conn_) PQfinish(conn_);
  conn_ = open_connection(url_);
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string why = connection_error(conn_);
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw StorageError("postgres: " + why);
  }
  return conn_;
}

void BlockingSession::check(const Answer& answer) {
  if (answer.ok()) return;
  std::string why = answer.error();
  throw StorageError("postgres: " + (why.empty() ? connection_error(conn_) : why));
}

Answer BlockingSession::run(const std::string& sql, const BlockingParams& params) {
  std::lock_guard lock(mutex_);
  pg_conn* conn = connection();
  std::vector<const char*> values;
  std::vector<int> lengths;
  for (const std::string& value : params.values) {
    values.push_back(value.data());
    lengths.push_back(static_cast<int>(value.size()));
  }
  Answer answer(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), lengths.data(), params.formats.data(), 1));
  check(answer);
  return answer;
}

void BlockingSession::run_script(const std::string& sql) {
  std::lock_guard lock(mutex_);
  pg_conn* conn = connection();
  // PQexec runs every statement of the text; the answer is the last one's, or the
  // first failure's (the rest are not run).
  Answer answer(PQexec(conn, sql.c_str()));
  check(answer);
}

}  // namespace baton::pg
