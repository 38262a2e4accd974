// HTTPS: server.tls serves the same API over TLS, with a self-signed certificate this
// test makes (the openssl command); plain HTTP to the TLS port gets a clean refusal; a
// SIGHUP loads a renewed certificate for the connections that come after.
#define BOOST_TEST_MODULE tls
#include <boost/test/included/unit_test.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <openssl/x509.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "integration/harness.hpp"
#include "support/temp_dir.hpp"

using namespace baton::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;

namespace {

// A self-signed certificate for 127.0.0.1 with `subject` as its common name.
void make_certificate(const std::filesystem::path& cert, const std::filesystem::path& key,
                      const std::string& subject) {
  const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=" +
                              subject + "' -addext 'subjectAltName=IP:127.0.0.1' -keyout '" +
                              key.string() + "' -out '" + cert.string() + "' 2>/dev/null";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
}

// One HTTPS connection that trusts only `ca` and reports the server's certificate name.
struct HttpsClient {
  asio::io_context context;
  ssl::context tls{ssl::context::tls_client};
  ssl::stream<asio::ip::tcp::socket> stream{context, tls};
  std::string peer_name;

  HttpsClient(unsigned short port, const std::filesystem::path& ca) {
    tls.load_verify_file(ca.string());
    stream.set_verify_mode(ssl::verify_peer);
    asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port);
    stream.next_layer().connect(at);
    stream.handshake(ssl::stream_base::client);
    X509* peer = SSL_get_peer_certificate(stream.native_handle());
    if (peer) {
      char name[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
      peer_name = name;
      X509_free(peer);
    }
  }

  bhttp::response<bhttp::string_body> request(bhttp::verb method, const std::string& target,
                                              const std::string& key = {},
                                              const std::string& body = {}) {
    bhttp::request<bhttp::string_body> request{method, target, 11};
    request.set(bhttp::field::host, "127.0.0.1");
    if (!key.empty()) request.set(bhttp::field::authorization, "Bearer " + key);
    if (!body.empty()) {
      request.set(bhttp::field::content_type, "application/json");
      request.body() = body;
    }
    request.prepare_payload();
    bhttp::write(stream, request);
    boost::beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> response;
    bhttp::read(stream, buffer, response);
    return response;
  }
};

struct TlsFixture {
  TempDir dir{"baton-tls"};
  std::filesystem::path cert = dir.path / "cert.pem", key = dir.path / "key.pem";
  std::unique_ptr<TestServer> server;

