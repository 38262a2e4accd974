#pragma once
// Writing the Prometheus text exposition format (version 0.0.4): metric families with
// their HELP and TYPE lines, label values escaped, histograms with cumulative buckets.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/histogram.hpp"

namespace baton::prometheus {

using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

// "# HELP name help\n# TYPE name type\n"
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help);
// name{labels} value
void sample(std::string& out, std::string_view name, const Labels& labels, double value);
void sample(std::string& out, std::string_view name, const Labels& labels, std::uint64_t value);
// name_bucket{labels,le=…} for each bound and +Inf, name_sum, name_count; `divisor` turns
// the snapshot's unit into the metric's (1e6: microseconds to seconds).
void histogram(std::string& out, std::string_view name, const Labels& labels,
               const HistogramSnapshot& snapshot, double divisor);
// A label value as the format wants it: backslash, double quote and newline escaped.
std::string escape(std::string_view value);

}  // namespace baton::prometheus
