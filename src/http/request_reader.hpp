#pragma once
// Reads one request off a connection: Beast's parser does the parsing, this loop decides
// what happens between reads (a refusal from the head alone, 100-continue, a bare LF in a
// chunk line, the buffer's bound on a chunk line), and maps what went wrong to the answer
// the spec asks for. Used by the listener's session coroutine, on its shard's thread.
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace baton::http {

class RequestParser;
struct Session;

// A new request id (req_ + ULID), and the id of an answer: the client's X-Request-Id when
// it is 1-128 printable characters, else a new one.
std::string new_request_id();
std::string pick_request_id(std::string_view sent);

// How reading one request ended.
struct ReadOutcome {
  boost::beast::error_code error;            // set: the request is not whole (closed, malformed, …)
  std::optional<Response> screened;  // set: refused from its head, body unread
  bool id_picked = false;            // request.request_id is the answer's id
};

// Reads one request into `parser` (and so `request`), byte for byte as Beast's
// http::async_read would, but stopping at the head to let `handler` refuse it before its
// body is read. See read_request in request_reader.cpp.
boost::asio::awaitable<ReadOutcome> read_request(Handler& handler, Session& session,
                                                 boost::beast::flat_buffer& buffer,
                                                 RequestParser& parser, Request& request);

// After an answer that leaves a request's body unread: see request_reader.cpp.
boost::asio::awaitable<void> linger_before_close(Session& session);

// The answer to a request that could not be read: 431, 413 or 400 (with `refusal`, the
// parser's reason, when it has one); the connection closes after it.
Response reject_parse_error(Handler& handler, const boost::beast::error_code& error,
                            std::string_view refusal, const std::string& request_id);

}  // namespace baton::http
