#pragma once
// One shard's HTTP front door: an SO_REUSEPORT acceptor on the shard's io_context and the
// sessions it accepted (each a coroutine: read -> handle -> write -> loop). Parser limits,
// idle timeout and the connection bound come from the config. Used on the shard's thread,
// except live_connections(), which any thread may read.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace baton::http {

class StreamLayer;

struct ListenerLimits {
  std::uint64_t max_body_bytes = 1048576;
  std::uint32_t max_header_bytes = 16384;
  int idle_timeout_seconds = 60;
  int max_connections = 10000;  // this shard's share
  // Answers in a row whose affinity names the same other listener before the connection
  // moves to it (0: connections stay where the kernel put them).
  int move_after = 2;
  // Connections per client address, shared by every listener; null: no bound.
  std::shared_ptr<class AddressCounts> per_address;
  // HTTPS with these contexts (shared by every listener); null: plain HTTP.
  std::shared_ptr<class TlsContexts> tls;
};

// Listeners are numbered like the shards they run on. A keep-alive connection can move
// from one to another between requests (Response::affinity): its socket is handed to the
// other listener's io_context with any bytes already read, and it carries on there.
class Listener {
 public:
  Listener(boost::asio::io_context& context, Handler& handler, ListenerLimits limits,
           int index = 0);
  ~Listener();
  // The listeners connections may move to, by index (this one included). Before start().
  void set_peers(const std::vector<Listener*>& peers);
  // Binds address:port with SO_REUSEPORT and returns the port bound (port 0 picks one);
  // throws std::system_error on failure. Any thread.
  unsigned short open(const std::string& address, unsigned short port);
  void start();  // begins accepting; on the shard's thread
  // Stops accepting, closes idle connections, and lets busy ones close after their
  // response. On the shard's thread.
  void drain();
  // drain() has run. Once every listener has drained, no connection is between two of
  // them: each one that moved is counted by the listener it went to.
  bool drained() const;
  int live_connections() const;
  // Connections this listener handed to another one, since start.
  std::uint64_t moved_connections() const;
  // Serves one connection whose bytes come through `layer` alone (no socket: the fuzzer's
  // memory stream) exactly as an accepted one is served; ends when it closes. On the
  // shard's thread.
  boost::asio::awaitable<void> serve(std::unique_ptr<StreamLayer> layer);

  struct State;  // defined in listener.cpp

 private:
  std::shared_ptr<State> state_;
};

}  // namespace baton::http
