#pragma once
// Request bodies (spec section 1): content type, JSON parsing with depth and UTF-8 checks,
// and field lookup that accepts both the camelCase and the snake_case spelling.
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "http/message.hpp"

namespace baton::api {

struct BodyError {
  ErrorCode code = ErrorCode::none;
  std::string message;
};

// Empty bodies parse as {} (every endpoint's fields are optional or checked later).
BodyError parse_body(const http::Request& request, const TaskLimits& limits,
                     boost::json::object& out);

// Reads optional fields; the first problem is kept in error() and later reads are no-ops.
class Fields {
 public:
  explicit Fields(const boost::json::object& object) : object_(object) {}

  std::optional<std::int64_t> integer(const char* camel, const char* snake = nullptr);
  std::optional<std::string> string(const char* camel, const char* snake = nullptr);
  std::optional<bool> boolean(const char* camel, const char* snake = nullptr);
  // A JSON object field, serialized; nullopt when absent or null.
  std::optional<std::string> object(const char* camel, const char* snake = nullptr);
  const boost::json::value* raw(const char* camel, const char* snake = nullptr);

  void fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }

 private:
  const boost::json::object& object_;
  std::string error_;
};

// SHA-256 (hex) of the body's JSON with object keys sorted and `idempotencyKey` removed:
// equal JSON gives an equal hash whatever the key order or whitespace.
std::string canonical_body_hash(const boost::json::object& body);

}  // namespace baton::api
