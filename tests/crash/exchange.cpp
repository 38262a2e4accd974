#include "crash/exchange.hpp"

namespace baton::crash {

std::string raw_http(std::string_view method, std::string_view target, std::string_view key,
                     std::string_view body, const test::Headers& extra_headers) {
  std::string out(method);
  out.append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ");
  out.append(key).append("\r\nContent-Type: application/json\r\n");
  for (const auto& [name, value] : extra_headers)
    out.append(name).append(": ").append(value).append("\r\n");
  out.append("Content-Length: ")
      .append(std::to_string(body.size()))
      .append("\r\n\r\n")
      .append(body);
  return out;
}

Answered read_raw_answer(test::RawConnection& connection, Exchange at) {
  using namespace std::chrono_literals;
  Answered out;
  test::RawRead read = connection.read_response(5s);
  out.at = at;
  out.at.answered = SteadyClock::now();
  out.at.answered_wall = WallClock::now();
  if (read.status() == 0) return out;
  test::Response response = test::parse_raw_response(read.data);
  // Every answer of this API is a JSON body: one cut short by the kill does not parse.
  if (response.status != 0 && response.json_ok) out.response = std::move(response);
  return out;
}

}  // namespace baton::crash
