#define BOOST_TEST_MODULE cron
#include <boost/test/unit_test.hpp>

#include <date/tz.h>

#include "core/cron.hpp"
#include "core/cron_zone.hpp"

// Cron expressions and when they fire, on local wall clocks and across daylight saving.

using namespace baton;

namespace {

CronSpec spec_of(std::string_view text) {
  auto parsed = parse_cron(text);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<CronSpec>(parsed),
                        text << ": " << (std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : ""));
  return std::get<CronSpec>(parsed);
}

std::string problem_of(std::string_view text) {
  auto parsed = parse_cron(text);
  return std::holds_alternative<std::string>(parsed) ? std::get<std::string>(parsed) : "";
}

// Local civil seconds of a date and time.
std::int64_t at(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  date::local_seconds t = date::local_days{date::year{y} / date::month{m} / date::day{d}} +
                          std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s};
  return t.time_since_epoch().count();
}

Millis utc(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  date::sys_seconds t = date::sys_days{date::year{y} / date::month{m} / date::day{d}} +
                        std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{s};
  return t.time_since_epoch().count() * 1000;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fields_ranges_steps_lists_and_names) {
  CronSpec s = spec_of("*/15 9-17 * JAN-mar mon-FRI");
  BOOST_TEST(!s.has_seconds);
  BOOST_TEST(s.seconds.count() == 1u);
  BOOST_TEST(s.minutes.count() == 4u);
  BOOST_TEST(s.minutes.test(45));
  BOOST_TEST(s.hours.count() == 9u);
  BOOST_TEST(s.months.test(1));
  BOOST_TEST(s.months.test(3));
  BOOST_TEST(!s.months.test(4));
  BOOST_TEST(s.weekdays.count() == 5u);
  BOOST_TEST(!s.weekdays.test(0));
  CronSpec six = spec_of("30 5/20 1,2,3 1-31/10 * 7");
  BOOST_TEST(six.has_seconds);
  BOOST_TEST(six.seconds.test(30));
  BOOST_TEST(six.minutes.count() == 3u);  // 5, 25, 45
  BOOST_TEST(six.minutes.test(25));
  BOOST_TEST(six.days.test(1));
  BOOST_TEST(six.days.test(31));
  BOOST_TEST(six.days.count() == 4u);  // 1, 11, 21, 31
  BOOST_TEST(six.weekdays.test(0));    // 7 is Sunday
  BOOST_TEST(spec_of("@hourly").minutes.test(0));
  BOOST_TEST(spec_of("@daily").hours.count() == 1u);
  BOOST_TEST(spec_of("  0   12 * * *  ").hours.test(12));
}

BOOST_AUTO_TEST_CASE(bad_expressions_say_what_is_wrong) {
  BOOST_TEST(problem_of("* * * *").find("5 fields") != std::string::npos);
  BOOST_TEST(problem_of("* * * * * * *").find("got 7") != std::string::npos);
  BOOST_TEST(problem_of("60 * * * *").find("minute") != std::string::npos);
  BOOST_TEST(problem_of("* 24 * * *").find("hour") != std::string::npos);
  BOOST_TEST(problem_of("* * 0 * *").find("day-of-month") != std::string::npos);
  BOOST_TEST(problem_of("* * * 13 *").find("month") != std::string::npos);
  BOOST_TEST(problem_of("* * * * 8").find("day-of-week") != std::string::npos);
  BOOST_TEST(problem_of("*/0 * * * *").find("step") != std::string::npos);
  BOOST_TEST(problem_of("5-1 * * * *") != "");
  BOOST_TEST(problem_of("1,,2 * * * *").find("empty") != std::string::npos);
  BOOST_TEST(problem_of("a * * * *") != "");
  BOOST_TEST(problem_of("* * * FOO *") != "");
  BOOST_TEST(problem_of("@reboot") != "");
  BOOST_TEST(problem_of(std::string(300, '*')) != "");
  BOOST_TEST(problem_of("") != "");
}

