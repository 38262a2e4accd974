// Fuzz target: the whole request path in one process. The input is what one client sends
// on one connection; it goes through the listener's session loop exactly as an accepted
// connection's bytes do (HTTP parser with the configured limits, screening, routing, auth,
// body validation, the engine on a scratch RocksDB directory, the serialized answer), over
// a memory stream instead of a socket.
//
// Properties: nothing crashes, hangs or leaks (the sanitizers watch); no answer is a 5xx
// (storage never fails here); every error answer is JSON with an agent_contract; what is
// written is HTTP.
//
// The key orch_live_000… in an input (the seeds use it) is replaced by a real key.
#include <boost/asio/co_spawn.hpp>
#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <string>

#include "api/api.hpp"
#include "config/config.hpp"
#include "engine/engine_options.hpp"
#include "engine/local_account_store.hpp"
#include "engine/local_engine.hpp"
#include "http/listener.hpp"
#include "memory_stream.hpp"
#include "property.hpp"
#include "store/db.hpp"

namespace baton::fuzz {
namespace {

namespace asio = boost::asio;

constexpr std::string_view kPlaceholderKey =
    "orch_live_0000000000000000000000000000000000000000000000000000000000000000";

// Checks every answer the handler gives before the listener writes it.
class CheckedHandler final : public http::Handler {
 public:
  explicit CheckedHandler(http::Handler& inner) : inner_(inner) {}

  asio::awaitable<http::Response> handle(http::Request& request,
                                         http::Connection& connection) override {
    http::Response response = co_await inner_.handle(request, connection);
    check(response);
    co_return response;
  }
  http::Response reject(int status, const std::string& code, const std::string& message,
                        const std::string& request_id) override {
    http::Response response = inner_.reject(status, code, message, request_id);
    check(response);
    return response;
  }
  std::optional<http::Response> screen(const http::Request& head) override {
    auto response = inner_.screen(head);
    if (response) check(*response);
    return response;
  }

 private:
  static void check(const http::Response& response) {
    expect(response.status >= 200 && response.status < 500, "no answer is a 5xx",
           std::to_string(response.status) + " " + response.body);
    if (response.status < 400) return;
    boost::system::error_code error;
    boost::json::value body = boost::json::parse(response.body, error);
    expect(!error && body.is_object(), "an error answer is a JSON object", response.body);
    const boost::json::object& object = body.get_object();
    // A JSON-RPC error from /mcp carries the Baton error in error.data.
    const boost::json::object* carrier = &object;
    if (const auto* rpc = object.if_contains("error"); rpc && rpc->is_object()) {
      if (const auto* data = rpc->get_object().if_contains("data"); data && data->is_object()) {
        carrier = &data->get_object();
      }
    }
    expect(carrier->contains("agent_contract"), "an error answer carries an agent_contract",
           response.body);
  }

  http::Handler& inner_;
};

// One server for the whole run: a fresh data directory, one shard, long polls off (an
// input cannot make the run wait), everything else as shipped.
struct Server {
  std::filesystem::path directory;
  Config config;
  std::unique_ptr<Db> db;
  std::unique_ptr<LocalEngine> engine;
  std::unique_ptr<LocalAccountStore> accounts;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<CheckedHandler> checked;
  std::unique_ptr<http::Listener> listener;
  std::string key;

  Server() {
    std::string pattern = "/tmp/baton-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) broken("a scratch directory can be made");
    directory = pattern;
    config.storage.path = directory.string();
    config.storage.sync = SyncMode::none;
    config.claims.max_wait_seconds = 0;
    std::string error;
    db = Db::open(config.storage.path, &error);
    expect(db != nullptr, "storage opens", error);
    EngineOptions options;
    options.sync = config.storage.sync;
    options.pin_shards = false;
    engine = std::make_unique<LocalEngine>(*db, options, 1);
    engine->recover();
    accounts = std::make_unique<LocalAccountStore>(*db);
    api = std::make_unique<api::Api>(*engine, *accounts, config);
    checked = std::make_unique<CheckedHandler>(*api);
    http::ListenerLimits limits;
    limits.max_body_bytes = static_cast<std::uint64_t>(config.server.max_body_bytes);
    limits.max_header_bytes = static_cast<std::uint32_t>(config.server.max_header_bytes);
    limits.idle_timeout_seconds = config.server.idle_timeout_seconds;
    limits.move_after = 0;
    listener = std::make_unique<http::Listener>(engine->context(0), *checked, limits, 0);
    engine->start();
    key = register_key();
  }

  ~Server() {
    engine->stop();
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
  }

  // Serves `input` as one connection and returns what the server wrote.
  std::string exchange(std::string input) {
    std::string output;
    std::unique_ptr<http::StreamLayer> stream =
        std::make_unique<MemoryStream>(std::move(input), output);
    std::promise<void> done;
    asio::co_spawn(engine->context(0), listener->serve(std::move(stream)),
                   [&done](std::exception_ptr failure) {
                     if (failure) broken("a connection's coroutine ends without an exception");
                     done.set_value();
                   });
    done.get_future().wait();
    return output;
  }

  std::string register_key() {
    std::string answer = exchange(
        "POST /v1/keys/register HTTP/1.1\r\nHost: fuzz\r\nContent-Length: 2\r\n\r\n{}");
    auto body_at = answer.find("\r\n\r\n");
    expect(body_at != std::string::npos, "registration answers", answer);
    boost::system::error_code error;
    auto body = boost::json::parse(answer.substr(body_at + 4), error);
    expect(!error && body.is_object() && body.get_object().contains("apiKey"),
           "registration returns a key", answer);
    return std::string(body.at("apiKey").get_string());
  }
};

Server& server() {
  static Server instance;
  return instance;
}

std::string with_real_key(std::string input, const std::string& key) {
  for (std::size_t at = input.find(kPlaceholderKey); at != std::string::npos;
       at = input.find(kPlaceholderKey, at + key.size())) {
    input.replace(at, kPlaceholderKey.size(), key);
  }
  return input;
}

}  // namespace
}  // namespace baton::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace baton::fuzz;
  Server& s = server();
  std::string input(reinterpret_cast<const char*>(data), size);
  std::string output = s.exchange(with_real_key(std::move(input), s.key));
  // BATON_FUZZ_ECHO=1 prints each answer: for reading what a kept input does.
  static const bool echo = std::getenv("BATON_FUZZ_ECHO") != nullptr;
  if (echo) std::fprintf(stderr, "%s\n----\n", output.c_str());
  expect(output.empty() || output.starts_with("HTTP/1."), "what is written is HTTP",
         output.substr(0, 200));
  return 0;
}
