#include "pg/libpq.hpp"

#include <libpq-fe.h>

#include <array>

namespace baton::pg {

pg_conn* open_connection(const std::string& url) {
  // The URL is the dbname entry, expanded: its settings override the ones before it.
  std::array<const char*, 10> keywords = {"connect_timeout", "keepalives", "keepalives_idle",
                                          "keepalives_interval", "keepalives_count", "options",
                                          "application_name", "dbname", nullptr};
  std::array<const char*, 10> values = {"5", "1", "30", "10", "3",
                                        "-c idle_in_transaction_session_timeout=60000",
                                        "baton", url.c_str(), nullptr};
  return PQconnectdbParams(keywords.data(), values.data(), 1);
}

std::string connection_error(const pg_conn* conn) {
  std::string text = conn ? PQerrorMessage(conn) : "out of memory";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::int64_t big_endian_integer(std::string_view raw) {
  std::int64_t value = (!raw.empty() && static_cast<signed char>(raw[0]) < 0) ? -1 : 0;
  for (unsigned char byte : raw) {
    value = static_cast<std::int64_t>((static_cast<std::uint64_t>(value) << 8) | byte);
  }
  return value;
}

}  // namespace baton::pg
