#pragma once
// Answers that are streams (Response::stream), once the handler has made one: a body sent
// piece by piece (Server-Sent Events), or a WebSocket.
//
// A streamed body: the head, then each piece the stream gives, until it ends, the client
// leaves or the listener drains. Waiting for a piece has no deadline and costs nothing;
// each write must finish within the idle timeout, so a client that stops reading is cut
// by the sweep. The connection closes after it.
//
// A WebSocket (RFC 6455, Beast's websocket stream): the
// handshake answers the request's Upgrade, then each piece of the stream goes out as one
// text message (an empty piece as a ping) until the stream ends, with a close frame then.
// What the client sends is read and dropped, bounded by max_message_bytes; a bad frame, a
// close or a silent peer past the idle timeout ends the stream. Only http/listener.cpp
// includes this (Beast's websocket headers stay in streams.cpp).
#include <boost/asio/awaitable.hpp>

#include <memory>

#include "http/message.hpp"

namespace baton::http {

struct Session;
struct ListenerLimits;

// Sends `head` (the answer's head and what precedes the pieces), then the stream's pieces
// (none for a HEAD request).
boost::asio::awaitable<void> write_stream(Session& session, std::string head,
                                          std::shared_ptr<BodyStream> stream,
                                          const ListenerLimits& limits, bool head_request);

// Runs the WebSocket on `session` (plain or TLS). Returns when it is over; the caller
// closes the connection.
boost::asio::awaitable<void> run_websocket(Session& session, const Request& request,
                                           std::shared_ptr<BodyStream> stream,
                                           const ListenerLimits& limits);

}  // namespace baton::http
