#include "cli/http_post.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <cstdio>

#include "core/version.hpp"

namespace baton {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

// A reply bigger than this is no Baton answer to a command.
constexpr std::uint64_t kMaxReplyBytes = 1 << 20;

PostResult failed(std::string why) {
  PostResult result;
  result.failure = std::move(why);
  return result;
}

}  // namespace

PostResult call_json(std::string_view method, const std::string& base_url, const std::string& path,
                     const std::string& bearer, const std::string& body,
                     std::chrono::seconds connect_timeout) {
  auto url = boost::urls::parse_absolute_uri(base_url);
  if (!url || url->scheme() != "http" || url->host().empty()) {
    return failed(base_url + " is not an http://HOST[:PORT] URL");
  }
  std::string host = url->host_name().empty() ? std::string(url->host_address())
                                               : std::string(url->host_name());
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::string port = url->has_port() ? std::string(url->port()) : "80";
  std::string target = std::string(url->encoded_path());
  while (!target.empty() && target.back() == '/') target.pop_back();
  target += path;

  namespace http = beast::http;
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, url->encoded_authority());
  request.set(http::field::user_agent, std::string("baton/") + kBatonVersion);
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.set(http::field::authorization, "Bearer " + bearer);
  request.body() = body;
  request.prepare_payload();

  asio::io_context context;
  beast::tcp_stream stream(context);
  boost::system::error_code error;
  asio::ip::tcp::resolver resolver(context);
  auto addresses = resolver.resolve(host, port, error);
  if (error) return failed("cannot resolve " + host + ": " + error.message());
  stream.expires_after(connect_timeout);
  stream.connect(addresses, error);
  if (error) return failed("cannot connect to " + base_url + ": " + error.message());
  stream.expires_never();
  http::write(stream, request, error);
  if (error) return failed("cannot send to " + base_url + ": " + error.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBytes);
  http::read(stream, buffer, parser, error);
  if (error) return failed("no answer from " + base_url + ": " + error.message());
  PostResult result;
  result.reply = HttpReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, error);
  return result;
}

std::string text_of(const boost::json::object& fields, std::string_view name) {
  const boost::json::value* value = fields.if_contains(name);
  if (!value) return "";
  return value->is_string() ? std::string(value->get_string()) : boost::json::serialize(*value);
}

std::optional<boost::json::object> answer_of(const std::string& base_url, const std::string& bearer,
                                             std::string_view method, const std::string& path,
                                             const std::string& body, int wanted,
                                             const char* what) {
  constexpr std::chrono::seconds kConnectTimeout{10};
  PostResult called = call_json(method, base_url, path, bearer, body, kConnectTimeout);
  if (!called.reply) {
    std::fprintf(stderr, "baton: %s failed: %s\n", what, called.failure.c_str());
    return std::nullopt;
  }
  boost::system::error_code error;
  boost::json::value answer = boost::json::parse(called.reply->body, error);
  if (error || !answer.is_object()) {
    std::fprintf(stderr, "baton: %s failed: HTTP %d with a body that is not JSON: %.200s\n", what,
                 called.reply->status, called.reply->body.c_str());
    return std::nullopt;
  }
  boost::json::object& fields = answer.get_object();
  if (called.reply->status != wanted) {
    std::fprintf(stderr, "baton: %s refused (HTTP %d %s): %s\n", what, called.reply->status,
                 text_of(fields, "error").c_str(), text_of(fields, "message").c_str());
    return std::nullopt;
  }
  return std::move(fields);
}

}  // namespace baton