BOOST_AUTO_TEST_CASE(next_second_walks_fields_with_carries) {
  CronSpec every15 = spec_of("*/15 * * * *");
  BOOST_TEST(*next_cron_second(every15, at(2026, 12, 31, 23, 50)) == at(2027, 1, 1, 0, 0));
  BOOST_TEST(*next_cron_second(every15, at(2026, 5, 1, 10, 0)) == at(2026, 5, 1, 10, 15));
  BOOST_TEST(*next_cron_second(every15, at(2026, 5, 1, 10, 14, 59)) == at(2026, 5, 1, 10, 15));
  CronSpec secs = spec_of("*/20 * * * * *");
  BOOST_TEST(*next_cron_second(secs, at(2026, 5, 1, 10, 0, 0)) == at(2026, 5, 1, 10, 0, 20));
  BOOST_TEST(*next_cron_second(secs, at(2026, 5, 1, 10, 0, 59)) == at(2026, 5, 1, 10, 1, 0));
  // Leap day.
  CronSpec feb29 = spec_of("0 0 29 2 *");
  BOOST_TEST(*next_cron_second(feb29, at(2026, 3, 1)) == at(2028, 2, 29));
  // Never: February 30th.
  BOOST_TEST(!next_cron_second(spec_of("0 0 30 2 *"), at(2026, 1, 1)).has_value());
  // Day-of-month and day-of-week both restricted: either fires (Vixie cron).
  CronSpec either = spec_of("0 0 13 * FRI");
  BOOST_TEST(*next_cron_second(either, at(2026, 3, 1)) == at(2026, 3, 6));   // a Friday
  BOOST_TEST(*next_cron_second(either, at(2026, 3, 12)) == at(2026, 3, 13));  // the 13th
  // A field starting with '*' is not a restriction (Vixie cron): */2 days AND Mondays.
  CronSpec stepped = spec_of("0 0 */2 * MON");
  BOOST_TEST(!stepped.days_restricted);
  BOOST_TEST(*next_cron_second(stepped, at(2026, 12, 6)) == at(2026, 12, 7));   // Mon the 7th
  BOOST_TEST(*next_cron_second(stepped, at(2026, 12, 7)) == at(2026, 12, 21));  // Mon the 21st
  // Only the weekday restricted: that weekday alone.
  BOOST_TEST(*next_cron_second(spec_of("0 9 * * 1"), at(2026, 12, 6)) == at(2026, 12, 7, 9));
  BOOST_TEST(cron_day_matches(spec_of("0 0 * * 4"), 1970, 1, 1));  // a Thursday
}

