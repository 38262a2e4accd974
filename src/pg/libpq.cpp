#include "pg/libpq.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace baton::pg {

namespace {

// The URL is the dbname entry, expanded: its settings override the ones before it.
constexpr std::array<const char*, 10> kKeywords = {"connect_timeout", "keepalives", "keepalives_idle",
                                                   "keepalives_interval", "keepalives_count", "options",
                                                   "application_name", "dbname", nullptr};

std::array<const char*, 10> values_for(const std::string& url) {
  return {"5", "1", "30", "10", "3", "-c idle_in_transaction_session_timeout=60000", "baton", url.c_str(),
          nullptr};
}

}  // namespace

pg_conn* open_connection(const std::string& url) {
  auto values = values_for(url);
  return PQconnectdbParams(kKeywords.data(), values.data(), 1);
}

pg_conn* start_connection(const std::string& url) {
  auto values = values_for(url);
  return PQconnectStartParams(kKeywords.data(), values.data(), 1);
}

std::chrono::seconds connect_timeout(pg_conn* conn) {
  long seconds = 5;
  if (PQconninfoOption* options = PQconninfo(conn)) {
    for (PQconninfoOption* option = options; option->keyword; ++option) {
      if (std::string_view(option->keyword) == "connect_timeout" && option->val) {
        seconds = std::strtol(option->val, nullptr, 10);
      }
    }
    PQconninfoFree(options);
  }
  // libpq's own rule: 0 or less waits for ever, and less than 2 is 2.
  return std::chrono::seconds(seconds <= 0 ? 24L * 3600 : std::max(2L, seconds));
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