  TlsFixture() {
    make_certificate(cert, key, "baton-first");
    ServerOptions options = ServerOptions{}.with(
        "server.tls", "{cert: \"" + cert.string() + "\", key: \"" + key.string() + "\"}");
    options.https = true;
    server = std::make_unique<TestServer>(options);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(the_api_works_over_https, TlsFixture) {
  HttpsClient client(server->port(), cert);
  BOOST_TEST(client.peer_name == "baton-first");
  auto health = client.request(bhttp::verb::get, "/health");
  BOOST_TEST(health.result_int() == 200);

  auto registered = client.request(bhttp::verb::post, "/v1/keys/register");
  BOOST_REQUIRE(registered.result_int() == 201);
  const std::string api_key(boost::json::parse(registered.body()).at("apiKey").as_string());
  auto created = client.request(bhttp::verb::post, "/v1/tasks", api_key,
                                R"({"type":"tls_task","payload":{"n":1}})");
  BOOST_TEST(created.result_int() == 201);
  auto claimed = client.request(bhttp::verb::post, "/v1/tasks/claim", api_key, R"({"type":"tls_task"})");
  BOOST_REQUIRE(claimed.result_int() == 200);
  auto claim = boost::json::parse(claimed.body());
  BOOST_TEST(claim.at("task").at("status").as_string() == "claimed");
  BOOST_TEST(claim.as_object().contains("agent_contract"));
  // Keep-alive: several requests went over the one TLS connection.
  auto again = client.request(bhttp::verb::get, "/v1/tasks", api_key);
  BOOST_TEST(again.result_int() == 200);
}

// Live log streams over HTTPS: Server-Sent Events read to their end, and a WebSocket
// (wss) over the same TLS layer.
BOOST_FIXTURE_TEST_CASE(log_streams_work_over_https, TlsFixture) {
  HttpsClient setup(server->port(), cert);
  auto registered = setup.request(bhttp::verb::post, "/v1/keys/register");
  BOOST_REQUIRE(registered.result_int() == 201);
  const std::string api_key(boost::json::parse(registered.body()).at("apiKey").as_string());
  auto created = setup.request(bhttp::verb::post, "/v1/tasks", api_key,
                               R"({"type":"tls_logs","payload":{}})");
  BOOST_REQUIRE(created.result_int() == 201);
  const std::string id(boost::json::parse(created.body()).at("task").at("id").as_string());
  auto claimed = setup.request(bhttp::verb::post, "/v1/tasks/" + id + "/claim", api_key, "{}");
  BOOST_REQUIRE(claimed.result_int() == 200);
  const std::string token(boost::json::parse(claimed.body()).at("task").at("leaseToken").as_string());
  auto appended = setup.request(bhttp::verb::post, "/v1/tasks/" + id + "/logs", api_key,
                                R"({"lease_token":")" + token + R"(","lines":[{"message":"secure"}]})");
  BOOST_REQUIRE(appended.result_int() == 200);

  HttpsClient for_ws(server->port(), cert);
  boost::beast::websocket::stream<ssl::stream<asio::ip::tcp::socket>&> ws(for_ws.stream);
  ws.set_option(boost::beast::websocket::stream_base::decorator(
      [&](boost::beast::websocket::request_type& request) {
        request.set(bhttp::field::authorization, "Bearer " + api_key);
      }));
  ws.handshake("127.0.0.1", "/v1/tasks/" + id + "/logs/stream");
  boost::beast::flat_buffer message;
  ws.read(message);
  auto first = boost::json::parse(boost::beast::buffers_to_string(message.data()));
  BOOST_TEST(first.at("type").as_string() == "logs");
  BOOST_TEST(first.at("data").at(0).at("message").as_string() == "secure");

  auto done = setup.request(bhttp::verb::post, "/v1/tasks/" + id + "/complete", api_key,
                            R"({"lease_token":")" + token + R"("})");
  BOOST_REQUIRE(done.result_int() == 200);
  message.consume(message.size());
  ws.read(message);
  auto last = boost::json::parse(boost::beast::buffers_to_string(message.data()));
  BOOST_TEST(last.at("type").as_string() == "end");
  boost::system::error_code closed;
  message.consume(message.size());
  ws.read(message, closed);  // the server's close frame
  BOOST_TEST((closed == boost::beast::websocket::error::closed));

  // SSE over TLS: the task is over, so the stream is its backlog and its end.
  HttpsClient for_sse(server->port(), cert);
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, "/v1/tasks/" + id + "/logs/stream", 11};
  request.set(bhttp::field::host, "127.0.0.1");
  request.set(bhttp::field::authorization, "Bearer " + api_key);
  bhttp::write(for_sse.stream, request);
  std::string seen;
  char buffer[4096];
  boost::system::error_code read_error;
  while (seen.find("event: end") == std::string::npos) {
    std::size_t n = for_sse.stream.read_some(asio::buffer(buffer), read_error);
    seen.append(buffer, n);
    if (read_error) break;
  }
  BOOST_TEST(seen.find("text/event-stream") != std::string::npos);
  BOOST_TEST(seen.find("\"message\":\"secure\"") != std::string::npos);
  BOOST_TEST(seen.find("event: end") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(plain_http_to_the_tls_port_gets_a_plain_refusal, TlsFixture) {
  RawRead read = raw_exchange(server->port(), "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 5s);
  BOOST_REQUIRE(read.status() == 400);
  Response r = parse_raw_response(read.data);
  BATON_CHECK_ERROR(r, "invalid_request");
  BOOST_TEST(r.body.find("HTTPS") != std::string::npos);
  // The server is unharmed: TLS clients are served.
  HttpsClient client(server->port(), cert);
  BOOST_TEST(client.request(bhttp::verb::get, "/health").result_int() == 200);
}

BOOST_FIXTURE_TEST_CASE(a_failed_handshake_closes_only_that_connection, TlsFixture) {
  // A TLS record header, then garbage.
  RawRead read = raw_exchange(server->port(), std::string("\x16\x03\x01\x00\x05hello", 10), 5s);
  BOOST_TEST(read.closed);
  BOOST_TEST(read.status() == 0);
  HttpsClient client(server->port(), cert);
  BOOST_TEST(client.request(bhttp::verb::get, "/health").result_int() == 200);
}

BOOST_FIXTURE_TEST_CASE(sighup_loads_a_renewed_certificate_for_new_connections, TlsFixture) {
  HttpsClient before(server->port(), cert);
  BOOST_TEST(before.peer_name == "baton-first");

  // A broken file is refused and the certificate in use stays.
  std::filesystem::copy_file(cert, dir.path / "cert.good");
  { std::ofstream(cert) << "not a certificate"; }
  ::kill(server->pid(), SIGHUP);
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(HttpsClient(server->port(), dir.path / "cert.good").peer_name == "baton-first");

  make_certificate(cert, key, "baton-renewed");
  ::kill(server->pid(), SIGHUP);
  std::string seen;
  for (int i = 0; i < 50 && seen != "baton-renewed"; ++i) {
    std::this_thread::sleep_for(100ms);
    seen = HttpsClient(server->port(), cert).peer_name;
  }
  BOOST_TEST(seen == "baton-renewed");
  // The connection made before the reload goes on with its own session.
  BOOST_TEST(before.request(bhttp::verb::get, "/health").result_int() == 200);
  BOOST_TEST(server->alive());
}

BOOST_AUTO_TEST_CASE(a_certificate_that_cannot_be_read_stops_the_server_at_start) {
  TempDir dir("baton-tls");
  const auto missing = dir.path / "missing.pem";
  ServerOptions options = ServerOptions{}.with(
      "server.tls", "{cert: \"" + missing.string() + "\", key: \"" + missing.string() + "\"}");
  options.https = true;
  try {
    TestServer server(options);
    BOOST_ERROR("the server started without its certificate");
  } catch (const std::runtime_error& failure) {
    // The harness quotes the server's log: it names the file it could not use.
    BOOST_TEST(std::string(failure.what()).find("cannot serve HTTPS") != std::string::npos,
               failure.what());
  }
}
