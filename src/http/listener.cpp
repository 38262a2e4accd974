#include "http/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <list>

#include "core/failures.hpp"
#include "http/address_counts.hpp"
#include "http/request_parser.hpp"
#include "http/request_reader.hpp"
#include "http/session.hpp"
#include "http/streams.hpp"
#include "http/tls.hpp"
#include "http/wire.hpp"

namespace baton::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;


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
  AnswerBuffers wire{asio::buffer(head),
                     head_request ? asio::const_buffer() : asio::buffer(response.body)};
  session.expires_after(limits.idle_timeout_seconds);
  auto [error, written] = co_await session.write(wire);
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
                                  std::unique_ptr<StreamLayer> layer, std::string carried,
                                  int moves, AddressSlot slot);

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
  // A layer's state (TLS) lives on this thread's objects: such a connection stays here.
  if (session.layer || to->draining || to->live.load() >= to->limits.max_connections) return false;
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
    std::unique_ptr<StreamLayer> plain;
    asio::co_spawn(to->context,
                   run_session(to, std::move(socket), std::move(plain), std::move(carried),
                               moves + 1, std::move(slot)),
                   NoteFailure{"connection"});
  });
  return true;
}





// On an HTTPS listener, before the first request: a client that speaks plain HTTP gets a
// plain answer saying so (it could read no other), and one that speaks TLS gets its
// handshake. False when the connection must close.
asio::awaitable<bool> begin_tls(Listener::State& state, Session& session) {
  session.expires_after(state.limits.idle_timeout_seconds);
  auto [waited] = co_await session.socket.async_wait(tcp::socket::wait_read,
                                                     asio::as_tuple(asio::use_awaitable));
  unsigned char first = 0;
  if (waited || ::recv(session.socket.native_handle(), &first, 1, MSG_PEEK) != 1) co_return false;
  if (!opens_tls_handshake(first)) {
    std::string request_id = new_request_id();
    Response refusal = state.handler.reject(
        400, "invalid_request", "This port speaks HTTPS: send the request over TLS (https://).",
        request_id);
    co_await write(session, std::move(refusal), kHttp11, kNoKeepAlive, request_id, state.limits);
    co_await linger_before_close(session);
    co_return false;
  }
  auto context = state.limits.tls->current();
  session.layer = co_await accept_tls(session.socket, std::move(context));
  co_return session.layer != nullptr;
}

asio::awaitable<void> run_session(std::shared_ptr<Listener::State> state, tcp::socket socket,
                                  std::unique_ptr<StreamLayer> layer, std::string carried,
                                  int moves, AddressSlot slot) {
  Session session(std::move(socket), std::move(layer));
  SessionRegistration registration(*state, &session);
  const ListenerLimits& limits = state->limits;
  if (limits.tls && !session.layer && !co_await begin_tls(*state, session)) {
    beast::error_code ignored;
    session.socket.close(ignored);
    co_return;
  }
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
    ReadOutcome read = co_await read_request(state->handler, session, buffer, parser, request);
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
    if (response.stream) {
      // Whatever ends it (its end, the client, an exception), the stream is stopped: it
      // lets go of what it holds (its subscription, its slot).
      std::shared_ptr<BodyStream> stream = response.stream;
      struct StopAtEnd {
        std::shared_ptr<BodyStream> stream;
        ~StopAtEnd() { stream->stop(); }
      } stop_at_end{stream};
      if (state->draining) stream->drain();  // opened as the server began to shut down
      if (response.websocket) {
        session.streaming = stream;
        co_await run_websocket(session, request, stream, limits);
        session.streaming.reset();
      } else {
        response.headers.emplace_back("X-Request-Id", request.request_id);
        std::string head = serialize_head(response, version, kNoKeepAlive);
        if (!head_request) head += response.body;  // what comes before the stream's pieces
        co_await write_stream(session, std::move(head), stream, limits, head_request);
      }
      break;
    }
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
  session.shutdown_send();
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
      session->abort();
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
      NoteFailure{"refused connection"});
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
    std::unique_ptr<StreamLayer> plain;
    std::string nothing_read;
    asio::co_spawn(state->context,
                   run_session(state, std::move(socket), std::move(plain), std::move(nothing_read),
                               0, std::move(slot)),
                   NoteFailure{"connection"});
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
  asio::co_spawn(state_->context, accept_loop(state_), NoteFailure{"accept loop"});
  asio::co_spawn(state_->context, sweep_loop(state_), NoteFailure{"connection sweep"});
}

void Listener::drain() {
  state_->draining = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  for (Session* session : state_->sessions) {
    if (session->streaming) session->streaming->drain();
    if (session->busy) {
      session->closing = true;
    } else {
      session->socket.cancel(ignored);
    }
  }
  state_->drained = true;
}

bool Listener::drained() const { return state_->drained.load(); }

asio::awaitable<void> Listener::serve(std::unique_ptr<StreamLayer> layer) {
  state_->live.fetch_add(1);
  tcp::socket unopened(state_->context);
  std::string nothing_read;
  AddressSlot no_slot;
  co_await run_session(state_, std::move(unopened), std::move(layer), std::move(nothing_read), 0,
                       std::move(no_slot));
}

}  // namespace baton::http
