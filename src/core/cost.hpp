#pragma once
// What a task's work cost, as its worker reports it (seed 004's CostBreakdown): tokens,
// dollars, CPU time and subrequests. Each report adds to the task's sum. Dollars are kept
// as whole nano-dollars, so sums are exact and the same however the reports were split;
// every figure saturates at kMaxCostFigure instead of wrapping.
#include <cstdint>
#include <string>

namespace baton {

inline constexpr std::int64_t kNanosPerUsd = 1'000'000'000;
// The largest figure a sum holds (about 9.2e15; a thousandth of int64's range), and so
// the largest one report may carry: no sum of reports can overflow on its way there.
inline constexpr std::int64_t kMaxCostFigure = 9'223'372'036'854'775;
// The largest estimated_cost_usd one report (or a budget) may give: kMaxCostFigure nanos.
inline constexpr double kMaxUsd = 9'000'000.0;

struct TaskCost {
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t total_tokens = 0;
  std::int64_t usd_nanos = 0;  // estimated_cost_usd, in 1e-9 dollars
  std::int64_t cpu_time_ms = 0;
  std::int64_t subrequests = 0;

  // Adds `other` figure by figure, each sum capped at kMaxCostFigure (figures are >= 0).
  void add(const TaskCost& other);
  bool empty() const { return *this == TaskCost{}; }
  bool operator==(const TaskCost&) const = default;
};

// What was reported between two sums of one task: `after` minus `before`, figure by figure
// (never below 0: a sum only grows).
TaskCost cost_added(const TaskCost& before, const TaskCost& after);

// `usd` (finite, 0 <= usd <= kMaxUsd) as nano-dollars, rounded to the nearest.
std::int64_t usd_to_nanos(double usd);
// Nano-dollars as a JSON number with no more decimals than it needs: 20400000 -> 0.0204.
void append_usd(std::string& out, std::int64_t nanos);

}  // namespace baton
