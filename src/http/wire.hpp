#pragma once
// An answer as the bytes that go on the wire. Every answer Baton sends is one status
// line, a few known headers and a JSON body already in memory, so it goes out as two
// flat buffers (head, body) in one gathering write. Beast's general serializer (chunking,
// body readers, buffer sequences walked per write) cost about half of a GET /health's
// user CPU here (docs/benchmarks.md). Beast still parses every request.
#include <string>

#include "http/message.hpp"

namespace baton::http {

// Status line, Server, Content-Type, response.headers (any with CR or LF dropped),
// Connection when it differs from the version's default, Content-Length and the blank
// line: everything before the body.
std::string serialize_head(const Response& response, unsigned version, bool keep_alive);

// The head, then the body unless the request was HEAD (RFC 9110 9.3.2: same headers, no
// content).
std::string serialize_response(const Response& response, unsigned version, bool keep_alive,
                               bool head_request);

}  // namespace baton::http
