#include "http/tls.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "http/session.hpp"

namespace baton::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

class TlsStream final : public StreamLayer {
 public:
  TlsStream(tcp::socket& socket, std::shared_ptr<ssl::context> context)
      : context_(std::move(context)), stream_(socket, *context_) {}

  asio::awaitable<boost::system::error_code> handshake() {
    auto [error] = co_await stream_.async_handshake(ssl::stream_base::server,
                                                    asio::as_tuple(asio::use_awaitable));
    co_return error;
  }

  asio::awaitable<IoResult> read_some(asio::mutable_buffer into) override {
    return stream_.async_read_some(into, asio::as_tuple(asio::use_awaitable));
  }
  asio::awaitable<IoResult> write(AnswerBuffers pieces) override {
    return asio::async_write(stream_, pieces, asio::as_tuple(asio::use_awaitable));
  }
  // close_notify is not sent: the answers are framed by Content-Length, so a client
  // loses nothing when the TCP connection simply ends after the last one.
  void shutdown_send() override {}
  void abort() override {}  // the socket's own shutdown ends every TLS operation on it
  bool peer_done() const override { return false; }
  ssl::stream<tcp::socket&>* tls_stream() override { return &stream_; }

 private:
  std::shared_ptr<ssl::context> context_;  // outlives the stream that uses it
  ssl::stream<tcp::socket&> stream_;
};

}  // namespace

TlsContexts::TlsContexts(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}

bool TlsContexts::load(std::string& error) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  // TLS 1.2 and 1.3 only; no renegotiation, no compression.
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::no_compression);
  boost::system::error_code failure;
  context->use_certificate_chain_file(cert_file_, failure);
  if (failure) {
    error = "cannot use the certificate " + cert_file_ + ": " + failure.message();
    return false;
  }
  context->use_private_key_file(key_file_, ssl::context::pem, failure);
  if (failure) {
    error = "cannot use the private key " + key_file_ + ": " + failure.message();
    return false;
  }
  std::lock_guard lock(mutex_);
  current_ = std::move(context);
  return true;
}

std::shared_ptr<ssl::context> TlsContexts::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

asio::awaitable<std::unique_ptr<StreamLayer>> accept_tls(tcp::socket& socket,
                                                         std::shared_ptr<ssl::context> context) {
  auto stream = std::make_unique<TlsStream>(socket, std::move(context));
  if (co_await stream->handshake()) co_return nullptr;
  co_return std::unique_ptr<StreamLayer>(std::move(stream));
}

}  // namespace baton::http
