#include "http/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <list>
#include <random>

#include "core/limits.hpp"
#include "core/ulid.hpp"
#include "http/address_counts.hpp"
#include "http/request_parser.hpp"
#include "http/wire.hpp"

namespace baton::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

thread_local UlidGenerator tls_request_ids(std::random_device{}());

std::string new_request_id() { return "req_" + encode_ulid(tls_request_ids.next(wall_now_ms())); }

std::string pick_request_id(std::string_view sent) {
  if (!sent.empty() && sent.size() <= 128 && is_printable_ascii({sent.data(), sent.size()})) {
    return std::string(sent);
  }
  return new_request_id();
}

}  // namespace

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

  tcp::socket socket;
  // When the read or write under way must be over, else the listener's sweep cancels it
  // (max while a handler works: a long poll bounds itself). One clock read per operation
  // instead of a timer armed and cancelled around each one, as a timed stream would.
  SteadyClock::time_point deadline = SteadyClock::time_point::max();
  bool timed_out = false;  // the sweep shut it down: every later read or write fails
  bool busy = false;
  bool closing = false;
  std::shared_ptr<Watch> watch = std::make_shared<Watch>();

  explicit Session(tcp::socket s) : socket(std::move(s)) {}
  ~Session() override { watch->alive = false; }

  void watch_disconnect(std::function<void()> on_gone) override {
    if (watch->watching) return;
    watch->watching = true;
    socket.async_wait(
        tcp::socket::wait_read,
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

struct Listener::State {
  asio::io_context& context;
  Handler& handler;
  ListenerLimits limits;
  int index;
  tcp::acceptor acceptor;
  asio::steady_timer sweep;  // times out sessions past their deadline
  std::list<Session*> sessions;
  // live, draining and moved are read by other listeners' threads (a connection moving
  // here, /health); everything else only on this listener's thread.
  std::atomic<int> live{0};
  std::atomic<bool> draining{false};
  std::atomic<bool> drained{false};  // drain() has run: no connection leaves from here now
  std::atomic<std::uint64_t> moved{0};
  std::vector<std::weak_ptr<State>> peers;  // by index; set before start, then fixed

  State(asio::io_context& c, Handler& h, ListenerLimits l, int i)
      : context(c), handler(h), limits(l), index(i), acceptor(c), sweep(c) {}
};

namespace {

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

constexpr unsigned kHttp11 = 11;   // the version of answers to requests that never parsed
constexpr bool kNoKeepAlive = false;  // write()'s keep_alive, for answers that end a connection

// An error (a timeout included) leaves the answer cut short: the connection must close.
asio::awaitable<boost::system::error_code> write(Session& session, Response response,
                                                 unsigned version, bool keep_alive,
                                                 const std::string& request_id,
                                                 const ListenerLimits& limits,
                                                 bool head_request = false) {
  response.headers.emplace_back("X-Request-Id", request_id);
  std::string head = serialize_head(response, version, keep_alive);
  std::array<asio::const_buffer, 2> wire{
      asio::buffer(head), head_request ? asio::const_buffer() : asio::buffer(response.body)};
  session.expires_after(limits.idle_timeout_seconds);
  auto [error, written] =
      co_await asio::async_write(session.socket, wire, asio::as_tuple(asio::use_awaitable));
  (void)written;
  co_return error;
}

// Keeps the listener's view of one session (its list entry and the live count) right
// however the session coroutine ends.
struct SessionRegistration {
  Listener::State& state;
  std::list<Session*>::iterator entry;
  SessionRegistration(Listener::State& s, Session* session)
      : state(s), entry(s.sessions.insert(s.sessions.end(), session)) {}
  ~SessionRegistration() {
    state.sessions.erase(entry);
    state.live.fetch_sub(1);
  }
};

// A socket between two listeners: closed if the hand-over never completes (the target's
// loop stopped first).
struct OwnedFd {
  int fd;
  explicit OwnedFd(int f) : fd(f) {}
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
};

using AddressSlot = std::shared_ptr<AddressCounts::Slot>;

asio::awaitable<void> run_session(std::shared_ptr<Listener::State> state, tcp::socket socket,
                                  std::string carried, int moves, AddressSlot slot);

// Where this connection should go after an answer with `affinity`, if anywhere: the same
// other listener named by enough answers in a row. Each move of a connection raises the
// bar for the next, so one that alternates between queues settles instead of bouncing.
std::shared_ptr<Listener::State> move_target(const Listener::State& state, int affinity,
                                             int moves, int& leaning, int& streak) {
  int needed = state.limits.move_after * (1 + moves);
  if (needed <= 0 || affinity < 0 || affinity == state.index ||
      affinity >= static_cast<int>(state.peers.size())) {
    leaning = -1;
    streak = 0;
    return nullptr;
  }
  if (affinity != leaning) {
    leaning = affinity;
    streak = 0;
  }
  if (++streak < needed) return nullptr;
  streak = 0;
  return state.peers[static_cast<std::size_t>(affinity)].lock();
}

// Hands an idle keep-alive connection (its answer written, nothing pending on it) to
// `to`, with the bytes already read past the last request. False when it stays here.
bool hand_over(Listener::State& from, Session& session, const beast::flat_buffer& buffer,
               int moves, const std::shared_ptr<Listener::State>& to, AddressSlot& slot) {
  if (to->draining || to->live.load() >= to->limits.max_connections) return false;
  boost::system::error_code error;
  tcp::socket& socket = session.socket;
  auto protocol = socket.local_endpoint(error).protocol();
  if (error) return false;
  int fd = socket.release(error);  // leaves this io_context's epoll set
  if (error) return false;
  auto owned = std::make_shared<OwnedFd>(fd);
  std::string carried(static_cast<const char*>(buffer.data().data()), buffer.size());
  to->live.fetch_add(1);
  from.moved.fetch_add(1, std::memory_order_relaxed);
  asio::post(to->context, [to, owned, protocol, moves, carried = std::move(carried),
                           slot = std::move(slot)]() mutable {
    if (to->draining && carried.empty()) {
      to->live.fetch_sub(1);
      return;  // `owned` closes it, as drain() closes idle connections
    }
    // Draining with a pipelined request already read: it is answered (with
    // Connection: close), as it would have been where it was.
    tcp::socket socket(to->context);
    boost::system::error_code error;
    socket.assign(protocol, owned->fd, error);
    if (error) {
      to->live.fetch_sub(1);
      return;
    }
    owned->fd = -1;  // the socket owns it now
    asio::co_spawn(to->context,
                   run_session(to, std::move(socket), std::move(carried), moves + 1, std::move(slot)),
                   asio::detached);
  });
  return true;
}

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

// After an answer that leaves a request's body unread: shut the sending side, then read
// and drop what the client still sends for a moment, so that closing with bytes unread
// does not make the kernel reset the connection and lose the answer (RFC 9112 §9.6).
asio::awaitable<void> linger_before_close(Session& session) {
  constexpr std::size_t kLingerBytes = 256 * 1024;
  constexpr int kLingerSeconds = 1;
  beast::error_code ignored;
  session.socket.shutdown(tcp::socket::shutdown_send, ignored);
  session.expires_after(kLingerSeconds);  // the sweep ends the reads below
  std::array<char, 16384> scratch;
  for (std::size_t dropped = 0; dropped < kLingerBytes;) {
    auto [error, bytes] = co_await session.socket.async_read_some(
        asio::buffer(scratch), asio::as_tuple(asio::use_awaitable));
    if (error) break;
    dropped += bytes;
  }
}

// How reading one request ended.
struct ReadOutcome {
  beast::error_code error;            // set: the request is not whole (closed, malformed, …)
  std::optional<Response> screened;  // set: refused from its head, body unread
  bool id_picked = false;            // request.request_id is the answer's id
};

// Reads one request into `parser`, byte for byte as Beast's http::async_read would, but
// stopping at the head: a request its route or method already refuses is answered before
// its body is read, `Expect: 100-continue` gets its 100, and a chunk line that ends in a
// bare LF (which Beast's parser waits on forever) is refused. The buffer's max size bounds
// what a chunk header line may hold.
asio::awaitable<ReadOutcome> read_request(Listener::State& state, Session& session,
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
        if ((out.screened = state.handler.screen(request))) co_return out;
        if (parser.expects_continue() && parser.version() >= 11) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [error, written] = co_await asio::async_write(
              session.socket, asio::buffer(kContinue), asio::as_tuple(asio::use_awaitable));
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
    auto [error, bytes] = co_await session.socket.async_read_some(
        buffer.prepare(room), asio::as_tuple(asio::use_awaitable));
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

asio::awaitable<void> run_session(std::shared_ptr<Listener::State> state, tcp::socket socket,
                                  std::string carried, int moves, AddressSlot slot) {
  Session session(std::move(socket));
  SessionRegistration registration(*state, &session);
  const ListenerLimits& limits = state->limits;
  // Room for the largest head plus one chunk header line: a body streams through it.
  beast::flat_buffer buffer(limits.max_header_bytes + RequestParser::kMaxChunkHeaderBytes);
  if (!carried.empty()) {
    auto room = buffer.prepare(carried.size());
    std::memcpy(room.data(), carried.data(), carried.size());
    buffer.commit(carried.size());
  }
  int leaning = -1, streak = 0;  // see move_target
  for (;;) {
    Request request;
    RequestParser parser(request);
    parser.header_limit(limits.max_header_bytes);
    parser.body_limit(limits.max_body_bytes);
    parser.eager(true);
    session.expires_after(limits.idle_timeout_seconds);
    ReadOutcome read = co_await read_request(*state, session, buffer, parser, request);
    if (read.screened) {
      Response refusal = std::move(*read.screened);
      auto error = co_await write(session, std::move(refusal), parser.version(), kNoKeepAlive,
                                  request.request_id, limits, parser.verb() == bhttp::verb::head);
      if (!error) co_await linger_before_close(session);
      break;
    }
    if (read.error) {
      const auto& error = read.error;
      // operation_aborted: the sweep timed the read out, or drain() closed an idle one.
      bool silent = session.timed_out || error == bhttp::error::end_of_stream ||
                    error == asio::error::operation_aborted ||
                    error == asio::error::connection_reset || error == asio::error::eof ||
                    state->draining;
      if (!silent) {
        // The client's own id once its head was read (a framing fault in its body).
        std::string request_id = read.id_picked ? request.request_id : new_request_id();
        co_await write(session,
                       reject_parse_error(state->handler, error, parser.refusal(), request_id),
                       kHttp11, kNoKeepAlive, request_id, limits);
      }
      break;
    }
    bool keep_alive = parser.keep_alive();
    unsigned version = parser.version();
    bool head_request = parser.verb() == bhttp::verb::head;

    session.busy = true;
    session.deadline = SteadyClock::time_point::max();  // a long poll bounds itself
    Response response = co_await state->handler.handle(request, session);
    session.stop_watching();
    if (session.watch->gone) break;
    bool close = response.close || !keep_alive || state->draining || session.closing;
    int affinity = response.affinity;
    // Still busy while writing: drain() must not cut a committed answer short.
    auto write_error = co_await write(session, std::move(response), version, !close,
                                      request.request_id, limits, head_request);
    session.busy = false;
    if (write_error || close || state->draining) break;
    if (auto target = move_target(*state, affinity, moves, leaning, streak)) {
      if (hand_over(*state, session, buffer, moves, target, slot)) co_return;
    }
  }
  beast::error_code ignored;
  session.socket.shutdown(tcp::socket::shutdown_send, ignored);
  session.socket.close(ignored);
}

// Sweeps often enough that a timeout fires within a quarter of itself (at most a second
// late).
SteadyClock::duration sweep_period(int idle_timeout_seconds) {
  auto quarter = std::chrono::milliseconds(idle_timeout_seconds * 250);
  return std::clamp<SteadyClock::duration>(quarter, std::chrono::milliseconds(100),
                                           std::chrono::seconds(1));
}

asio::awaitable<void> sweep_loop(std::shared_ptr<Listener::State> state) {
  const auto period = sweep_period(state->limits.idle_timeout_seconds);
  for (;;) {
    state->sweep.expires_after(period);
    // Runs while draining too: answers still being written stay bounded. The shard's
    // io_context is stopped explicitly at shutdown, so this loop does not hold it open.
    auto [error] = co_await state->sweep.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error) co_return;
    auto now = SteadyClock::now();
    for (Session* session : state->sessions) {
      if (session->deadline > now || session->timed_out) continue;
      session->timed_out = true;
      // Shut down, not only cancelled: a read or write that already finished but whose
      // handler is still queued would otherwise start the next one with no deadline.
      beast::error_code ignored;
      session->socket.shutdown(tcp::socket::shutdown_both, ignored);
      session->socket.cancel(ignored);
    }
  }
}

// A client address as bytes; an IPv4 client reached over IPv6 counts as that IPv4 address.
std::string address_key(asio::ip::address address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  if (address.is_v4()) {
    auto bytes = address.to_v4().to_bytes();
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  auto bytes = address.to_v6().to_bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// Answers 503 on a connection over a bound, then closes it.
void refuse_connection(const std::shared_ptr<Listener::State>& state, tcp::socket socket,
                       const char* why) {
  auto session = std::make_shared<Session>(std::move(socket));
  std::string request_id = new_request_id();
  Response response = state->handler.reject(503, "unavailable", why, request_id);
  response.close = true;
  asio::co_spawn(
      state->context,
      [session, response = std::move(response), request_id, state]() -> asio::awaitable<void> {
        // Listed (not counted as live) so the sweep bounds the write, as for any other;
        // unlisted however the coroutine ends.
        struct Listed {
          std::list<Session*>& list;
          std::list<Session*>::iterator entry;
          ~Listed() { list.erase(entry); }
        } listed{state->sessions, state->sessions.insert(state->sessions.end(), session.get())};
        co_await write(*session, response, kHttp11, kNoKeepAlive, request_id, state->limits);
        beast::error_code ignored;
        session->socket.shutdown(tcp::socket::shutdown_both, ignored);
      },
      asio::detached);
}

asio::awaitable<void> accept_loop(std::shared_ptr<Listener::State> state) {
  for (;;) {
    auto [error, socket] = co_await state->acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) {
      if (error == asio::error::operation_aborted || !state->acceptor.is_open()) co_return;
      // e.g. EMFILE: keep serving the connections we have, and retry in a moment rather
      // than spinning on a listen queue the kernel keeps signalling.
      asio::steady_timer pause(state->context, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (state->draining) continue;  // accepted just before drain(): close it unread
    AddressSlot slot;
    const char* refusal = nullptr;
    if (state->live.load() >= state->limits.max_connections) {
      refusal = "Too many connections (server.max_connections).";
    } else if (state->limits.per_address) {
      boost::system::error_code ignored;
      slot = state->limits.per_address->acquire(address_key(socket.remote_endpoint(ignored).address()));
      if (!slot) refusal = "Too many connections from this address (server.max_connections_per_ip).";
    }
    if (refusal) {
      // Over a bound: answer once, then close, so the client sees why.
      refuse_connection(state, std::move(socket), refusal);
      continue;
    }
    socket.set_option(tcp::no_delay(true));
    state->live.fetch_add(1);
    asio::co_spawn(state->context, run_session(state, std::move(socket), {}, 0, std::move(slot)),
                   asio::detached);
  }
}

}  // namespace

Listener::Listener(asio::io_context& context, Handler& handler, ListenerLimits limits, int index)
    : state_(std::make_shared<State>(context, handler, limits, index)) {}

Listener::~Listener() = default;

void Listener::set_peers(const std::vector<Listener*>& peers) {
  state_->peers.clear();
  for (Listener* peer : peers) state_->peers.push_back(peer->state_);
}

int Listener::live_connections() const { return state_->live.load(); }

std::uint64_t Listener::moved_connections() const {
  return state_->moved.load(std::memory_order_relaxed);
}

unsigned short Listener::open(const std::string& address, unsigned short port) {
  tcp::endpoint endpoint(asio::ip::make_address(address), port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor.local_endpoint().port();
}

void Listener::start() {
  asio::co_spawn(state_->context, accept_loop(state_), asio::detached);
  asio::co_spawn(state_->context, sweep_loop(state_), asio::detached);
}

void Listener::drain() {
  state_->draining = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  for (Session* session : state_->sessions) {
    if (session->busy) {
      session->closing = true;
    } else {
      session->socket.cancel(ignored);
    }
  }
  state_->drained = true;
}

bool Listener::drained() const { return state_->drained.load(); }

}  // namespace baton::http
