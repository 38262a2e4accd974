#include "api/input.hpp"

#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include <charconv>
#include <cmath>

#include "core/limits.hpp"

namespace baton::api {

namespace json = boost::json;

namespace {

std::string range_message(std::string_view name, const FieldSpec& field) {
  std::string message =
      std::string(name) + (field.type == FieldType::number ? " must be a number" : " must be an integer");
  if (field.minimum && field.maximum) {
    message += " from " + std::to_string(*field.minimum) + " to " + std::to_string(*field.maximum);
  } else if (field.minimum) {
    message += " of at least " + std::to_string(*field.minimum);
  }
  return message;
}

std::string length_message(std::string_view name, const FieldSpec& field) {
  if (field.minimum && *field.minimum > 0) {
    return std::string(name) + " must be " + std::to_string(*field.minimum) + " to " +
           std::to_string(field.maximum.value_or(0)) + " characters";
  }
  return std::string(name) + " must be at most " + std::to_string(field.maximum.value_or(0)) +
         " characters";
}

// Integral numbers in any JSON spelling (3, 3.0, 1e3); nullopt for anything else.
std::optional<std::int64_t> as_integer(const json::value& value) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64()) {
    if (value.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(value.get_uint64());
  }
  if (value.is_double()) {
    double d = value.get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.0e15) {
      return static_cast<std::int64_t>(d);
    }
  }
  return std::nullopt;
}

// Equal JSON, or (integer fields) the same integer however spelled: 2 and 2.0.
bool same_value(const FieldSpec& field, const json::value& a, const json::value& b) {
  if (a == b) return true;
  if (field.type == FieldType::number) {
    return a.is_number() && b.is_number() && a.to_number<double>() == b.to_number<double>();
  }
  if (field.type != FieldType::integer) return false;
  auto x = as_integer(a), y = as_integer(b);
  return x && y && *x == *y;
}

std::string check_fields(const std::vector<FieldSpec>& fields, const json::object& values);

std::string check_value(const FieldSpec& field, const json::value& value) {
  std::string_view name = field.name;
  switch (field.type) {
    case FieldType::integer: {
      auto number = as_integer(value);
      if (!number) return std::string(name) + " must be an integer";
      if ((field.minimum && *number < *field.minimum) ||
          (field.maximum && *number > *field.maximum)) {
        return range_message(name, field);
      }
      return {};
    }
    case FieldType::number: {
      if (!value.is_number()) return std::string(name) + " must be a number";
      double number = value.to_number<double>();
      if ((field.minimum && number < static_cast<double>(*field.minimum)) ||
          (field.maximum && number > static_cast<double>(*field.maximum))) {
        return range_message(name, field);
      }
      return {};
    }
    case FieldType::boolean:
      return value.is_bool() ? std::string() : std::string(name) + " must be true or false";
    case FieldType::object: {
      if (!value.is_object()) return std::string(name) + " must be a JSON object";
      std::string problem = check_fields(field.properties, value.get_object());
      return problem.empty() ? problem : std::string(name) + "." + problem;
    }
    case FieldType::array: {
      if (!value.is_array()) return std::string(name) + " must be a JSON array";
      const json::array& items = value.get_array();
      if ((field.minimum && static_cast<std::int64_t>(items.size()) < *field.minimum) ||
          (field.maximum && static_cast<std::int64_t>(items.size()) > *field.maximum)) {
        return std::string(name) + " must hold " + std::to_string(field.minimum.value_or(0)) +
               " to " + std::to_string(field.maximum.value_or(0)) + " items";
      }
      for (std::size_t i = 0; i < items.size(); ++i) {
        std::string item = std::string(name) + "[" + std::to_string(i) + "]";
        if (field.items == FieldType::string) {
          if (!items[i].is_string()) return item + " must be a string";
          if (field.check) {
            std::string problem = field.check(items[i].get_string());
            if (!problem.empty()) return item + ": " + problem;
          }
          continue;
        }
        if (!items[i].is_object()) return item + " must be a JSON object";
        std::string problem = check_fields(field.properties, items[i].get_object());
        if (!problem.empty()) return item + "." + problem;
      }
      return {};
    }
    case FieldType::string: {
      if (!value.is_string()) return std::string(name) + " must be a string";
      std::string_view text = value.get_string();
      if (!field.one_of.empty()) {
        for (std::string_view word : field.one_of) {
          if (word == text) return {};
        }
        std::string message = std::string(name) + " must be one of ";
        for (std::size_t i = 0; i < field.one_of.size(); ++i) {
          message += (i ? ", " : "") + std::string(field.one_of[i]);
        }
        return message;
      }
      if (field.check) {
        if (std::string problem = field.check(text); !problem.empty()) return problem;
      }
      std::size_t length = utf8_length(text);
      if ((field.minimum && length < static_cast<std::size_t>(*field.minimum)) ||
          (field.maximum && length > static_cast<std::size_t>(*field.maximum))) {
        return length_message(name, field);
      }
      return {};
    }
  }
  return {};
}

