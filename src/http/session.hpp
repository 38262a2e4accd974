#pragma once
// One HTTP connection, as the listener and the request reader see it: its socket, its
// deadline (enforced by the listener's sweep) and its disconnect watch. Only http/
// includes this (it brings Asio's socket in).
#include <boost/asio/ip/tcp.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>

#include "http/message.hpp"

namespace baton::http {

using SteadyClock = std::chrono::steady_clock;

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

  boost::asio::ip::tcp::socket socket;
  // When the read or write under way must be over, else the listener's sweep cancels it
  // (max while a handler works: a long poll bounds itself). One clock read per operation
  // instead of a timer armed and cancelled around each one, as a timed stream would.
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  bool timed_out = false;  // the sweep shut it down: every later read or write fails
  bool busy = false;
  bool closing = false;
  std::shared_ptr<Watch> watch = std::make_shared<Watch>();

  explicit Session(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
  ~Session() override { watch->alive = false; }

  void watch_disconnect(std::function<void()> on_gone) override {
    if (watch->watching) return;
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
