#pragma once
// Cron expressions: five fields (minute hour day-of-month month day-of-week), or six with
// a leading seconds field; `*`, lists, ranges, steps (`*/15`, `1-30/5`, `5/10`), month and
// weekday names (JAN, MON), weekday 7 as Sunday, and the macros @yearly (@annually),
// @monthly, @weekly, @daily (@midnight) and @hourly. As in Vixie cron, when both
// day-of-month and day-of-week are restricted a day matching either fires. Pure: times
// here are local civil seconds (seconds since 1970-01-01T00:00 of the schedule's zone's
// wall clock); core/cron_zone turns them into instants.
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace baton {

struct CronSpec {
  std::bitset<60> seconds;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;      // 1-31
  std::bitset<13> months;    // 1-12
  std::bitset<7> weekdays;   // 0 (Sunday) - 6
  bool days_restricted = false;      // the day-of-month field was not `*`
  bool weekdays_restricted = false;  // nor the day-of-week field
  bool has_seconds = false;          // six fields
};

// The expression parsed, or what is wrong with it (a sentence for a 400).
std::variant<CronSpec, std::string> parse_cron(std::string_view text);

// Whether the civil date (year, month 1-12, day 1-31) is one the spec fires on.
bool cron_day_matches(const CronSpec& spec, int year, unsigned month, unsigned day);

// The first local civil second strictly after `after` that the spec fires at, looking at
// most `max_days` days ahead (nullopt: none, e.g. "0 0 30 2 *").
std::optional<std::int64_t> next_cron_second(const CronSpec& spec, std::int64_t after,
                                             int max_days = 366 * 5);

}  // namespace baton
