#include "api/router.hpp"

#include <array>
#include <span>
#include <stdexcept>

namespace baton::api {

namespace {

// Splits "/a/b/c" into {"a", "b", "c"}; "/" gives {""}.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.empty() || path.front() != '/') return parts;
  std::size_t start = 1;
  for (;;) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) {
      parts.push_back(path.substr(start));
      return parts;
    }
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
}

// The most segments a row's path may have (checked when the router is built).
constexpr std::size_t kMaxSegments = 8;

bool is_field(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string_view field_name(std::string_view segment) { return segment.substr(1, segment.size() - 2); }

// -1 when `pattern` does not match `parts`, else its number of literal segments.
int literal_match(const std::vector<std::string_view>& pattern,
                  std::span<const std::string_view> parts) {
  if (pattern.size() != parts.size()) return -1;
  int literals = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (is_field(pattern[i])) {
      if (parts[i].empty()) return -1;
    } else if (pattern[i] != parts[i]) {
      return -1;
    } else {
      ++literals;
    }
  }
  return literals;
}

}  // namespace

Router::Router(const std::vector<Operation>& table) {
  for (const Operation& operation : table) {
    rows_.push_back({&operation, segments(operation.path)});
    if (rows_.back().pattern.size() > kMaxSegments) {
      throw std::logic_error("operation path with too many segments: " + std::string(operation.path));
    }
  }
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch match;
  // The request's segments on the stack: no row has more than kMaxSegments, so a longer
  // path matches none. This runs for every request; it allocates nothing until a row is
  // chosen.
  std::array<std::string_view, kMaxSegments> parts;
  std::size_t count = 0;
  if (path.empty() || path.front() != '/') return match;
  for (std::size_t start = 1;; ++count) {
    if (count == kMaxSegments) return match;
    std::size_t end = path.find('/', start);
    parts[count] = path.substr(start, end == std::string_view::npos ? path.npos : end - start);
    if (end == std::string_view::npos) {
      ++count;
      break;
    }
    start = end + 1;
  }
  const Row* chosen = nullptr;
  int best = -1;
  for (const Row& row : rows_) {
    if (row.pattern.size() != count) continue;
    int literals = literal_match(row.pattern, {parts.data(), count});
    if (literals < 0 || literals < best) continue;
    if (literals > best) {
      best = literals;
      chosen = nullptr;
    }
    match.path_known = true;
    const Operation& operation = *row.operation;
    bool method_ok = method == operation.method || (method == "HEAD" && operation.method == "GET");
    if (method_ok && !chosen) chosen = &row;
  }
  if (!chosen && match.path_known) {  // a 405: name the methods the path takes
    for (const Row& row : rows_) {
      if (row.pattern.size() != count || literal_match(row.pattern, {parts.data(), count}) != best) {
        continue;
      }
      if (!match.allowed.empty()) match.allowed += ", ";
      match.allowed += row.operation->method;
      if (row.operation->method == "GET") match.allowed += ", HEAD";
    }
  }
  if (chosen) {
    match.operation = chosen->operation;
    for (std::size_t i = 0; i < count; ++i) {
      if (is_field(chosen->pattern[i])) {
        match.path_fields.emplace_back(field_name(chosen->pattern[i]), std::string(parts[i]));
      }
    }
  }
  return match;
}

std::string fill_path(const Operation& operation, const Input& input) {
  std::string out;
  for (std::string_view segment : segments(operation.path)) {
    out.push_back('/');
    if (!is_field(segment)) {
      out += segment;
      continue;
    }
    for (const FieldSpec& field : operation.fields) {
      if (field.name == field_name(segment)) out += input.string(field.name, field.alias).value_or("");
    }
  }
  return out;
}

}  // namespace baton::api
