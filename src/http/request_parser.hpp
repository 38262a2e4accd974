#pragma once
// Parses one HTTP request straight into http::Request. Beast's basic_parser does all of
// the parsing and enforces the header and body limits; this class only keeps what the api
// reads (method, target, the headers it uses, body). Beast's request_parser would also build a
// field container per request (an allocation per header) that we then searched four
// times: about a tenth of a lifecycle request's instructions on the shard thread
// (docs/benchmarks.md). Only listener.cpp and its tests include this.
#include <boost/beast/http/basic_parser.hpp>

#include <string>
#include <string_view>

#include "http/message.hpp"

namespace baton::http {

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // `out` must outlive the parser; its fields are overwritten as they are parsed.
  explicit RequestParser(Request& out) : out_(out) {}

  boost::beast::http::verb verb() const { return verb_; }
  unsigned version() const { return version_; }
  // The client sent `Expect: 100-continue`: it waits for a 100 before sending the body.
  bool expects_continue() const { return expects_continue_; }
  // Why this parser refused the message (set with the error it returned), for the 400.
  std::string_view refusal() const { return refusal_; }

  // The longest chunk header line accepted, extensions included (RFC 9112 §7.1.1 sets no
  // bound; each byte of one is held until its line ends).
  static constexpr std::size_t kMaxChunkHeaderBytes = 4096;
  static constexpr std::string_view kChunkHeaderRefusal =
      "A chunk header line (extensions included) is longer than 4096 bytes.";

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  void on_request_impl(boost::beast::http::verb method, string_view method_text,
                       string_view target, int version, error_code& ec) override;
  void on_response_impl(int status, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_text, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  Request& out_;
  boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
  unsigned version_ = 11;
  // A repeated header keeps its first value, as a field container's lookup would give.
  bool seen_content_type_ = false;
  bool seen_authorization_ = false;
  bool seen_request_id_ = false;
  bool seen_origin_ = false;
  bool expects_continue_ = false;
  int host_fields_ = 0;
  bool has_transfer_encoding_ = false;
  std::string transfer_encoding_;  // every Transfer-Encoding field, joined with ','
  std::string_view refusal_;
  bool seen_mcp_session_id_ = false;
  bool seen_mcp_protocol_version_ = false;
  bool seen_last_event_id_ = false;
  bool seen_account_ = false;
  bool seen_upgrade_ = false;
  bool seen_websocket_key_ = false;
  bool seen_websocket_version_ = false;
};

}  // namespace baton::http
