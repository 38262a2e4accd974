#include "http/wire.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>
#include <string_view>

namespace baton::http {

namespace {

bool safe_header_text(std::string_view text) {
  return text.find_first_of("\r\n") == std::string_view::npos;
}

void append_number(std::string& out, std::size_t value) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

}  // namespace

std::string serialize_head(const Response& response, unsigned version, bool keep_alive) {
  namespace bhttp = boost::beast::http;
  bool close = !keep_alive || response.close;
  std::string out;
  out.reserve(224);
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(out, static_cast<std::size_t>(response.status));
  out.push_back(' ');
  auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(response.status));
  out.append(reason.data(), reason.size());
  out.append("\r\nServer: baton\r\nContent-Type: ").append(response.content_type).append("\r\n");
  for (const auto& [name, value] : response.headers) {
    if (name.empty() || !safe_header_text(name) || !safe_header_text(value)) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (close && version != 10) out.append("Connection: close\r\n");
  if (!close && version == 10) out.append("Connection: keep-alive\r\n");
  if (!response.stream) {  // a stream's body ends when the connection closes
    out.append("Content-Length: ");
    append_number(out, response.body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  return out;
}

std::string serialize_response(const Response& response, unsigned version, bool keep_alive,
                               bool head_request) {
  std::string out = serialize_head(response, version, keep_alive);
  if (!head_request) out.append(response.body);
  return out;
}

}  // namespace baton::http