BOOST_AUTO_TEST_CASE(zones_are_found_by_iana_name) {
  BOOST_TEST(find_time_zone("UTC") != nullptr);
  BOOST_TEST(find_time_zone("Europe/Berlin") != nullptr);
  BOOST_TEST(find_time_zone("America/New_York") != nullptr);
  BOOST_TEST(find_time_zone("Mars/Olympus") == nullptr);
  BOOST_TEST(find_time_zone("") == nullptr);
  BOOST_TEST(find_time_zone("../../etc/passwd") == nullptr);
  BOOST_TEST(find_time_zone("zone1970.tab") == nullptr);  // a file of the tz directory, no zone
  BOOST_TEST(find_time_zone("zonenow.tab") == nullptr);
  BOOST_TEST(find_time_zone("Europe//Berlin") == nullptr);
  BOOST_TEST(find_time_zone("/Europe/Berlin") == nullptr);
  BOOST_TEST(find_time_zone("Etc/GMT+5") != nullptr);
  BOOST_TEST(find_time_zone("America/Port-au-Prince") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_zone_shifts_the_wall_clock) {
  const date::time_zone& berlin = *find_time_zone("Europe/Berlin");
  // 09:00 in Berlin is 08:00 UTC in winter, 07:00 in summer.
  CronSpec nine = spec_of("0 9 * * *");
  BOOST_TEST(*next_cron_fire(nine, berlin, utc(2026, 1, 15, 12)) == utc(2026, 1, 16, 8));
  BOOST_TEST(*next_cron_fire(nine, berlin, utc(2026, 7, 15, 12)) == utc(2026, 7, 16, 7));
  const date::time_zone& tokyo = *find_time_zone("Asia/Tokyo");
  BOOST_TEST(*next_cron_fire(nine, tokyo, utc(2026, 1, 15, 0, 0, 0)) == utc(2026, 1, 16, 0));
  // Strictly after: a firing instant is not its own next.
  BOOST_TEST(*next_cron_fire(nine, berlin, utc(2026, 1, 16, 8)) == utc(2026, 1, 17, 8));
  BOOST_TEST(*next_cron_fire(nine, berlin, utc(2026, 1, 16, 8) - 1) == utc(2026, 1, 16, 8));
}

BOOST_AUTO_TEST_CASE(a_skipped_local_time_fires_once_when_the_gap_ends) {
  // Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
  const date::time_zone& berlin = *find_time_zone("Europe/Berlin");
  CronSpec half_past_two = spec_of("30 2 * * *");
  BOOST_TEST(*next_cron_fire(half_past_two, berlin, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1));
  BOOST_TEST(*next_cron_fire(half_past_two, berlin, utc(2026, 3, 29, 1)) == utc(2026, 3, 30, 0, 30));
  // Every 15 minutes: 01:45 CET, then once at the gap's end, then 03:15 CEST.
  CronSpec every15 = spec_of("*/15 * * * *");
  Millis t = utc(2026, 3, 29, 0, 30);  // 01:30 CET
  std::vector<Millis> fired;
  for (int i = 0; i < 4; ++i) fired.push_back(t = *next_cron_fire(every15, berlin, t));
  BOOST_TEST(fired[0] == utc(2026, 3, 29, 0, 45));
  BOOST_TEST(fired[1] == utc(2026, 3, 29, 1, 0));   // 03:00 CEST: the gap's end, once
  BOOST_TEST(fired[2] == utc(2026, 3, 29, 1, 15));
  BOOST_TEST(fired[3] == utc(2026, 3, 29, 1, 30));
  // New York, 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC).
  const date::time_zone& ny = *find_time_zone("America/New_York");
  BOOST_TEST(*next_cron_fire(spec_of("15 2 * * *"), ny, utc(2026, 3, 7, 12)) == utc(2026, 3, 8, 7));
}

BOOST_AUTO_TEST_CASE(a_repeated_local_time_fires_at_its_first_occurrence_only) {
  // Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30 and
  // 01:30 UTC.
  const date::time_zone& berlin = *find_time_zone("Europe/Berlin");
  CronSpec half_past_two = spec_of("30 2 * * *");
  Millis first = *next_cron_fire(half_past_two, berlin, utc(2026, 10, 24, 12));
  BOOST_TEST(first == utc(2026, 10, 25, 0, 30));
  BOOST_TEST(*next_cron_fire(half_past_two, berlin, first) == utc(2026, 10, 26, 1, 30));
  // Started during the second pass of 02:xx: 02:30 was already fired; the next is 03:00.
  CronSpec hourly_half = spec_of("0,30 * * * *");
  BOOST_TEST(*next_cron_fire(hourly_half, berlin, utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 2, 0));
  // Every 30 minutes through the repeated hour: each local time once.
  Millis t = utc(2026, 10, 24, 23, 45);  // 01:45 CEST
  std::vector<Millis> fired;
  for (int i = 0; i < 4; ++i) fired.push_back(t = *next_cron_fire(hourly_half, berlin, t));
  BOOST_TEST(fired[0] == utc(2026, 10, 25, 0, 0));   // 02:00 CEST
  BOOST_TEST(fired[1] == utc(2026, 10, 25, 0, 30));  // 02:30 CEST
  BOOST_TEST(fired[2] == utc(2026, 10, 25, 2, 0));   // 03:00 CET (02:00 and 02:30 CET passed over)
  BOOST_TEST(fired[3] == utc(2026, 10, 25, 2, 30));
}
