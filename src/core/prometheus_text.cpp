#include "core/prometheus_text.hpp"

#include <charconv>
#include <cmath>

namespace baton::prometheus {

namespace {

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buffer[400];  // the longest fixed double
  // Fixed, not scientific: "0.0001" as Prometheus itself writes bucket bounds.
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed);
  out.append(buffer, error == std::errc() ? end : buffer);
}

void append_labels(std::string& out, const Labels& labels, std::string_view le = {}) {
  if (labels.empty() && le.empty()) return;
  out.push_back('{');
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out.push_back(',');
    first = false;
    out.append(name).append("=\"").append(escape(value)).push_back('"');
  }
  if (!le.empty()) {
    if (!first) out.push_back(',');
    out.append("le=\"").append(le).push_back('"');
  }
  out.push_back('}');
}

}  // namespace

std::string escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '"') {
      out.append("\\\"");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).push_back(' ');
  for (char c : help) {  // HELP escapes backslash and newline only
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  out.append("\n# TYPE ").append(name).push_back(' ');
  out.append(type).push_back('\n');
}

void sample(std::string& out, std::string_view name, const Labels& labels, double value) {
  out.append(name);
  append_labels(out, labels);
  out.push_back(' ');
  append_double(out, value);
  out.push_back('\n');
}

void sample(std::string& out, std::string_view name, const Labels& labels, std::uint64_t value) {
  out.append(name);
  append_labels(out, labels);
  out.push_back(' ');
  out.append(std::to_string(value));
  out.push_back('\n');
}

void histogram(std::string& out, std::string_view name, const Labels& labels,
               const HistogramSnapshot& snapshot, double divisor) {
  std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < snapshot.bounds.size(); ++i) {
    cumulative += i < snapshot.counts.size() ? snapshot.counts[i] : 0;
    std::string le;
    append_double(le, static_cast<double>(snapshot.bounds[i]) / divisor);
    out.append(bucket);
    append_labels(out, labels, le);
    out.push_back(' ');
    out.append(std::to_string(cumulative)).push_back('\n');
  }
  out.append(bucket);
  append_labels(out, labels, "+Inf");
  out.push_back(' ');
  out.append(std::to_string(snapshot.count)).push_back('\n');
  sample(out, std::string(name) + "_sum", labels, static_cast<double>(snapshot.sum) / divisor);
  sample(out, std::string(name) + "_count", labels, snapshot.count);
}

}  // namespace baton::prometheus
