#pragma once
// HTTPS on the listeners: one OpenSSL context, loaded from the configured certificate and
// key, shared by every shard's connections. load() again (SIGHUP) swaps the context for
// connections that come after; connections already up keep theirs. A connection's TLS is
// a StreamLayer over its socket (session.hpp), so the session loop is the same for HTTP
// and HTTPS; such a connection stays on the shard that accepted it.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace baton::http {

class StreamLayer;

class TlsContexts {
 public:
  TlsContexts(std::string cert_file, std::string key_file);
  // Reads the files into a new context; false with `error` set when they are missing or
  // do not match, and the context in use (if any) stays.
  bool load(std::string& error);
  std::shared_ptr<boost::asio::ssl::context> current() const;

 private:
  std::string cert_file_;
  std::string key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

// Whether the first byte a client sent opens a TLS handshake (a TLS record of type 22).
inline bool opens_tls_handshake(unsigned char first_byte) { return first_byte == 0x16; }

// The server side of a handshake on `socket` (which must outlive the layer): the
// connection's layer, or null when the handshake failed (the caller closes the socket).
boost::asio::awaitable<std::unique_ptr<StreamLayer>> accept_tls(
    boost::asio::ip::tcp::socket& socket, std::shared_ptr<boost::asio::ssl::context> context);

}  // namespace baton::http
