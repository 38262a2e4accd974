#include "core/cron_zone.hpp"

#include <date/tz.h>

namespace baton {

namespace {

// An IANA name's shape: words of letters, digits, '_', '+' and '-' joined by '/'. Files
// of the tz directory that are no zone (zone1970.tab, SECURITY, leapseconds) have a dot
// or are refused by the database, and no name reaches outside it.
bool zone_name_shaped(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
  char previous = '/';
  for (char c : name) {
    bool word = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '+' || c == '-';
    if (!word && !(c == '/' && previous != '/')) return false;
    previous = c;
  }
  return true;
}

}  // namespace

const date::time_zone* find_time_zone(std::string_view name) {
  if (!zone_name_shaped(name)) return nullptr;
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::optional<Millis> next_cron_fire(const CronSpec& spec, const date::time_zone& zone, Millis after) {
  using std::chrono::seconds;
  using std::chrono::milliseconds;
  date::sys_seconds after_s = date::floor<seconds>(date::sys_time<milliseconds>(milliseconds(after)));
  std::int64_t local = zone.to_local(after_s).time_since_epoch().count();
  // A local time before `after` can match again after a fall-back; such candidates are
  // passed over. Bounded: a day holds at most 86 400 of them.
  for (int tries = 0; tries < 200'000; ++tries) {
    std::optional<std::int64_t> next = next_cron_second(spec, local);
    if (!next) return std::nullopt;
    date::local_seconds candidate{seconds(*next)};
    date::local_info info = zone.get_info(candidate);
    date::sys_seconds at;
    if (info.result == date::local_info::unique) {
      at = date::sys_seconds{candidate.time_since_epoch() - info.first.offset};
    } else if (info.result == date::local_info::nonexistent) {
      at = info.first.end;  // the gap's end: the first instant after the skipped times
    } else {
      at = date::sys_seconds{candidate.time_since_epoch() - info.first.offset};  // first occurrence
    }
    Millis at_ms = std::chrono::duration_cast<milliseconds>(at.time_since_epoch()).count();
    if (at_ms > after) return at_ms;
    local = *next;
  }
  return std::nullopt;
}

}  // namespace baton
