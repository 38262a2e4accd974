#define BOOST_TEST_MODULE request_parser
#include <boost/test/unit_test.hpp>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <random>
#include <string>
#include <vector>

#include "http/request_parser.hpp"

using namespace baton::http;
namespace bhttp = boost::beast::http;

namespace {

struct Parsed {
  Request request;
  boost::beast::error_code error;
  bool done = false;
  bool keep_alive = false;
  unsigned version = 0;
  bhttp::verb verb = bhttp::verb::unknown;
  std::size_t used = 0;
  std::string refusal;  // RequestParser::refusal(): one of Baton's own framing rules
};

// Feeds `wire` to a parser `step` bytes at a time (as reads split it), with the limits.
Parsed parse(const std::string& wire, std::size_t step = 1 << 20, std::uint32_t header_limit = 16384,
             std::uint64_t body_limit = 1 << 20) {
  Parsed out;
  RequestParser parser(out.request);
  parser.header_limit(header_limit);
  parser.body_limit(body_limit);
  std::size_t fed = 0;  // bytes offered so far (the parser may keep some for later)
  while (!parser.is_done() && out.used < wire.size()) {
    fed = std::min(wire.size(), std::max(fed, out.used) + step);
    out.used += parser.put(boost::asio::buffer(wire.data() + out.used, fed - out.used), out.error);
    if (out.error == bhttp::error::need_more) {
      out.error = {};
      if (fed == wire.size()) break;
      continue;
    }
    if (out.error) {
      out.refusal = std::string(parser.refusal());
      return out;
    }
  }
  out.refusal = std::string(parser.refusal());
  out.done = parser.is_done();
  if (out.done) {
    out.keep_alive = parser.keep_alive();
    out.version = parser.version();
    out.verb = parser.verb();
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(method_target_headers_and_body_land_in_the_request) {
  std::string wire =
      "POST /v1/tasks?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer k1\r\nIdempotency-Key: abc\r\nX-Request-Id: req_7\r\n"
      "Content-Length: 13\r\n\r\n{\"type\":\"t\"}\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{7}, wire.size()}) {
    Parsed p = parse(wire, step);
    BOOST_TEST_REQUIRE(!p.error, p.error.message());
    BOOST_TEST_REQUIRE(p.done);
    BOOST_TEST(p.used == wire.size());
    BOOST_TEST(p.request.method == "POST");
    BOOST_TEST(p.request.target == "/v1/tasks?x=1");
    BOOST_TEST(p.request.content_type == "application/json");
    BOOST_TEST(p.request.authorization == "Bearer k1");
    BOOST_TEST(p.request.has_idempotency_key);
    BOOST_TEST(p.request.idempotency_key == "abc");
    BOOST_TEST(p.request.request_id == "req_7");
    BOOST_TEST(p.request.body == "{\"type\":\"t\"}\n");
    BOOST_TEST(p.keep_alive);
    BOOST_TEST(p.version == 11u);
    BOOST_TEST((p.verb == bhttp::verb::post));
  }
}

BOOST_AUTO_TEST_CASE(header_names_match_in_any_case_and_the_first_of_a_repeat_wins) {
  Parsed p = parse(
      "GET /health HTTP/1.1\r\nHost: a\r\ncontent-type: text/plain\r\nCONTENT-TYPE: application/json\r\n"
      "authorization: Bearer first\r\nAuthorization: Bearer second\r\n"
      "idempotency-key: one\r\nIDEMPOTENCY-KEY: two\r\nx-request-id: r1\r\nX-Request-ID: r2\r\n\r\n");
  BOOST_TEST_REQUIRE(p.done);
  BOOST_TEST(p.request.content_type == "text/plain");
  BOOST_TEST(p.request.authorization == "Bearer first");
  BOOST_TEST(p.request.idempotency_key == "one");
  BOOST_TEST(p.request.request_id == "r1");
  BOOST_TEST(p.request.body.empty());
}

BOOST_AUTO_TEST_CASE(absent_headers_stay_empty_and_an_empty_idempotency_key_is_still_sent) {
  Parsed p = parse("GET /v1/tasks HTTP/1.1\r\nHost: a\r\nIdempotency-Key: \r\n\r\n");
  BOOST_TEST_REQUIRE(p.done);
  BOOST_TEST(p.request.content_type.empty());
  BOOST_TEST(p.request.authorization.empty());
  BOOST_TEST(p.request.request_id.empty());
  BOOST_TEST(p.request.has_idempotency_key);  // present but empty: the api rejects it
  BOOST_TEST(p.request.idempotency_key.empty());
}

BOOST_AUTO_TEST_CASE(a_chunked_body_is_joined) {
  Parsed p = parse(
      "POST /v1/tasks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
      5);
  BOOST_TEST_REQUIRE(!p.error, p.error.message());
  BOOST_TEST_REQUIRE(p.done);
  BOOST_TEST(p.request.body == "{\"a\":1}");
}

BOOST_AUTO_TEST_CASE(http_1_0_and_connection_close_are_not_keep_alive) {
  Parsed old = parse("GET /health HTTP/1.0\r\n\r\n");
  BOOST_TEST_REQUIRE(old.done);
  BOOST_TEST(old.version == 10u);
  BOOST_TEST(!old.keep_alive);
  Parsed closing = parse("GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  BOOST_TEST_REQUIRE(closing.done);
  BOOST_TEST(!closing.keep_alive);
  Parsed head = parse("HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n");
  BOOST_TEST((head.verb == bhttp::verb::head));
  BOOST_TEST(head.request.method == "HEAD");
}

BOOST_AUTO_TEST_CASE(the_limits_are_beasts_own) {
  Parsed big_body = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", 1 << 20, 16384, 10);
  BOOST_TEST((big_body.error == bhttp::error::body_limit));
  BOOST_TEST(big_body.request.body.empty());  // refused before any byte was kept
  Parsed big_chunks = parse(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
      1 << 20, 16384, 10);
  BOOST_TEST((big_chunks.error == bhttp::error::body_limit));
  std::string long_header = "GET / HTTP/1.1\r\nX-Pad: " + std::string(200, 'a') + "\r\n\r\n";
  Parsed big_header = parse(long_header, 1 << 20, 64);
  BOOST_TEST((big_header.error == bhttp::error::header_limit));
  Parsed broken = parse("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
  BOOST_TEST(static_cast<bool>(broken.error));
  BOOST_TEST(!broken.done);
}

// Differential: on valid and on randomly broken requests, fed in random pieces, the
// parser must agree with Beast's own request_parser<string_body> (what the listener used
// before) on the outcome and on everything the api reads.
BOOST_AUTO_TEST_CASE(agrees_with_beasts_request_parser_on_mutated_requests) {
  const std::vector<std::string> seeds = {
      "POST /v1/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Authorization: Bearer k\r\nIdempotency-Key: i1\r\nX-Request-Id: r1\r\n"
      "Content-Length: 15\r\n\r\n{\"type\":\"x\",1}",
      "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "POST /v1/tasks/claim HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\ncontent-type: a/b\r\n\r\n"
      "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: t\r\n\r\n",
      "DELETE /v1/keys/key_1 HTTP/1.1\r\nHost: a\r\nauthorization: Bearer a\r\nAuthorization: Bearer b\r\n"
      "Connection: close\r\nContent-Length: 0\r\n\r\n",
      "HEAD /health HTTP/1.1\r\nHost: a\r\nX-Request-Id: \x01" "bad\r\nIdempotency-Key:\r\n\r\n",
  };
  std::mt19937 rng(20261123);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  const std::string alphabet = "\r\n :;,\"{}09azAZ\x00\x7f\xff-_/";
  int compared = 0, both_ok = 0, refused_by_rules = 0;
  for (int round = 0; round < 6000; ++round) {
    std::string wire = seeds[pick(seeds.size())];
    int mutations = static_cast<int>(pick(4));
    for (int m = 0; m < mutations && !wire.empty(); ++m) {
      std::size_t at = pick(wire.size());
      switch (pick(4)) {
        case 0: wire[at] = alphabet[pick(alphabet.size())]; break;
        case 1: wire.insert(at, 1, alphabet[pick(alphabet.size())]); break;
        case 2: wire.erase(at, 1); break;
        default: wire.resize(at); break;
      }
    }
    std::size_t step = 1 + pick(40);

    Parsed ours = parse(wire, step, 512, 64);

    bhttp::request_parser<bhttp::string_body> theirs;
    theirs.header_limit(512);
    theirs.body_limit(64);
    boost::beast::error_code their_error;
    std::size_t used = 0, fed = 0;
    while (!theirs.is_done() && used < wire.size()) {
      fed = std::min(wire.size(), std::max(fed, used) + step);
      used += theirs.put(boost::asio::buffer(wire.data() + used, fed - used), their_error);
      if (their_error == bhttp::error::need_more) {
        their_error = {};
        if (fed == wire.size()) break;
        continue;
      }
      if (their_error) break;
    }
    ++compared;
    BOOST_TEST_CONTEXT("round " << round << " wire " << boost::beast::string_view(wire)) {
      if (!ours.refusal.empty()) {
        // One of Baton's stricter framing rules (Host, Transfer-Encoding) refused what
        // Beast's parser may take: the request must have got at least as far as its head.
        ++refused_by_rules;
        BOOST_TEST(!ours.done);
        BOOST_TEST((!their_error || their_error == ours.error || theirs.is_header_done()));
        continue;
      }
      BOOST_TEST(ours.error == their_error);
      BOOST_TEST(ours.done == theirs.is_done());
      if (!ours.done || !theirs.is_done()) continue;
      ++both_ok;
      const auto& m = theirs.get();
      BOOST_TEST(ours.used == used);
      BOOST_TEST(ours.request.method == std::string(m.method_string()));
      BOOST_TEST(ours.request.target == std::string(m.target()));
      BOOST_TEST(ours.version == m.version());
      BOOST_TEST(ours.keep_alive == m.keep_alive());
      BOOST_TEST(ours.request.content_type == std::string(m[bhttp::field::content_type]));
      BOOST_TEST(ours.request.authorization == std::string(m[bhttp::field::authorization]));
      auto key = m.find("Idempotency-Key");
      BOOST_TEST(ours.request.has_idempotency_key == (key != m.end()));
      if (key != m.end()) BOOST_TEST(ours.request.idempotency_key == std::string(key->value()));
      BOOST_TEST(ours.request.request_id == std::string(m["X-Request-Id"]));
      BOOST_TEST(ours.request.body == m.body());
    }
  }
  BOOST_TEST(compared == 6000);
  BOOST_TEST(both_ok > 500);  // the comparison covered many complete requests
  BOOST_TEST(refused_by_rules > 0);
  BOOST_TEST(refused_by_rules < 1500);
}

// ---- Baton's own framing rules (RFC 9112) --------------------------------------------

BOOST_AUTO_TEST_CASE(an_http_1_1_request_needs_exactly_one_host) {
  Parsed none = parse("GET /health HTTP/1.1\r\n\r\n");
  BOOST_TEST(static_cast<bool>(none.error));
  BOOST_TEST(none.refusal.find("Host") != std::string::npos);
  Parsed two = parse("GET /health HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n");
  BOOST_TEST(static_cast<bool>(two.error));
  BOOST_TEST(!two.refusal.empty());
  Parsed old = parse("GET /health HTTP/1.0\r\n\r\n");  // HTTP/1.0 needs none
  BOOST_TEST(old.done);
}

BOOST_AUTO_TEST_CASE(only_a_single_chunked_coding_frames_a_body) {
  const std::string tail = "\r\n\r\n0\r\n\r\n";
  for (const char* coding : {"chunked, gzip", "gzip, chunked", "xchunked", "chunked, chunked",
                             "identity", "", " , "}) {
    BOOST_TEST_CONTEXT(coding) {
      Parsed p = parse(std::string("POST /v1/tasks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") +
                       coding + tail);
      BOOST_TEST(static_cast<bool>(p.error));
      BOOST_TEST(!p.done);
      BOOST_TEST(!p.refusal.empty());
    }
  }
  Parsed split = parse("POST /v1/tasks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n"
                       "Transfer-Encoding: chunked" + tail);
  BOOST_TEST(static_cast<bool>(split.error));
  Parsed upper = parse("POST /v1/tasks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  Chunked " + tail);
  BOOST_TEST(upper.done, upper.error.message());
  Parsed old = parse("POST /v1/tasks HTTP/1.0\r\nTransfer-Encoding: chunked" + tail);
  BOOST_TEST(static_cast<bool>(old.error));
  BOOST_TEST(old.refusal.find("HTTP/1.0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_absolute_form_target_becomes_its_path) {
  Parsed p = parse("GET http://example.com:7420/health?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  BOOST_TEST_REQUIRE(p.done);
  BOOST_TEST(p.request.target == "/health?x=1");
  Parsed bare = parse("GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
  BOOST_TEST_REQUIRE(bare.done);
  BOOST_TEST(bare.request.target == "/");
  Parsed query = parse("GET http://example.com?a=b HTTP/1.1\r\nHost: example.com\r\n\r\n");
  BOOST_TEST_REQUIRE(query.done);
  BOOST_TEST(query.request.target == "/?a=b");
}

BOOST_AUTO_TEST_CASE(expect_continue_is_noticed) {
  Parsed p = parse("POST /v1/tasks HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n"
                   "Content-Length: 2\r\n\r\n{}");
  BOOST_TEST_REQUIRE(p.done);
  RequestParser parser(p.request);
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  boost::beast::error_code error;
  parser.put(boost::asio::buffer(head), error);
  BOOST_TEST(parser.is_header_done());
  BOOST_TEST(parser.expects_continue());
}

BOOST_AUTO_TEST_CASE(a_chunk_extension_longer_than_the_bound_is_refused) {
  std::string ok_line = "1;" + std::string(RequestParser::kMaxChunkHeaderBytes - 1, 'x');
  std::string long_line = "1;" + std::string(RequestParser::kMaxChunkHeaderBytes, 'x');
  const std::string head = "POST /v1/tasks HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  Parsed fine = parse(head + ok_line + "\r\na\r\n0\r\n\r\n", 1 << 20, 16384, 1 << 20);
  BOOST_TEST(fine.done, fine.error.message());
  Parsed refused = parse(head + long_line + "\r\na\r\n0\r\n\r\n", 1 << 20, 16384, 1 << 20);
  BOOST_TEST(static_cast<bool>(refused.error));
  BOOST_TEST(!refused.refusal.empty());
}
