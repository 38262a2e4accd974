#define BOOST_TEST_MODULE wire
#include <boost/test/unit_test.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <vector>

#include "core/errors.hpp"
#include "http/wire.hpp"

using namespace baton::http;
namespace bhttp = boost::beast::http;

namespace {

Response answer(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers.emplace_back("X-Request-Id", "req_1");
  return response;
}

// Parses `wire` as a client would; `head` tells the parser no body follows.
bhttp::response<bhttp::string_body> parse(const std::string& wire, bool head = false) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(head);
  boost::beast::error_code error;
  std::size_t used = 0;
  while (!parser.is_done() && used < wire.size()) {
    std::size_t step = parser.put(boost::asio::buffer(wire.data() + used, wire.size() - used), error);
    if (error == bhttp::error::need_more) error = {};
    BOOST_TEST_REQUIRE(!error, error.message());
    if (step == 0) break;
    used += step;
  }
  BOOST_TEST_REQUIRE(parser.is_done());
  BOOST_TEST(used == wire.size());  // nothing after the answer: framing is exact
  return parser.release();
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_answer_parses_back_with_its_status_headers_and_body) {
  std::string wire = serialize_response(answer(201, R"({"task":{}})"), 11, true, false);
  auto message = parse(wire);
  BOOST_TEST(message.result_int() == 201u);
  BOOST_TEST(std::string(message.reason()) == "Created");
  BOOST_TEST(std::string(message[bhttp::field::content_type]) == "application/json");
  BOOST_TEST(std::string(message[bhttp::field::server]) == "baton");
  BOOST_TEST(std::string(message["X-Request-Id"]) == "req_1");
  BOOST_TEST(std::string(message[bhttp::field::content_length]) == "11");
  BOOST_TEST(message.body() == R"({"task":{}})");
  BOOST_TEST(message.keep_alive());
}

BOOST_AUTO_TEST_CASE(keep_alive_and_close_follow_the_version_defaults) {
  BOOST_TEST(!parse(serialize_response(answer(200, "{}"), 11, false, false)).keep_alive());
  auto closing = answer(200, "{}");
  closing.close = true;
  BOOST_TEST(!parse(serialize_response(closing, 11, true, false)).keep_alive());
  std::string old_keep = serialize_response(answer(200, "{}"), 10, true, false);
  BOOST_TEST(old_keep.starts_with("HTTP/1.0 200 OK\r\n"));
  BOOST_TEST(parse(old_keep).keep_alive());
  BOOST_TEST(!parse(serialize_response(answer(200, "{}"), 10, false, false)).keep_alive());
}

BOOST_AUTO_TEST_CASE(a_head_answer_has_the_length_but_no_body) {
  std::string wire = serialize_response(answer(200, R"({"status":"ok"})"), 11, true, true);
  BOOST_TEST(wire.ends_with("\r\n\r\n"));
  auto message = parse(wire, true);
  BOOST_TEST(std::string(message[bhttp::field::content_length]) == "15");
  BOOST_TEST(message.body().empty());
}

BOOST_AUTO_TEST_CASE(headers_carrying_line_breaks_are_dropped) {
  auto response = answer(429, "{}");
  response.headers.emplace_back("Retry-After", "3");
  response.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x=1");
  response.headers.emplace_back("X-Bad\nName", "v");
  auto message = parse(serialize_response(response, 11, true, false));
  BOOST_TEST(std::string(message[bhttp::field::retry_after]) == "3");
  BOOST_TEST((message.find("X-Evil") == message.end()));
  BOOST_TEST((message.find(bhttp::field::set_cookie) == message.end()));
  BOOST_TEST(std::string(message.reason()) == "Too Many Requests");
}

BOOST_AUTO_TEST_CASE(every_status_the_api_uses_has_its_reason_phrase) {
  std::vector<int> statuses = {200, 201};
  for (const baton::ErrorInfo& info : baton::error_catalog()) statuses.push_back(info.http_status);
  for (int status : statuses) {
    BOOST_TEST_CONTEXT("status " << status) {
      auto message = parse(serialize_response(answer(status, "{}"), 11, true, false));
      BOOST_TEST(message.result_int() == static_cast<unsigned>(status));
      BOOST_TEST(std::string(message.reason()) != "<unknown-status>");
      BOOST_TEST(!message.reason().empty());
    }
  }
}
