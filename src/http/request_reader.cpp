#include "http/request_reader.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <random>

#include "core/limits.hpp"
#include "core/ulid.hpp"
#include "http/request_parser.hpp"
#include "http/session.hpp"

namespace baton::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

thread_local UlidGenerator tls_request_ids(std::random_device{}());

}  // namespace

std::string new_request_id() { return "req_" + encode_ulid(tls_request_ids.next(wall_now_ms())); }

std::string pick_request_id(std::string_view sent) {
  if (!sent.empty() && sent.size() <= 128 && is_printable_ascii({sent.data(), sent.size()})) {
    return std::string(sent);
  }
  return new_request_id();
}

namespace {

// Whether the bytes the parser left (it needs more) hold a line ending in a bare LF:
// an LF after anything but CR. Beast leaves a chunk's closing CRLF, and a last chunk's
// line, unconsumed until what follows arrives, so a CRLF there is not a fault.
bool has_bare_lf(const beast::flat_buffer& buffer) {
  std::string_view pending(static_cast<const char*>(buffer.data().data()), buffer.size());
  for (std::size_t at = pending.find('\n', 1); at != std::string_view::npos;
       at = pending.find('\n', at + 1)) {
    if (pending[at - 1] != '\r') return true;
  }
  return false;
}

}  // namespace

// After an answer that leaves a request's body unread: shut the sending side, then read
// and drop what the client still sends for a moment, so that closing with bytes unread
// does not make the kernel reset the connection and lose the answer (RFC 9112 §9.6).
asio::awaitable<void> linger_before_close(Session& session) {
  constexpr std::size_t kLingerBytes = 256 * 1024;
  constexpr int kLingerSeconds = 1;
  session.shutdown_send();
  session.expires_after(kLingerSeconds);  // the sweep ends the reads below
  std::array<char, 16384> scratch;
  for (std::size_t dropped = 0; dropped < kLingerBytes;) {
    auto [error, bytes] = co_await session.read_some(asio::buffer(scratch));
    if (error) break;
    dropped += bytes;
  }
}

// Maps a parse failure to the answer the spec asks for; broken framing closes the
// connection after it.
Response reject_parse_error(Handler& handler, const beast::error_code& error,
                            std::string_view refusal, const std::string& request_id) {
  Response response;
  if (!refusal.empty()) {
    response = handler.reject(400, "invalid_request", std::string(refusal), request_id);
  } else if (error == bhttp::error::buffer_overflow) {
    response = handler.reject(400, "invalid_request",
                              std::string(RequestParser::kChunkHeaderRefusal), request_id);
  } else if (error == bhttp::error::header_limit) {
    response = handler.reject(431, "request_header_too_large",
                              "The request's headers exceed server.max_header_bytes.", request_id);
  } else if (error == bhttp::error::body_limit) {
    response = handler.reject(413, "payload_too_large",
                              "The request body exceeds server.max_body_bytes.", request_id);
  } else {
    response = handler.reject(400, "invalid_request",
                              "Malformed HTTP request: " + error.message() + ".", request_id);
  }
  response.close = true;
  return response;
}

// Reads one request into `parser`, byte for byte as Beast's http::async_read would, but
// stopping at the head: a request its route or method already refuses is answered before
// its body is read, `Expect: 100-continue` gets its 100, and a chunk line that ends in a
// bare LF (which Beast's parser waits on forever) is refused. The buffer's max size bounds
// what a chunk header line may hold.
asio::awaitable<ReadOutcome> read_request(Handler& handler, Session& session,
                                          beast::flat_buffer& buffer, RequestParser& parser,
                                          Request& request) {
  constexpr std::size_t kReadSize = 65536;
  ReadOutcome out;
  bool screened = false;
  for (;;) {
    if (buffer.size() > 0) {
      std::size_t used = parser.put(buffer.data(), out.error);
      buffer.consume(used);
      bool need_more = out.error == bhttp::error::need_more;
      if (need_more) out.error = {};
      if (out.error) co_return out;
      if (parser.is_header_done() && !screened) {
        screened = true;
        request.request_id = pick_request_id(request.request_id);
        out.id_picked = true;
        if (parser.is_done()) co_return out;  // the whole request came at once
        if ((out.screened = handler.screen(request))) co_return out;
        if (parser.expects_continue() && parser.version() >= 11) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [error, written] =
              co_await session.write({asio::buffer(kContinue), asio::const_buffer()});
          (void)written;
          if (error) {
            out.error = error;
            co_return out;
          }
        }
      }
      if (parser.is_done()) co_return out;
      if (!need_more) continue;
      if (parser.is_header_done() && parser.chunked() && has_bare_lf(buffer)) {
        out.error = bhttp::error::bad_line_ending;
        co_return out;
      }
    }
    std::size_t room = std::min(kReadSize, buffer.max_size() - buffer.size());
    if (room == 0) {
      out.error = bhttp::error::buffer_overflow;
      co_return out;
    }
    auto [error, bytes] = co_await session.read_some(buffer.prepare(room));
    buffer.commit(bytes);
    if (error == asio::error::eof) {
      if (!parser.got_some()) {
        out.error = bhttp::error::end_of_stream;
        co_return out;
      }
      parser.put_eof(out.error);
      if (!out.error && !parser.is_done()) out.error = bhttp::error::partial_message;
      co_return out;
    }
    if (error) {
      out.error = error;
      co_return out;
    }
  }
}

}  // namespace baton::http
