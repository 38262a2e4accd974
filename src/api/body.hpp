#pragma once
// Request bodies (spec section 1): content type, and JSON parsing with depth and UTF-8
// checks. Fields are then checked against the operation's FieldSpecs (input.hpp).
#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "core/errors.hpp"
#include "core/limits.hpp"
#include "http/message.hpp"

namespace baton::api {

struct BodyError {
  ErrorCode code = ErrorCode::none;
  std::string message;
};

// The media type of a Content-Type value, lower-cased, without parameters or blanks.
std::string media_type(std::string_view content_type);
// Whether a body of this Content-Type is read as JSON: application/json, none, or the
// form type `curl -d` sends (spec section 1).
bool is_json_media_type(std::string_view content_type);

// Empty bodies parse as {} (every endpoint's fields are optional or checked later).
BodyError parse_body(const http::Request& request, const TaskLimits& limits,
                     boost::json::object& out);

// SHA-256 (hex) of the body's JSON with object keys sorted and `idempotencyKey` removed:
// equal JSON gives an equal hash whatever the key order or whitespace.
std::string canonical_body_hash(const boost::json::object& body);

}  // namespace baton::api
