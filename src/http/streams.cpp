#include "http/streams.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "http/listener.hpp"
#include "http/session.hpp"

namespace baton::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;

namespace {

// What a client may send in one message: it is read and dropped (a stream only speaks),
// so only pings, pongs and close frames matter.
constexpr std::size_t kMaxClientMessage = 4096;

// The handshake request as Beast reads it, from the headers our parser kept.
bhttp::request<bhttp::empty_body> upgrade_request(const Request& request) {
  bhttp::request<bhttp::empty_body> upgrade{bhttp::verb::get, request.target, 11};
  upgrade.set(bhttp::field::host, "baton");
  upgrade.set(bhttp::field::connection, "upgrade");
  upgrade.set(bhttp::field::upgrade, request.upgrade);
  upgrade.set(bhttp::field::sec_websocket_key, request.websocket_key);
  upgrade.set(bhttp::field::sec_websocket_version, request.websocket_version);
  return upgrade;
}

template <class Next>
asio::awaitable<void> serve(Session& session, Next& next, const Request& request,
                            std::shared_ptr<BodyStream> stream, const ListenerLimits& limits) {
  websocket::stream<Next&> ws(next);
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(limits.idle_timeout_seconds);
  timeouts.idle_timeout = websocket::stream_base::none();  // the stream's own pings keep it up
  timeouts.keep_alive_pings = false;
  ws.set_option(timeouts);
  ws.read_message_max(kMaxClientMessage);
  ws.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
    response.set(bhttp::field::server, "baton");
  }));
  session.expires_after(limits.idle_timeout_seconds);
  auto [refused] = co_await ws.async_accept(upgrade_request(request),
                                            asio::as_tuple(asio::use_awaitable));
  if (refused) co_return;  // Beast answered the bad handshake (400 or 426); the caller stops the stream

  // The reader: drops what the client sends, answers its pings and close; ends the stream
  // when the client goes, closes, or sends a bad frame.
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer reader_done(executor, asio::steady_timer::time_point::max());
  bool reading = true;
  asio::co_spawn(
      executor,
      [&ws, &reader_done, &reading, stream]() -> asio::awaitable<void> {
        beast::flat_buffer dropped;
        for (;;) {
          auto [error, size] = co_await ws.async_read(dropped, asio::as_tuple(asio::use_awaitable));
          (void)size;
          if (error) break;
          dropped.consume(dropped.size());
        }
        stream->stop();
        reading = false;
        reader_done.cancel();
      },
      asio::detached);

  ws.text(true);
  // Nothing may leave this frame while the reader runs: it holds references into it.
  try {
    for (;;) {
      session.deadline = SteadyClock::time_point::max();
      std::optional<std::string> piece = co_await stream->next();
      if (!piece) break;
      session.expires_after(limits.idle_timeout_seconds);
      boost::system::error_code error;
      if (piece->empty()) {
        std::tie(error) = co_await ws.async_ping({}, asio::as_tuple(asio::use_awaitable));
      } else {
        std::tie(error, std::ignore) =
            co_await ws.async_write(asio::buffer(*piece), asio::as_tuple(asio::use_awaitable));
      }
      if (error) break;
    }
  } catch (const std::exception&) {
    // Ended below like any other end: closed, the reader waited for.
  }
  stream->stop();
  if (reading && ws.is_open()) {
    session.expires_after(limits.idle_timeout_seconds);
    co_await ws.async_close(websocket::close_code::normal, asio::as_tuple(asio::use_awaitable));
  }
  if (reading) {
    // The close (or the sweep's abort) ends the read; the reader must be gone before `ws`.
    session.abort();
    co_await reader_done.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  session.deadline = SteadyClock::time_point::max();
}

}  // namespace

asio::awaitable<void> write_stream(Session& session, std::string head,
                                   std::shared_ptr<BodyStream> stream,
                                   const ListenerLimits& limits, bool head_request) {
  session.streaming = stream;
  session.watch_disconnect([stream] { stream->stop(); });
  session.expires_after(limits.idle_timeout_seconds);
  auto [error, written] = co_await session.write(AnswerBuffers{asio::buffer(head), {}});
  (void)written;
  while (!error && !head_request) {
    session.deadline = SteadyClock::time_point::max();
    std::optional<std::string> piece = co_await stream->next();
    if (!piece) break;
    session.expires_after(limits.idle_timeout_seconds);
    auto [failed, size] = co_await session.write(AnswerBuffers{asio::buffer(*piece), {}});
    (void)size;
    error = failed;
  }
  session.streaming.reset();
}

asio::awaitable<void> run_websocket(Session& session, const Request& request,
                                    std::shared_ptr<BodyStream> stream,
                                    const ListenerLimits& limits) {
  if (!session.layer) {
    co_await serve(session, session.socket, request, std::move(stream), limits);
  } else if (auto* tls = session.layer->tls_stream()) {
    co_await serve(session, *tls, request, std::move(stream), limits);
  } else {
    stream->stop();  // no socket under it (the fuzzer's memory stream): nothing to upgrade
  }
}

}  // namespace baton::http
