#pragma once
// One JSON request to a running Baton server, for the commands that talk to one (`baton
// backup`, `baton keys`, `baton accounts`): plain HTTP/1.1, as Baton serves it, one
// connection per call.
#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace baton {

struct HttpReply {
  int status = 0;
  std::string body;
};

struct PostResult {
  std::optional<HttpReply> reply;
  std::string failure;  // why no reply came (bad URL, refused, cut off), when `reply` is empty
};

// The fields of the JSON answer to `method path` when its status is `wanted`; else
// nullopt, having said on stderr why ("baton: <what> failed: …" or "… refused (HTTP …)").
std::optional<boost::json::object> answer_of(const std::string& base_url, const std::string& bearer,
                                             std::string_view method, const std::string& path,
                                             const std::string& body, int wanted,
                                             const char* what);
// A field of an answer as text: a string's value, anything else as JSON ("" when absent).
std::string text_of(const boost::json::object& fields, std::string_view name);

// `method` `body` to `base_url` (http://HOST[:PORT][/PREFIX]) + `path` with
// `Authorization: Bearer <bearer>`; `body` "" sends none. Connecting may take
// `connect_timeout`; the answer is waited for as long as it takes.
PostResult call_json(std::string_view method, const std::string& base_url, const std::string& path,
                     const std::string& bearer, const std::string& body,
                     std::chrono::seconds connect_timeout);

}  // namespace baton
