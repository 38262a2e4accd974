// Usage reports (spec section 9, seed 002): an account's tasks by what happened to them,
// read from the usage rows the shards write with the transitions they count, so they
// match the tasks stored and survive restarts.
#include <algorithm>
#include <charconv>
#include <map>

#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"

namespace baton::api {

namespace asio = boost::asio;

std::optional<Millis> parse_time(std::string_view text) {
  constexpr Millis kLast = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z
  std::optional<Millis> at = parse_rfc3339(text);
  if (!at) {
    Millis ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc() && end == text.data() + text.size()) at = ms;
  }
  if (!at || *at < 0 || *at > kLast) return std::nullopt;
  return at;
}

namespace {

constexpr std::int64_t kMaxHourlyPoints = 31 * 24;
constexpr std::int64_t kMaxDailyPoints = 366;

struct Range {
  Millis since = 0, until = 0;
};

// since/until of the call, defaulting to `since_default` .. now; "" or the 400's message.
std::string read_range(const Call& call, Millis since_default, Range& range) {
  Millis now = wall_now_ms();
  range = {since_default, now};
  for (auto [name, into] : {std::pair{"since", &range.since}, std::pair{"until", &range.until}}) {
    if (auto text = call.input.string(name)) {
      auto at = parse_time(*text);
      if (!at) {
        return std::string(name) +
               " must be an RFC 3339 time or epoch milliseconds, from 1970 to 9999";
      }
      *into = *at;
    }
  }
  if (range.until < range.since) return "until must not be before since";
  return "";
}

std::int64_t first_hour(Millis since) { return usage_hour(since); }
std::int64_t end_hour(Millis until) { return usage_hour(until) + 1; }  // the hour of `until` too

void append_counts(std::string& out, const UsageCounts& c) {
  auto field = [&](std::string_view name, std::int64_t value) {
    out.push_back('"');
    out.append(name);
    out.append("\":");
    out.append(std::to_string(value));
    out.push_back(',');
  };
  field("created", c.created);
  field("claimed", c.claimed);
  field("completed", c.completed);
  field("failed", c.failed);
  field("dead_lettered", c.dead_lettered);
  field("cancelled", c.cancelled);
  field("mean_wait_ms", c.claimed > 0 ? c.wait_ms_total / c.claimed : 0);
  out.append("\"mean_run_ms\":");
  out.append(std::to_string(c.runs > 0 ? c.run_ms_total / c.runs : 0));
  out.append(",\"cost\":");
  append_cost(out, c.cost);
}

void append_range(std::string& out, std::int64_t from_hour, std::int64_t until_hour) {
  out.append("\"period\":{\"start\":\"").append(format_rfc3339(from_hour * kUsageHourMs));
  out.append("\",\"end\":\"").append(format_rfc3339(until_hour * kUsageHourMs)).append("\"}");
}

Result usage_answer(std::string out) {
  out.append(",\"agent_contract\":");
  append_contract(out, contract_after_registration());
  out.push_back('}');
  return json_result(200, std::move(out));
}

Millis month_start(Millis now) { return month_first_hour(usage_month(now)) * kUsageHourMs; }

}  // namespace

asio::awaitable<Result> get_usage(Services& services, Call& call) {
  Range range;
  if (std::string bad = read_range(call, month_start(wall_now_ms()), range); !bad.empty()) {
    co_return error_result(call, ErrorCode::invalid_request, std::move(bad));
  }
  std::int64_t from = first_hour(range.since), until = end_hour(range.until);
  UsageCounts total;
  for (const UsageRow& row : services.engine.usage(call.account, from, until)) total.add(row.counts);
  std::string out = "{\"accountId\":";
  append_json_string(out, call.account);
  out.push_back(',');
  append_range(out, from, until);
  out.append(",\"totals\":{");
  append_counts(out, total);
  out.append("},\"quota\":{\"tasks_per_month\":");
  out.append(call.plan.tasks_per_month > 0 ? std::to_string(call.plan.tasks_per_month) : "null");
  out.append(",\"created_this_month\":");
  out.append(std::to_string(services.engine.created_this_month(call.account)));
  out.append("},\"workers_in_use\":");
  out.append(std::to_string(services.engine.leases_in_use(call.account)));
  co_return usage_answer(std::move(out));
}

asio::awaitable<Result> get_usage_timeseries(Services& services, Call& call) {
  bool daily = call.input.string("bucket").value_or("hour") == "day";
  std::int64_t hours_per_point = daily ? 24 : 1;
  std::int64_t max_points = daily ? kMaxDailyPoints : kMaxHourlyPoints;
  Millis now = wall_now_ms();
  Millis default_since = daily ? now - 30LL * 24 * kUsageHourMs : now - 23 * kUsageHourMs;
  Range range;
  if (std::string bad = read_range(call, default_since, range); !bad.empty()) {
    co_return error_result(call, ErrorCode::invalid_request, std::move(bad));
  }
  std::int64_t from = first_hour(range.since), until = end_hour(range.until);
  if (daily) {
    from -= from % 24;
    until += (24 - until % 24) % 24;
  }
  std::int64_t points = (until - from) / hours_per_point;
  if (points > max_points) {
    co_return error_result(call, ErrorCode::invalid_request,
                           "since..until spans " + std::to_string(points) + " " +
                               (daily ? "days" : "hours") + "; at most " +
                               std::to_string(max_points) + " points are answered");
  }
  std::vector<UsageCounts> buckets(static_cast<std::size_t>(points));
  for (const UsageRow& row : services.engine.usage(call.account, from, until)) {
    buckets[static_cast<std::size_t>((row.hour - from) / hours_per_point)].add(row.counts);
  }
  std::string out = "{\"bucket\":";
  out.append(daily ? "\"day\"," : "\"hour\",");
  append_range(out, from, until);
  out.append(",\"points\":[");
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (i) out.push_back(',');
    out.append("{\"start\":\"");
    out.append(format_rfc3339((from + static_cast<std::int64_t>(i) * hours_per_point) * kUsageHourMs));
    out.append("\",");
    append_counts(out, buckets[i]);
    out.push_back('}');
  }
  out.push_back(']');
  co_return usage_answer(std::move(out));
}

asio::awaitable<Result> get_usage_breakdown(Services& services, Call& call) {
  Range range;
  if (std::string bad = read_range(call, month_start(wall_now_ms()), range); !bad.empty()) {
    co_return error_result(call, ErrorCode::invalid_request, std::move(bad));
  }
  std::int64_t from = first_hour(range.since), until = end_hour(range.until);
  std::map<std::string, UsageCounts> by_type;
  for (const UsageRow& row : services.engine.usage(call.account, from, until)) {
    by_type[row.type].add(row.counts);
  }
  std::string out = "{";
  append_range(out, from, until);
  out.append(",\"types\":[");
  bool first = true;
  for (const auto& [type, counts] : by_type) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"type\":");
    append_json_string(out, type);
    out.push_back(',');
    append_counts(out, counts);
    out.push_back('}');
  }
  out.push_back(']');
  co_return usage_answer(std::move(out));
}

}  // namespace baton::api
