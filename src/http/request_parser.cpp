#include "http/request_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <cctype>

namespace baton::http {

namespace bhttp = boost::beast::http;

namespace {

using string_view = boost::beast::string_view;

// The path and query of an absolute-form target (RFC 9112 §3.2.2: a server must accept
// `GET http://host/path`); any other target as it is.
string_view origin_form(string_view target) {
  for (string_view scheme : {string_view("http://"), string_view("https://")}) {
    if (target.size() >= scheme.size() &&
        boost::beast::iequals(target.substr(0, scheme.size()), scheme)) {
      std::size_t path = target.find_first_of("/?", scheme.size());
      if (path == string_view::npos) return "/";
      if (target[path] == '?') return target.substr(path);  // "?q" means "/?q"
      return target.substr(path);
    }
  }
  return target;
}

std::string lower_trimmed(string_view text) {
  std::size_t start = text.find_first_not_of(" \t");
  std::size_t end = text.find_last_not_of(" \t");
  std::string out;
  if (start == string_view::npos) return out;
  for (char c : text.substr(start, end - start + 1)) {
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

}  // namespace

void RequestParser::on_request_impl(bhttp::verb method, string_view method_text,
                                    string_view target, int version, error_code&) {
  verb_ = method;
  version_ = static_cast<unsigned>(version);
  out_.method.assign(method_text.data(), method_text.size());
  string_view path = origin_form(target);
  if (path.starts_with('?')) {
    out_.target.assign(path.size() + 1, '/');
    path.copy(out_.target.data() + 1, path.size());
  } else {
    out_.target.assign(path.data(), path.size());
  }
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = bhttp::error::bad_method;  // a request parser never sees a status line
}

void RequestParser::on_field_impl(bhttp::field name, string_view name_text, string_view value,
                                  error_code&) {
  // Trailer fields (after a chunked body) never stand in for header fields (RFC 9110
  // §6.5.1): a key, an id or a session sent there is ignored.
  if (is_header_done()) return;
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
    case bhttp::field::upgrade:
      keep_first(seen_upgrade_, out_.upgrade);
      return;
    case bhttp::field::sec_websocket_key:
      keep_first(seen_websocket_key_, out_.websocket_key);
      return;
    case bhttp::field::sec_websocket_version:
      keep_first(seen_websocket_version_, out_.websocket_version);
      return;
    case bhttp::field::host:
      ++host_fields_;
      return;
    case bhttp::field::transfer_encoding:
      if (has_transfer_encoding_) transfer_encoding_.push_back(',');
      has_transfer_encoding_ = true;
      transfer_encoding_.append(value.data(), value.size());
      return;
    case bhttp::field::expect:
      if (boost::beast::iequals(value, "100-continue")) expects_continue_ = true;
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
  } else if (boost::beast::iequals(name_text, "Last-Event-ID")) {
    keep_first(seen_last_event_id_, out_.last_event_id);
  } else if (boost::beast::iequals(name_text, "X-Baton-Account")) {
    keep_first(seen_account_, out_.account);
  }
}

void RequestParser::on_header_impl(error_code& ec) {
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1.
  if (version_ >= 11 && host_fields_ != 1) {
    refusal_ = host_fields_ == 0 ? "An HTTP/1.1 request must carry a Host header."
                                 : "A request must carry one Host header, not several.";
    ec = bhttp::error::bad_field;
    return;
  }
  if (!has_transfer_encoding_) return;
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; §6.3: a coding this
  // server does not know, or a final coding other than chunked, leaves the body's end
  // unknown. Either way a proxy in front may frame the bytes differently (smuggling), so
  // the request is refused and the connection closed.
  if (version_ < 11) {
    refusal_ = "Transfer-Encoding is not allowed in HTTP/1.0.";
    ec = bhttp::error::bad_transfer_encoding;
    return;
  }
  std::size_t start = 0;
  int codings = 0;
  for (;;) {
    std::size_t comma = transfer_encoding_.find(',', start);
    std::string coding = lower_trimmed(string_view(transfer_encoding_).substr(
        start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!coding.empty()) {
      ++codings;
      if (coding != "chunked" || codings > 1) {
        refusal_ = "Only Transfer-Encoding: chunked is accepted, once.";
        ec = bhttp::error::bad_transfer_encoding;
        return;
      }
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (codings == 0) {
    refusal_ = "An empty Transfer-Encoding is not a framing.";
    ec = bhttp::error::bad_transfer_encoding;
  }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  // basic_parser has already refused a Content-Length above the body limit.
  if (content_length) out_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  out_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_chunk_header_impl(std::uint64_t, string_view extensions, error_code& ec) {
  // The listener's buffer bounds the line as it arrives; this bounds what a larger buffer
  // (a large header limit) would still let through.
  if (extensions.size() > kMaxChunkHeaderBytes) {
    refusal_ = kChunkHeaderRefusal;
    ec = bhttp::error::bad_chunk_extension;
  }
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  out_.body.append(body.data(), body.size());
  return body.size();
}

void RequestParser::on_finish_impl(error_code&) {}

}  // namespace baton::http