// The problem with `field` in `values` (absent when required, both spellings differing, a
// bad value), or "".
std::string check_member(const FieldSpec& field, const json::object& values) {
  const json::value* a = values.if_contains(field.name);
  const json::value* b = field.alias.empty() ? nullptr : values.if_contains(field.alias);
  if (a && a->is_null()) a = nullptr;  // null counts as absent
  if (b && b->is_null()) b = nullptr;
  if (a && b && !same_value(field, *a, *b)) {
    return std::string(field.name) + " and " + std::string(field.alias) +
           " are both sent, with different values";
  }
  const json::value* value = a ? a : b;
  if (!value) {
    if (!field.required) return {};
    return std::string(field.name) + " is required" +
           (field.type == FieldType::object  ? " (a JSON object)"
            : field.type == FieldType::array ? " (a JSON array)"
                                             : "");
  }
  return check_value(field, *value);
}

std::string check_fields(const std::vector<FieldSpec>& fields, const json::object& values) {
  for (const FieldSpec& field : fields) {
    if (std::string problem = check_member(field, values); !problem.empty()) return problem;
  }
  return {};
}

// The path ("payload.n", "payload.list[2]") of the first number in `value` that does not
// fit a finite double (1e999 parses as infinity), or "" when there is none: such a number
// would be written back as something that is not JSON.
std::string non_finite_path(const json::value& value, const std::string& path) {
  switch (value.kind()) {
    case json::kind::double_:
      return std::isfinite(value.get_double()) ? std::string() : path;
    case json::kind::object:
      for (const auto& member : value.get_object()) {
        std::string found = non_finite_path(member.value(), path + "." + std::string(member.key()));
        if (!found.empty()) return found;
      }
      return {};
    case json::kind::array: {
      std::size_t index = 0;
      for (const json::value& element : value.get_array()) {
        std::string found = non_finite_path(element, path + "[" + std::to_string(index++) + "]");
        if (!found.empty()) return found;
      }
      return {};
    }
    default:
      return {};
  }
}

}  // namespace

const json::value* Input::find(std::string_view name, std::string_view alias) const {
  const json::value* value = values_.if_contains(name);
  if ((!value || value->is_null()) && !alias.empty()) value = values_.if_contains(alias);
  if (value && value->is_null()) return nullptr;
  return value;
}

const json::value* Input::find(const FieldSpec& field) const { return find(field.name, field.alias); }

std::optional<std::string> Input::string(std::string_view name, std::string_view alias) const {
  const json::value* value = find(name, alias);
  if (!value || !value->is_string()) return std::nullopt;
  return std::string(value->get_string());
}

std::optional<std::int64_t> Input::integer(std::string_view name, std::string_view alias) const {
  const json::value* value = find(name, alias);
  if (!value) return std::nullopt;
  return as_integer(*value);
}

std::optional<bool> Input::boolean(std::string_view name, std::string_view alias) const {
  const json::value* value = find(name, alias);
  if (!value || !value->is_bool()) return std::nullopt;
  return value->get_bool();
}

std::optional<double> Input::number(std::string_view name, std::string_view alias) const {
  const json::value* value = find(name, alias);
  if (!value || !value->is_number()) return std::nullopt;
  return value->to_number<double>();
}

std::string validate_input(const Operation& operation, const json::object& values) {
  for (const auto& member : values) {
    std::string path = non_finite_path(member.value(), std::string(member.key()));
    if (!path.empty()) return path + " is a number too large for a finite double";
  }
  return check_fields(operation.fields, values);
}

bool query_input(const Operation& operation, std::string_view query, json::object& out) {
  if (query.empty()) return true;
  auto params = boost::urls::parse_query(query);
  if (!params) return false;
  for (auto param : boost::urls::params_view(*params)) {
    for (const FieldSpec& field : operation.fields) {
      if (field.in != FieldIn::query || (param.key != field.name && param.key != field.alias)) {
        continue;
      }
      const std::string& text = param.value;
      std::int64_t number = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
      if (field.type == FieldType::integer && error == std::errc() &&
          end == text.data() + text.size()) {
        out[field.name] = number;
      } else {
        out[field.name] = text;
      }
      break;
    }
  }
  return true;
}

}  // namespace baton::api
