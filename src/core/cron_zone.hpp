#pragma once
// When a cron schedule fires, as instants: its expression read on the wall clock of an
// IANA time zone (the system's tz database, /usr/share/zoneinfo, read by Howard
// Hinnant's date library, which C++20's <chrono> zones are drawn from).
//
// Daylight saving: a local time the clock skips (spring forward) fires at the instant the
// gap ends, once; a local time the clock passes twice (fall back) fires at its first
// occurrence only. So each local time the expression names fires exactly once a day.
#include <optional>
#include <string>
#include <string_view>

#include "core/cron.hpp"
#include "core/time.hpp"

namespace date {
class time_zone;
}

namespace baton {

// The zone of that IANA name ("UTC", "Europe/Berlin"), or nullptr when the database has
// none.
const date::time_zone* find_time_zone(std::string_view name);

// The first instant strictly after `after` (Unix milliseconds) at which `spec` fires in
// `zone`; nullopt when it never does within five years.
std::optional<Millis> next_cron_fire(const CronSpec& spec, const date::time_zone& zone, Millis after);

}  // namespace baton
