#include "http/request_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace baton::http {

namespace bhttp = boost::beast::http;

void RequestParser::on_request_impl(bhttp::verb method, string_view method_text,
                                    string_view target, int version, error_code&) {
  verb_ = method;
  version_ = static_cast<unsigned>(version);
  out_.method.assign(method_text.data(), method_text.size());
  out_.target.assign(target.data(), target.size());
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = bhttp::error::bad_method;  // a request parser never sees a status line
}

void RequestParser::on_field_impl(bhttp::field name, string_view name_text, string_view value,
                                  error_code&) {
  auto keep_first = [&](bool& seen, std::string& into) {
    if (seen) return;
    seen = true;
    into.assign(value.data(), value.size());
  };
  switch (name) {
    case bhttp::field::content_type:
      keep_first(seen_content_type_, out_.content_type);
      return;
    case bhttp::field::authorization:
      keep_first(seen_authorization_, out_.authorization);
      return;
    case bhttp::field::origin:
      keep_first(seen_origin_, out_.origin);
      return;
    default:
      break;
  }
  // Names Beast does not know arrive as field::unknown; compare the text itself.
  if (boost::beast::iequals(name_text, "Idempotency-Key")) {
    keep_first(out_.has_idempotency_key, out_.idempotency_key);
  } else if (boost::beast::iequals(name_text, "X-Request-Id")) {
    keep_first(seen_request_id_, out_.request_id);
  } else if (boost::beast::iequals(name_text, "Mcp-Session-Id")) {
    keep_first(seen_mcp_session_id_, out_.mcp_session_id);
  } else if (boost::beast::iequals(name_text, "MCP-Protocol-Version")) {
    keep_first(seen_mcp_protocol_version_, out_.mcp_protocol_version);
  }
}

void RequestParser::on_header_impl(error_code&) {}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  // basic_parser has already refused a Content-Length above the body limit.
  if (content_length) out_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  out_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  out_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_finish_impl(error_code&) {}

}  // namespace baton::http
