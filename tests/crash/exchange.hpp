#pragma once
// One request and the moments around it, for the crash loop. A transport error (refused,
// reset, timeout) is not an answer: the caller counts that request's outcome as unknown.
#include <optional>
#include <string>
#include <utility>

#include "crash/ledger.hpp"
#include "integration/harness.hpp"

namespace baton::crash {

struct Answered {
  std::optional<test::Response> response;  // none: the answer never came
  // No answer because no connection could be made: the request was never sent, so its
  // outcome is known (nothing happened). The harness's Client says so as "connect to …".
  bool not_sent = false;
  Exchange at;
};

// Runs `send` (a Client call), stamping the clocks before and after: the sent stamps are
// taken before the request leaves and the answered stamps after the answer is read, so
// the server handled it in between.
template <class Send>
Answered exchange(Send&& send) {
  Answered out;
  out.at.sent_wall = WallClock::now();
  out.at.sent = SteadyClock::now();
  try {
    out.response = send();
  } catch (const std::exception& e) {
    out.response.reset();
    out.not_sent = std::string_view(e.what()).starts_with("connect to ");
  }
  out.at.answered = SteadyClock::now();
  out.at.answered_wall = WallClock::now();
  return out;
}

// A request as raw HTTP/1.1 bytes: Bearer `key`, a JSON body, and `extra_headers`
// (each "Name: value").
std::string raw_http(std::string_view method, std::string_view target, std::string_view key,
                     std::string_view body, const test::Headers& extra_headers = {});

// Reads one answer from `connection` (sent at `at`); a partial answer is no answer.
Answered read_raw_answer(test::RawConnection& connection, Exchange at);

// Sends `raw` on a new connection and, while it is in flight, the same request through
// `send` (another connection): a client that gave up waiting and sent it again. Returns
// both answers, the raw connection's first.
template <class Send>
std::pair<Answered, Answered> twice_at_once(int port, const std::string& raw, Send&& send) {
  Exchange first_at;
  first_at.sent_wall = WallClock::now();
  first_at.sent = SteadyClock::now();
  std::optional<test::RawConnection> connection;
  bool connected = false;
  try {
    connection.emplace(port);
    connected = true;
    if (!connection->send(raw)) connection.reset();  // bytes may have reached it: unknown
  } catch (const std::exception&) {
    connection.reset();
  }
  Answered second = exchange(std::forward<Send>(send));
  Answered first;
  if (connection) {
    first = read_raw_answer(*connection, first_at);
  } else {
    first.not_sent = !connected;
    first.at = first_at;
    first.at.answered = SteadyClock::now();
    first.at.answered_wall = WallClock::now();
  }
  return {std::move(first), std::move(second)};
}

}  // namespace baton::crash
