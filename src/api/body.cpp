#include "api/body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <vector>

#include "api/render.hpp"
#include "core/ulid.hpp"
#include "core/sha256.hpp"

namespace baton::api {

namespace json = boost::json;

namespace {

void canonical(std::string& out, const json::value& value) {
  if (value.is_object()) {
    const json::object& object = value.get_object();
    std::vector<const json::key_value_pair*> members;
    for (const auto& member : object) members.push_back(&member);
    std::sort(members.begin(), members.end(),
              [](auto* a, auto* b) { return a->key() < b->key(); });
    out.push_back('{');
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) out.push_back(',');
      append_json_string(out, std::string_view(members[i]->key()));
      out.push_back(':');
      canonical(out, members[i]->value());
    }
    out.push_back('}');
  } else if (value.is_array()) {
    out.push_back('[');
    bool first = true;
    for (const auto& element : value.get_array()) {
      if (!first) out.push_back(',');
      first = false;
      canonical(out, element);
    }
    out.push_back(']');
  } else {
    out += json::serialize(value);
  }
}

}  // namespace

std::string media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  std::string out(media);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_json_media_type(std::string_view content_type) {
  std::string media = media_type(content_type);
  return media.empty() || media == "application/json" ||
         media == "application/x-www-form-urlencoded";
}

BodyError parse_body(const http::Request& request, const TaskLimits& limits, json::object& out) {
  std::string media = media_type(request.content_type);
  bool form = media == "application/x-www-form-urlencoded";
  if (!is_json_media_type(request.content_type)) {
    return {ErrorCode::unsupported_media_type,
            "Content-Type must be application/json (got " + printable(media) + ")."};
  }
  std::string_view body = request.body;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out = json::object();
    return {};
  }
  json::parse_options options;
  // The request object wraps the payload: one level more than the payload may have.
  options.max_depth = static_cast<std::size_t>(limits.max_depth) + 1;
  json::error_code error;
  json::value value = json::parse(body, error, json::storage_ptr(), options);
  if (error) {
    if (error == json::error::too_deep) {
      return {ErrorCode::invalid_request, "The JSON body is nested deeper than tasks.max_depth (" +
                                              std::to_string(limits.max_depth) + ")."};
    }
    if (form) return {ErrorCode::unsupported_media_type, "A form body must be a JSON object."};
    return {ErrorCode::invalid_request, "The body is not valid JSON (" + error.message() + ")."};
  }
  if (!value.is_object()) {
    if (form) return {ErrorCode::unsupported_media_type, "A form body must be a JSON object."};
    return {ErrorCode::invalid_request, "The body must be a JSON object."};
  }
  out = std::move(value.get_object());
  return {};
}

std::string canonical_body_hash(const json::object& body) {
  std::string text;
  json::object copy = body;
  copy.erase("idempotencyKey");
  copy.erase("idempotency_key");
  canonical(text, copy);
  return hex_encode(sha256_bytes(text));
}

}  // namespace baton::api
