#pragma once
// One MCP session over one connection, for tests that drive operations as MCP tools:
// initialize once, then tools/call. Header-only, beside harness.hpp; the same include
// rules (Boost.Test and Boost.JSON only).
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

#include "integration/harness.hpp"

namespace baton::test {

// One MCP session over one connection.
struct McpSession {
  Client c;
  std::string key;
  std::string session;
  int next_id = 1;

  McpSession(TestServer& on, std::string api_key) : c(on.client()), key(std::move(api_key)) {
    Response r = c.post("/mcp", key,
                        js({{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", "initialize"},
                            {"params", {{"protocolVersion", "2025-06-18"},
                                        {"capabilities", json::object{}},
                                        {"clientInfo", {{"name", "test"}, {"version", "1"}}}}}}));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.describe());
    session = r.header("Mcp-Session-Id");
    BOOST_REQUIRE(!session.empty());
  }

  Response rpc(std::string_view method, json::object params) {
    return c.post("/mcp", key,
                  js({{"jsonrpc", "2.0"}, {"id", next_id++}, {"method", method},
                      {"params", std::move(params)}}),
                  {{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "2025-06-18"}});
  }

  // tools/call's result object (content, structuredContent, isError).
  json::object call(std::string_view tool, json::object arguments) {
    Response r = rpc("tools/call", {{"name", tool}, {"arguments", std::move(arguments)}});
    if (r.status != 200 || !r.json.is_object() || !r.json.as_object().contains("result")) {
      throw std::runtime_error("tools/call " + std::string(tool) + ": " + r.describe());
    }
    return r.json.as_object().at("result").as_object();
  }
};

}  // namespace baton::test
