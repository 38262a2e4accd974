// Costs (seed 004): what workers reported their tasks cost, per task and summed, and the
// monthly cost budget a claim is checked against.
#include <map>

#include "api/handlers.hpp"
#include "api/render.hpp"
#include "api/services.hpp"
#include "core/usage.hpp"

namespace baton::api {

namespace asio = boost::asio;

namespace {

// Tasks read per page of the listing while looking for costed ones: a page of /v1/costs
// reads at most kMaxScanned tasks, then answers with a cursor to go on from.
constexpr int kListPage = 200;
constexpr int kMaxScanned = 10000;

Millis next_month_start(Millis now) {
  return month_first_hour(usage_month(now) + 1) * kUsageHourMs;
}

}  // namespace

std::optional<Result> month_budget_refusal(Services& services, const Call& call) {
  std::int64_t budget = call.cost_budget_usd_nanos;
  if (budget <= 0) return std::nullopt;
  std::int64_t spent = services.engine.spent_this_month(call.account);
  if (spent < budget) return std::nullopt;
  Millis now = wall_now_ms();
  BudgetContext context{BudgetContext::Scope::month, budget, spent, next_month_start(now)};
  Contract contract = contract_for_month_budget(context, now);
  Result refused = error_result(call, ErrorCode::budget_exceeded, "");
  std::string spent_text, budget_text;
  append_usd(spent_text, spent);
  append_usd(budget_text, budget);
  refused.body = error_body(
      "budget_exceeded",
      "The account's workers reported $" + spent_text + " of cost this month and its budget is $" +
          budget_text + ": claims are refused until the month ends (" +
          format_rfc3339(context.resets_at) + "), or the operator raises the budget.",
      call.request_id, contract);
  refused.retry_after_seconds = contract.next_actions.front().retry_after_seconds.value_or(60);
  return refused;
}

// Newest first: the account's tasks (of `type`, when sent) created at or after `since`
// that reported any cost, with their sum and the sum by type over this page. A page ends
// after `limit` costed tasks or kMaxScanned tasks read; next_cursor goes on from there.
asio::awaitable<Result> get_costs(Services& services, Call& call) {
  Millis since = 0;
  if (auto text = call.input.string("since")) {
    std::optional<Millis> at = parse_time(*text);
    if (!at) {
      co_return error_result(call, ErrorCode::invalid_request,
                             "since must be an RFC 3339 time or epoch milliseconds, from 1970 "
                             "to 9999");
    }
    since = *at;
  }
  int limit = static_cast<int>(call.input.integer("limit").value_or(100));
  ListRequest list;
  list.account = call.account;
  list.type = call.input.string("type");
  list.limit = kListPage;
  if (auto cursor = call.input.string("cursor"); cursor && !cursor->empty()) list.cursor = cursor;

  std::string tasks;
  TaskCost aggregate;
  std::map<std::string, TaskCost> by_type;
  int listed = 0, scanned = 0;
  std::optional<std::string> next_cursor;
  bool more = true;
  while (more) {
    ListPage page = co_await services.engine.list(list);
    if (page.error != ErrorCode::none) {
      co_return error_result(call, page.error, "cursor is not a cursor this server gave out.");
    }
    for (const Task& task : page.tasks) {
      if (task.created_at < since) {
        more = false;  // newest first: every task after this one is older still
        break;
      }
      ++scanned;
      if (!task.cost.empty()) {
        if (listed) tasks.push_back(',');
        tasks.append("{\"taskId\":");
        append_json_string(tasks, task.id);
        tasks.append(",\"type\":");
        append_json_string(tasks, task.type);
        tasks.append(",\"status\":\"").append(to_string(task.status)).append("\",\"cost\":");
        append_cost(tasks, task.cost);
        tasks.push_back('}');
        aggregate.add(task.cost);
        by_type[task.type].add(task.cost);
        ++listed;
      }
      if (listed == limit || scanned == kMaxScanned) {
        next_cursor = task.id;
        more = false;
        break;
      }
    }
    if (more && !page.next_cursor) more = false;
    list.cursor = page.next_cursor;
  }
  std::string out = "{\"tasks\":[" + tasks + "],\"aggregate\":";
  append_cost(out, aggregate);
  out.append(",\"by_type\":{");
  bool first = true;
  for (const auto& [type, cost] : by_type) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, type);
    out.push_back(':');
    append_cost(out, cost);
  }
  out.append("},\"next_cursor\":");
  if (next_cursor) {
    append_json_string(out, *next_cursor);
  } else {
    out.append("null");
  }
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_list());
  out.push_back('}');
  co_return json_result(200, std::move(out));
}

}  // namespace baton::api
