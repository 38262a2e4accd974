#include "core/cron.hpp"

#include <array>
#include <charconv>
#include <vector>

namespace baton {

namespace {

struct Field {
  std::string_view name;
  int low, high;
  const std::array<std::string_view, 13>* names;  // index = value; "" where none
};

constexpr std::array<std::string_view, 13> kMonthNames = {
    "", "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 13> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                        "SAT", "",    "",    "",    "",    "", ""};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::optional<int> value_of(std::string_view token, const Field& field) {
  if (token.empty()) return std::nullopt;
  if (field.names) {
    std::string name = upper(token);
    for (std::size_t i = 0; i < field.names->size(); ++i) {
      if (!(*field.names)[i].empty() && (*field.names)[i] == name) return static_cast<int>(i);
    }
  }
  int value = 0;
  auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (error != std::errc() || end != token.data() + token.size()) return std::nullopt;
  return value;
}

// Sets the values `text` names in `bits` (as many as field.high + 1); "" or the problem.
template <std::size_t N>
std::string parse_field(std::string_view text, const Field& field, std::bitset<N>& bits,
                        bool& restricted) {
  // As Vixie cron: a field that starts with '*' ("*", "*/2") restricts nothing for the
  // day-of-month / day-of-week rule.
  restricted = !text.starts_with('*') && !text.starts_with('?');
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view part = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    std::string bad = "cron " + std::string(field.name) + " field: '" + std::string(part) + "' ";
    if (part.empty()) return bad + "is empty";
    int step = 1;
    std::size_t slash = part.find('/');
    std::string_view range = part.substr(0, slash);
    if (slash != std::string_view::npos) {
      std::optional<int> parsed = value_of(part.substr(slash + 1), Field{field.name, 1, 0, nullptr});
      if (!parsed || *parsed < 1 || *parsed > field.high + 1) {
        return bad + "has a bad step (1 to " + std::to_string(field.high + 1) + ")";
      }
      step = *parsed;
    }
    int low = field.low, high = field.high;
    if (range == "*" || range == "?") {
      // the whole range
    } else {
      std::size_t dash = range.find('-');
      std::optional<int> first = value_of(range.substr(0, dash), field);
      std::optional<int> last = dash == std::string_view::npos ? first : value_of(range.substr(dash + 1), field);
      int top = field.high + (field.name == "day-of-week" ? 1 : 0);  // 7 is Sunday too
      if (!first || !last || *first < field.low || *last > top || *first > *last) {
        return bad + "is not a value or range within " + std::to_string(field.low) + "-" +
               std::to_string(top);
      }
      low = *first;
      // "5/10": from 5 to the end, every 10.
      high = dash == std::string_view::npos && slash != std::string_view::npos ? field.high : *last;
    }
    for (int v = low; v <= high; v += step) bits.set(static_cast<std::size_t>(v == 7 && field.name == "day-of-week" ? 0 : v));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return {};
}

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

std::string_view expand_macro(std::string_view text) {
  if (text == "@yearly" || text == "@annually") return "0 0 1 1 *";
  if (text == "@monthly") return "0 0 1 * *";
  if (text == "@weekly") return "0 0 * * 0";
  if (text == "@daily" || text == "@midnight") return "0 0 * * *";
  if (text == "@hourly") return "0 * * * *";
  return {};
}

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::variant<CronSpec, std::string> parse_cron(std::string_view text) {
  if (text.size() > 200) return std::string("cron expression longer than 200 characters");
  if (std::string_view macro = expand_macro(text); !macro.empty()) text = macro;
  std::vector<std::string_view> fields = split_spaces(text);
  if (fields.size() != 5 && fields.size() != 6) {
    return std::string("cron expression needs 5 fields (minute hour day-of-month month "
                       "day-of-week) or 6 with a leading seconds field; got ") +
           std::to_string(fields.size());
  }
  CronSpec spec;
  spec.has_seconds = fields.size() == 6;
  std::size_t at = 0;
  bool ignored = false;
  std::string problem;
  if (spec.has_seconds) {
    problem = parse_field(fields[at++], Field{"second", 0, 59, nullptr}, spec.seconds, ignored);
  } else {
    spec.seconds.set(0);
  }
  if (problem.empty()) problem = parse_field(fields[at++], Field{"minute", 0, 59, nullptr}, spec.minutes, ignored);
  if (problem.empty()) problem = parse_field(fields[at++], Field{"hour", 0, 23, nullptr}, spec.hours, ignored);
  if (problem.empty()) {
    problem = parse_field(fields[at++], Field{"day-of-month", 1, 31, nullptr}, spec.days, spec.days_restricted);
  }
  if (problem.empty()) problem = parse_field(fields[at++], Field{"month", 1, 12, &kMonthNames}, spec.months, ignored);
  if (problem.empty()) {
    problem = parse_field(fields[at++], Field{"day-of-week", 0, 6, &kDayNames}, spec.weekdays,
                          spec.weekdays_restricted);
  }
  if (!problem.empty()) return problem;
  return spec;
}

bool cron_day_matches(const CronSpec& spec, int year, unsigned month, unsigned day) {
  if (!spec.months.test(month)) return false;
  std::int64_t days = days_from_civil(year, month, day);
  unsigned weekday = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
  bool by_day = spec.days.test(day);
  bool by_weekday = spec.weekdays.test(weekday);
  if (spec.days_restricted && spec.weekdays_restricted) return by_day || by_weekday;
  return by_day && by_weekday;
}

std::optional<std::int64_t> next_cron_second(const CronSpec& spec, std::int64_t after, int max_days) {
  std::int64_t from = after + 1;
  std::int64_t day = floor_div(from, 86400);
  std::int64_t second_of_day = from - day * 86400;
  for (int looked = 0; looked <= max_days; ++looked, ++day, second_of_day = 0) {
    std::int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(day, y, m, d);
    if (!cron_day_matches(spec, static_cast<int>(y), m, d)) continue;
    int h0 = static_cast<int>(second_of_day / 3600);
    for (int h = h0; h < 24; ++h) {
      if (!spec.hours.test(static_cast<std::size_t>(h))) continue;
      int m0 = h == h0 ? static_cast<int>(second_of_day % 3600 / 60) : 0;
      for (int mi = m0; mi < 60; ++mi) {
        if (!spec.minutes.test(static_cast<std::size_t>(mi))) continue;
        int s0 = h == h0 && mi == m0 ? static_cast<int>(second_of_day % 60) : 0;
        for (int s = s0; s < 60; ++s) {
          if (spec.seconds.test(static_cast<std::size_t>(s))) return day * 86400 + h * 3600 + mi * 60 + s;
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace baton
