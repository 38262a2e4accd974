#pragma once
// One HTTP connection, as the listener and the request reader see it: its socket (and
// the layer over it, for TLS), its deadline (enforced by the listener's sweep) and its
// disconnect watch. Only http/ includes this (it brings Asio's socket in).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <tuple>

#include "http/message.hpp"

namespace boost::asio::ssl {
template <typename Stream>
class stream;
}

namespace baton::http {

using SteadyClock = std::chrono::steady_clock;
using IoResult = std::tuple<boost::system::error_code, std::size_t>;
// What one answer is written as: its head, then its body (either may be empty).
using AnswerBuffers = std::array<boost::asio::const_buffer, 2>;

// The bytes of a connection when they do not go straight to its socket: TLS over it, or
// memory (the fuzzer's whole request path runs without a socket). A plain connection has
// none, so its reads and writes cost no call more than the socket's own.
class StreamLayer {
 public:
  virtual ~StreamLayer() = default;
  virtual boost::asio::awaitable<IoResult> read_some(boost::asio::mutable_buffer into) = 0;
  virtual boost::asio::awaitable<IoResult> write(AnswerBuffers pieces) = 0;
  // Nothing more will be written: a linger reads on after it (TLS sends close_notify).
  virtual void shutdown_send() = 0;
  // Every read or write under way, and every later one, fails (the sweep's timeout).
  virtual void abort() = 0;
  // The client can send nothing more (memory: the input is used up). A socket's layer
  // answers false: the disconnect watch looks at the socket itself.
  virtual bool peer_done() const = 0;
  // The TLS stream under a TLS layer (a WebSocket runs over it), else null.
  virtual boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>* tls_stream() { return nullptr; }
};

// One connection. Owned by its coroutine; the listener keeps a plain pointer while it
// lives so drain() can close it and its sweep can time it out.
struct Session final : Connection {
  // What the disconnect watch shares with the session: the watch's completion may run
  // after the session is gone, so it checks `alive` before touching anything else.
  struct Watch {
    bool alive = true;
    bool watching = false;
    bool gone = false;
  };

  boost::asio::ip::tcp::socket socket;  // unopened under a memory layer
  std::unique_ptr<StreamLayer> layer;   // null: bytes go straight to the socket
  // When the read or write under way must be over, else the listener's sweep cancels it
  // (max while a handler works: a long poll bounds itself). One clock read per operation
  // instead of a timer armed and cancelled around each one, as a timed stream would.
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  bool timed_out = false;  // the sweep shut it down: every later read or write fails
  bool busy = false;
  bool closing = false;
  std::shared_ptr<BodyStream> streaming;  // the live stream being sent, if any
  std::shared_ptr<Watch> watch = std::make_shared<Watch>();

  explicit Session(boost::asio::ip::tcp::socket s, std::unique_ptr<StreamLayer> l = nullptr)
      : socket(std::move(s)), layer(std::move(l)) {}
  ~Session() override { watch->alive = false; }

  // Not coroutines themselves: a plain connection awaits the socket's own operation.
  boost::asio::awaitable<IoResult> read_some(boost::asio::mutable_buffer into) {
    if (layer) return layer->read_some(into);
    return socket.async_read_some(into, boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  boost::asio::awaitable<IoResult> write(AnswerBuffers pieces) {
    if (layer) return layer->write(pieces);
    return boost::asio::async_write(socket, pieces,
                                    boost::asio::as_tuple(boost::asio::use_awaitable));
  }
  void shutdown_send() {
    boost::system::error_code ignored;
    if (layer) layer->shutdown_send();
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  }
  // Shut down, not only cancelled: a read or write that already finished but whose
  // handler is still queued would otherwise start the next one with no deadline.
  void abort() {
    boost::system::error_code ignored;
    if (layer) layer->abort();
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket.cancel(ignored);
  }

  std::string peer_address() const override {
    boost::system::error_code error;
    auto endpoint = socket.remote_endpoint(error);
    if (error) return {};
    auto address = endpoint.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
    }
    return address.to_string();
  }

  void watch_disconnect(std::function<void()> on_gone) override {
    if (watch->watching) return;
    if (layer && layer->peer_done()) {
      watch->gone = true;
      boost::asio::post(socket.get_executor(), std::move(on_gone));
      return;
    }
    watch->watching = true;
    socket.async_wait(
        boost::asio::ip::tcp::socket::wait_read,
        [watch = watch, this, on_gone = std::move(on_gone)](boost::system::error_code error) {
          if (!watch->alive) return;
          watch->watching = false;
          if (error) return;  // cancelled: the handler finished first
          char byte;
          ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          // Readable with data means a pipelined request: the client is still there.
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            watch->gone = true;
            on_gone();
          }
        });
  }
  bool disconnected() const override { return watch->gone; }

  void stop_watching() {
    if (!watch->watching) return;
    boost::system::error_code ignored;
    socket.cancel(ignored);
  }

  void expires_after(int seconds) {
    deadline = SteadyClock::now() + std::chrono::seconds(seconds);
  }
};

}  // namespace baton::http
