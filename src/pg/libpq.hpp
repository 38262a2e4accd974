#pragma once
// What every use of libpq here shares: how a connection is opened, and how a binary
// integer column reads.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

struct pg_conn;

namespace baton::pg {

// Opens a connection to `url` (a libpq connection string or URI), blocking. Baton's own
// defaults come first and whatever the URL sets wins over them: a 5 s connect timeout,
// TCP keepalives (a silent partition is noticed in about a minute instead of two hours),
// a 60 s bound on a transaction left idle (a stalled node cannot hold a row lock for
// ever) and application_name "baton". Null only when out of memory; check its status.
pg_conn* open_connection(const std::string& url);
// The same, started without blocking (PQconnectStartParams): PQconnectPoll finishes it,
// and the caller bounds it by connect_timeout(), which libpq leaves to the caller then.
pg_conn* start_connection(const std::string& url);
std::chrono::seconds connect_timeout(pg_conn* conn);
// libpq's last error on `conn`, without its trailing newline.
std::string connection_error(const pg_conn* conn);
// A smallint, integer or bigint column in binary format: big-endian, as wide as its type.
std::int64_t big_endian_integer(std::string_view raw);

}  // namespace baton::pg
