// The dashboard (docs/dashboard.md): its page and files, compiled into the binary
// (src/ui, scripts/embed_assets.py), served without a key: the page asks for one and
// keeps it in the browser's session storage, and every call it makes carries it.
#include "api/handlers.hpp"
#include "api/operations.hpp"
#include "api/services.hpp"
#include "ui/assets.hpp"

namespace baton::api {

namespace {

using E = ErrorCode;

// The page may load only this server's own files and talk only to it; no frame may hold
// it (clickjacking).
constexpr std::string_view kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

Result asset_result(const Call& call, std::string_view name) {
  const ui::Asset* asset = ui::find_asset(name);
  if (!asset) return error_result(call, ErrorCode::not_found, "No such dashboard file.");
  Result result;
  result.status = 200;
  result.body = std::string(asset->body);
  result.content_type = std::string(asset->content_type);
  result.headers.emplace_back("Content-Security-Policy", std::string(kPolicy));
  result.headers.emplace_back("X-Content-Type-Options", "nosniff");
  result.headers.emplace_back("Referrer-Policy", "no-referrer");
  result.headers.emplace_back("Cache-Control", "no-cache");
  return result;
}

boost::asio::awaitable<Result> get_ui(Services&, Call& call) {
  co_return asset_result(call, "index.html");
}

boost::asio::awaitable<Result> get_ui_asset(Services&, Call& call) {
  co_return asset_result(call, call.input.string("asset").value_or(""));
}

}  // namespace

void add_ui_operations(std::vector<Operation>& table) {
  table.push_back(
      {.id = "get_dashboard", .method = "GET", .path = "/ui", .auth = Auth::none,
       .summary = "The dashboard",
       .description = "A web page for operators: queues with live counts (pause, resume), "
                      "tasks with the list's filters, a task with its log stream and its "
                      "actions, dead letters with requeue, schedules. It asks for an API key "
                      "and keeps it in the browser's session storage.",
       .output = "Page", .errors = {}, .run = get_ui});
  table.push_back(
      {.id = "get_dashboard_file", .method = "GET", .path = "/ui/{asset}", .auth = Auth::none,
       .summary = "A file of the dashboard",
       .fields = {{.name = "asset", .in = FieldIn::path, .required = true, .minimum = 1,
                   .maximum = 64, .description = "index.html, app.js or style.css."}},
       .output = "Page", .errors = {E::not_found}, .run = get_ui_asset});
}

}  // namespace baton::api
