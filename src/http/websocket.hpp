#pragma once
// A live stream sent as WebSocket messages (RFC 6455, Beast's websocket stream): the
// handshake answers the request's Upgrade, then each piece of the stream goes out as one
// text message (an empty piece as a ping) until the stream ends, with a close frame then.
// What the client sends is read and dropped, bounded by max_message_bytes; a bad frame, a
// close or a silent peer past the idle timeout ends the stream. Only http/listener.cpp
// includes this (Beast's websocket headers stay in websocket.cpp).
#include <boost/asio/awaitable.hpp>

#include <memory>

#include "http/message.hpp"

namespace baton::http {

struct Session;
struct ListenerLimits;

// Runs the WebSocket on `session` (plain or TLS). Returns when it is over; the caller
// closes the connection.
boost::asio::awaitable<void> run_websocket(Session& session, const Request& request,
                                           std::shared_ptr<BodyStream> stream,
                                           const ListenerLimits& limits);

}  // namespace baton::http
