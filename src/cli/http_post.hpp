#pragma once
// One JSON request to a running Baton server, for the commands that talk to one (`baton
// backup`, `baton keys`, `baton accounts`): plain HTTP/1.1, as Baton serves it, one
// connection per call.
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

// POSTs `body` to `base_url` (http://HOST[:PORT][/PREFIX]) + `path` with
// `Authorization: Bearer <bearer>`. Connecting may take `connect_timeout`; the answer is
// waited for as long as it takes.
PostResult post_json(const std::string& base_url, const std::string& path,
                     const std::string& bearer, const std::string& body,
                     std::chrono::seconds connect_timeout);
// The same with another method (GET, PUT, DELETE); `body` "" sends none.
PostResult call_json(std::string_view method, const std::string& base_url, const std::string& path,
                     const std::string& bearer, const std::string& body,
                     std::chrono::seconds connect_timeout);

}  // namespace baton
