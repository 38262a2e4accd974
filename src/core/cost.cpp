#include "core/cost.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace baton {

namespace {

std::int64_t capped_sum(std::int64_t a, std::int64_t b) {
  return std::min(kMaxCostFigure, std::clamp<std::int64_t>(a, 0, kMaxCostFigure) +
                                      std::clamp<std::int64_t>(b, 0, kMaxCostFigure));
}

}  // namespace

void TaskCost::add(const TaskCost& o) {
  input_tokens = capped_sum(input_tokens, o.input_tokens);
  output_tokens = capped_sum(output_tokens, o.output_tokens);
  total_tokens = capped_sum(total_tokens, o.total_tokens);
  usd_nanos = capped_sum(usd_nanos, o.usd_nanos);
  cpu_time_ms = capped_sum(cpu_time_ms, o.cpu_time_ms);
  subrequests = capped_sum(subrequests, o.subrequests);
}

TaskCost cost_added(const TaskCost& before, const TaskCost& after) {
  auto less = [](std::int64_t b, std::int64_t a) { return std::max<std::int64_t>(0, a - b); };
  return TaskCost{less(before.input_tokens, after.input_tokens),
                  less(before.output_tokens, after.output_tokens),
                  less(before.total_tokens, after.total_tokens),
                  less(before.usd_nanos, after.usd_nanos),
                  less(before.cpu_time_ms, after.cpu_time_ms),
                  less(before.subrequests, after.subrequests)};
}

std::int64_t usd_to_nanos(double usd) {
  if (!(usd > 0)) return 0;  // NaN and negatives too: the caller checked, this is a guard
  return static_cast<std::int64_t>(std::llround(std::min(usd, kMaxUsd) * 1e9));
}

void append_usd(std::string& out, std::int64_t nanos) {
  if (nanos < 0) {
    out.push_back('-');
    nanos = -nanos;
  }
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, nanos / kNanosPerUsd).ptr;
  out.append(digits, end);
  std::int64_t fraction = nanos % kNanosPerUsd;
  if (fraction == 0) return;
  char decimals[10] = {'.', '0', '0', '0', '0', '0', '0', '0', '0', '0'};
  for (int i = 9; i >= 1; --i, fraction /= 10) decimals[i] = static_cast<char>('0' + fraction % 10);
  int last = 9;
  while (decimals[last] == '0') --last;
  out.append(decimals, static_cast<std::size_t>(last + 1));
}

}  // namespace baton
