#pragma once
// One operation of Baton's API, and everything said about it in one place: its id, its
// HTTP method and path, whether it needs a key, its input fields (from which come both the
// validation and the JSON Schema), its answer, the errors it can give, and the function
// that turns a validated input into an answer. The HTTP router, the MCP tools and the
// discovery documents (/v1/tool, /v1/schema, /v1/capabilities) are all read off the table
// of these (operations.cpp), so none of them can say something another does not do.
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/errors.hpp"
#include "core/plan.hpp"

namespace baton::http {
class Connection;
class BodyStream;
struct Request;
}

namespace baton::api {

struct Services;

// Where the api reports what an operator should see (a storage fault behind a 503, an
// unexpected exception behind a 500): the serve command's log.
using LogSink = std::function<void(std::string_view message, std::string_view detail)>;

// number: any finite JSON number (integers too), as a double; bounds are whole numbers.
enum class FieldType : std::uint8_t { string, integer, boolean, object, array, number };
// Where the HTTP form of an operation carries a field. MCP tool arguments carry them all.
enum class FieldIn : std::uint8_t { body, query, path };

struct FieldSpec {
  std::string_view name = {};   // the spelling the spec uses, and the JSON Schema's
  std::string_view alias = {};  // the other spelling also accepted ("" when none)
  FieldType type = FieldType::string;
  FieldIn in = FieldIn::body;
  bool required = false;
  // Integers and numbers: the value's range. Strings: the length's, in code points. Arrays: the
  // number of items.
  std::optional<std::int64_t> minimum = {};
  std::optional<std::int64_t> maximum = {};
  std::vector<std::string_view> one_of = {};  // strings: the accepted values, when a fixed set
  std::string_view pattern = {};              // strings: as documented; `check` enforces it
  std::string (*check)(std::string_view) = nullptr;  // strings: "" or the 400's message
  std::string_view description = {};
  // Objects: the fields checked inside it, as for an operation's own (claim_next carries a
  // claim's). Empty: any object (a payload, a result). Arrays: the fields of each item,
  // every item an object (a batch create's tasks carry create_task's).
  std::vector<FieldSpec> properties = {};
  // Arrays: what each item is. object: checked against `properties`; string: checked by
  // `check` (when set).
  FieldType items = FieldType::object;
};

// A validated input: every field present has the type and bounds its FieldSpec says.
// Lookups take the spec's name and find the value under either spelling.
class Input {
 public:
  Input() = default;
  explicit Input(boost::json::object values) : values_(std::move(values)) {}

  const boost::json::value* find(const FieldSpec& field) const;
  const boost::json::value* find(std::string_view name, std::string_view alias = {}) const;
  std::optional<std::string> string(std::string_view name, std::string_view alias = {}) const;
  std::optional<std::int64_t> integer(std::string_view name, std::string_view alias = {}) const;
  std::optional<bool> boolean(std::string_view name, std::string_view alias = {}) const;
  std::optional<double> number(std::string_view name, std::string_view alias = {}) const;
  const boost::json::object& values() const { return values_; }

 private:
  boost::json::object values_;
};

// An operation's answer, before it is framed as HTTP or as an MCP tool result.
struct Result {
  int status = 200;
  std::string body;  // a JSON object (empty only when the client left mid-request)
  int retry_after_seconds = 0;  // sent as Retry-After when > 0
  // The front-end thread best placed to serve the connection's next request, or -1
  // (http::Response::affinity).
  int affinity = -1;
  bool client_gone = false;  // nothing to send: the client disconnected
  ErrorCode error = ErrorCode::none;  // set by error_result: the error this answer is
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the usual ones
  // A live stream (HTTP only): `body` first, then what the stream gives, as content_type.
  std::shared_ptr<http::BodyStream> stream;
  std::string content_type;  // "" = application/json
  bool websocket = false;    // the stream goes out as WebSocket messages (Response::websocket)
};

struct Operation;

// Lets the client stop a call under way (MCP's notifications/cancelled). Touched only on
// the call's own thread: whoever cancels from elsewhere posts fire() there.
struct CallCancel {
  bool cancelled = false;
  std::function<void()> on_cancel;  // set by an operation while it waits (a long poll)

  void fire() {
    cancelled = true;
    if (on_cancel) on_cancel();
  }
};

// One call of an operation, whichever door it came in by.
struct Call {
  Call(const Operation& op, http::Connection& conn, std::string id, std::string auth)
      : operation(op), connection(conn), request_id(std::move(id)), authorization(std::move(auth)) {}

  const Operation& operation;
  http::Connection& connection;
  std::string request_id;
  std::string authorization;  // the raw header: registration checks the admin key in it
  std::string account;        // set for operations that need a key
  Plan plan;                  // the account's plan, as in force when the call came
  // The account's monthly cost budget in nano-dollars (its own, else its plan's); 0: none.
  std::int64_t cost_budget_usd_nanos = 0;
  Input input;
  // The Idempotency-Key header, when sent (the body's idempotencyKey is a field).
  std::optional<std::string> idempotency_header;
  // The HTTP method and path this call is (for MCP: the path its tool maps to): the scope
  // of an idempotency key, so a key means the same over HTTP and MCP.
  std::string method;
  std::string path;
  std::shared_ptr<CallCancel> cancel;  // MCP tool calls only
  const http::Request* http = nullptr;  // HTTP calls only: the request's own headers
};

using Run = boost::asio::awaitable<Result> (*)(Services&, Call&);

// Who may call an operation. An account's API key names the account the operation acts
// for; the admin key (config admin_key) is the operator's and names no account, so admin
// operations are never MCP tools (an MCP session belongs to an account).
enum class Auth : std::uint8_t { none, api_key, admin_key };

// The name /v1/capabilities and /v1/tool give it: "none", "bearer", "admin".
std::string_view to_string(Auth auth);

struct Operation {
  std::string_view id = {};      // create_task, claim_task, …: the tool name too
  std::string_view method = {};  // GET, POST, DELETE (GET also answers HEAD)
  std::string_view path = {};    // with {name} for path fields: /v1/tasks/{task_id}
  Auth auth = Auth::api_key;
  bool mcp_tool = false;    // offered by POST /mcp's tools/list (Auth::api_key only)
  // Also takes a stream token (POST …/logs/stream-token) in the `token` query field
  // instead of a key: what a browser's EventSource or WebSocket can send.
  bool stream_token = false;
  // The hourly rate limit of the account's plan a call counts toward (Auth::api_key only).
  RateClass rate = RateClass::read;
  std::string_view summary = {};
  std::string_view description = {};
  std::vector<FieldSpec> fields = {};
  int success_status = 200;
  std::string_view output = {};  // the OpenAPI component of the success body
  // The errors this operation itself gives; the ones every operation of its kind can give
  // (key, body, storage) are added by declared_errors().
  std::vector<ErrorCode> errors = {};
  Run run = nullptr;

  bool has_body() const { return method == "POST" || method == "PUT" || method == "PATCH"; }
};

// Every error an answer of `operation` can carry, in catalog order.
std::vector<ErrorCode> declared_errors(const Operation& operation);

}  // namespace baton::api
