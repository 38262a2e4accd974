// The operation table's rows for accounts and what they may use (spec sections 2 and 9):
// registration and keys, plans and usage, and the operator's admin operations.
#include "api/handlers.hpp"
#include "api/operations.hpp"

namespace baton::api {

using E = ErrorCode;

void add_account_operations(std::vector<Operation>& table) {
  // ---- Accounts and keys (spec section 2) ----
  const FieldSpec label{.name = "label", .maximum = 200, .description = "A name for the key."};
  table.push_back(
      {.id = "register_account", .method = "POST", .path = "/v1/keys/register",
       .auth = Auth::none, .summary = "Register an account",
       .description = "Creates an account and its first API key (shown once). In admin "
                      "registration mode, send the admin key as the Bearer token.",
       .fields = {label}, .success_status = 201, .output = "Registered",
       .errors = {E::registration_closed}, .run = register_account});
  table.push_back({.id = "list_keys", .method = "GET", .path = "/v1/keys", .mcp_tool = true,
                   .summary = "List API keys",
                   .description = "The account's keys, never their secrets.",
                   .output = "KeyList", .errors = {}, .run = list_keys});
  table.push_back({.id = "create_key", .method = "POST", .path = "/v1/keys", .mcp_tool = true,
                   .rate = RateClass::mutate,
                   .summary = "Create an API key",
                   .description = "Another key for the same account (the secret is shown once).",
                   .fields = {label}, .success_status = 201, .output = "KeyCreated",
                   .errors = {}, .run = create_key});
  table.push_back(
      {.id = "revoke_key", .method = "DELETE", .path = "/v1/keys/{key_id}", .mcp_tool = true,
       .rate = RateClass::mutate,
       .summary = "Revoke an API key",
       .description = "Revokes one of the account's keys, on every core before it answers.",
       .fields = {{.name = "key_id", .alias = "keyId", .in = FieldIn::path, .required = true,
                   .minimum = 1, .description = "The key's id (key_…)."}},
       .output = "KeyRevoked", .errors = {E::not_found}, .run = revoke_key});

  // ---- Plans and usage (spec section 9) ----
  table.push_back({.id = "get_billing_plans", .method = "GET", .path = "/v1/billing/plans",
                   .auth = Auth::none, .summary = "List the plans",
                   .description = "The plans of this server (from its config) with their limits; "
                                  "null is no limit. Public.",
                   .output = "BillingPlans", .run = get_billing_plans});
  table.push_back(
      {.id = "get_billing_status", .method = "GET", .path = "/v1/billing/status",
       .mcp_tool = true, .summary = "Your plan and usage",
       .description = "The account's plan and limits, this month's period, the live leases it "
                      "holds and its requests counted this hour.",
       .output = "BillingStatus", .run = get_billing_status});

  const std::vector<FieldSpec> period{
      // No length of their own: a time that does not parse is refused whatever its length,
      // and the query is bounded by server.max_header_bytes.
      {.name = "since", .in = FieldIn::query,
       .description = "From this time: RFC 3339 or epoch milliseconds."},
      {.name = "until", .in = FieldIn::query,
       .description = "Up to this time (its hour included); now when left out."}};
  table.push_back(
      {.id = "get_usage", .method = "GET", .path = "/v1/usage", .mcp_tool = true,
       .summary = "Usage summary",
       .description = "The account's tasks created, claimed, completed, failed, dead-lettered "
                      "and cancelled in a period (this month by default), the mean wait in "
                      "queue and time to complete, and the monthly quota's count.",
       .fields = period, .output = "Usage", .run = get_usage});
  std::vector<FieldSpec> series = period;
  series.insert(series.begin(), {.name = "bucket", .in = FieldIn::query, .one_of = {"hour", "day"},
                                 .description = "hour (default: the last 24 hours) or day (the "
                                                "last 31 days)."});
  table.push_back(
      {.id = "get_usage_timeseries", .method = "GET", .path = "/v1/usage/timeseries",
       .mcp_tool = true, .summary = "Usage over time",
       .description = "The usage summary's counts per hour or per day, every bucket of the "
                      "period (at most 744 hours or 366 days).",
       .fields = series, .output = "UsageSeries", .run = get_usage_timeseries});
  table.push_back(
      {.id = "get_usage_breakdown", .method = "GET", .path = "/v1/usage/breakdown",
       .mcp_tool = true, .summary = "Usage by task type",
       .description = "The usage summary's counts per task type, this month by default.",
       .fields = period, .output = "UsageBreakdown", .run = get_usage_breakdown});
  table.push_back(
      {.id = "get_costs", .method = "GET", .path = "/v1/costs", .mcp_tool = true,
       .summary = "Costs per task",
       .description = "What workers reported their tasks cost (seed 004): the account's tasks "
                      "created since `since` that reported any cost, newest first, with their "
                      "aggregate and the sum by type over this page. A page ends after `limit` "
                      "such tasks (or 10000 tasks read); next_cursor goes on.",
       .fields = {{.name = "since", .in = FieldIn::query,
                   .description = "Tasks created from this time: RFC 3339 or epoch "
                                  "milliseconds. Default: all."},
                  {.name = "type", .in = FieldIn::query, .minimum = 1, .maximum = 100,
                   .description = "Only tasks of this type."},
                  {.name = "limit", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 1, .maximum = 1000, .description = "Costed tasks per page; 100."},
                  {.name = "cursor", .in = FieldIn::query,
                   .description = "next_cursor of the page before."}},
       .output = "Costs", .run = get_costs});

  // ---- Administration (ext): the operator's, with the admin key; not MCP tools ----
  table.push_back(
      {.id = "set_account_plan", .method = "PUT", .path = "/v1/admin/accounts/{account_id}/plan",
       .auth = Auth::admin_key, .summary = "Assign a plan",
       .description = "Assigns one of the config's plans to an account. It applies from the "
                      "account's next request, on every core.",
       .fields = {{.name = "account_id", .alias = "accountId", .in = FieldIn::path,
                   .required = true, .minimum = 1, .maximum = 64,
                   .description = "The account's id (acct_…)."},
                  {.name = "plan", .required = true, .minimum = 1, .maximum = 32,
                   .description = "A plan's name, as GET /v1/billing/plans lists them."}},
       .output = "AccountPlan", .errors = {E::not_found}, .run = set_account_plan});
  const FieldSpec account_in_path{.name = "account_id", .alias = "accountId", .in = FieldIn::path,
                                  .required = true, .minimum = 1, .maximum = 64,
                                  .description = "The account's id (acct_…)."};
  table.push_back(
      {.id = "set_account_budget", .method = "PUT",
       .path = "/v1/admin/accounts/{account_id}/budget", .auth = Auth::admin_key,
       .summary = "Set an account's cost budget",
       .description = "The account's own monthly cost budget, in dollars of reported cost "
                      "(docs/api.md, Costs and budgets): it wins over its plan's "
                      "cost_budget_usd. 0: no budget; null or left out: the plan's again.",
       .fields = {account_in_path,
                  {.name = "cost_budget_usd", .alias = "costBudgetUsd", .type = FieldType::number,
                   .minimum = 0, .maximum = 9000000,
                   .description = "Dollars per calendar month (UTC)."}},
       .output = "AccountBudget", .errors = {E::not_found}, .run = set_account_budget});
  table.push_back(
      {.id = "create_account", .method = "POST", .path = "/v1/admin/accounts",
       .auth = Auth::admin_key, .summary = "Create an account",
       .description = "An account and its first key, whatever the registration mode, answered "
                      "as a registration (the secret is shown once).",
       .fields = {label,
                  {.name = "plan", .minimum = 1, .maximum = 32,
                   .description = "Its plan; the default plan when left out."}},
       .success_status = 201, .output = "Registered", .errors = {}, .run = create_account});
  table.push_back(
      {.id = "admin_list_accounts", .method = "GET", .path = "/v1/admin/accounts",
       .auth = Auth::admin_key, .summary = "List accounts",
       .description = "Every account, oldest first, a page at a time. With the admin key, an "
                      "account's operations act for the account X-Baton-Account names.",
       .fields = {{.name = "limit", .type = FieldType::integer, .in = FieldIn::query,
                   .minimum = 1, .maximum = 1000, .description = "Page size, default 100."},
                  {.name = "after", .in = FieldIn::query, .maximum = 64,
                   .description = "next_after of the previous page."}},
       .output = "AccountList", .errors = {}, .run = admin_list_accounts});
  table.push_back({.id = "admin_list_keys", .method = "GET",
                   .path = "/v1/admin/accounts/{account_id}/keys", .auth = Auth::admin_key,
                   .summary = "List an account's keys",
                   .description = "The account's keys, never their secrets.",
                   .fields = {account_in_path}, .output = "KeyList", .errors = {E::not_found},
                   .run = admin_list_keys});
  table.push_back({.id = "admin_create_key", .method = "POST",
                   .path = "/v1/admin/accounts/{account_id}/keys", .auth = Auth::admin_key,
                   .summary = "Create a key for an account",
                   .description = "Another key for the account (the secret is shown once).",
                   .fields = {account_in_path, label}, .success_status = 201,
                   .output = "KeyCreated", .errors = {E::not_found}, .run = admin_create_key});
  table.push_back(
      {.id = "admin_revoke_key", .method = "DELETE",
       .path = "/v1/admin/accounts/{account_id}/keys/{key_id}", .auth = Auth::admin_key,
       .summary = "Revoke an account's key",
       .description = "Revokes the key, on every core before it answers.",
       .fields = {account_in_path,
                  {.name = "key_id", .alias = "keyId", .in = FieldIn::path, .required = true,
                   .minimum = 1, .description = "The key's id (key_…)."}},
       .output = "KeyRevoked", .errors = {E::not_found}, .run = admin_revoke_key});
  table.push_back(
      {.id = "create_backup", .method = "POST", .path = "/v1/admin/backup",
       .auth = Auth::admin_key, .summary = "Take a backup",
       .description = "Takes a consistent snapshot of the data directory (a RocksDB checkpoint) "
                      "into a new directory on the server's disk while the server goes on "
                      "serving. It holds every change acknowledged before the call. Restore it "
                      "with baton restore, the server stopped.",
       .fields = {{.name = "to", .required = true, .minimum = 1, .maximum = 4096,
                   .check = check_absolute_path,
                   .description = "Absolute path on the server of a new or empty directory whose "
                                  "parent exists, outside the data directory."}},
       .output = "Backup", .errors = {}, .run = create_backup});
  table.push_back(
      {.id = "get_metrics", .method = "GET", .path = "/metrics", .auth = Auth::admin_key,
       .summary = "Prometheus metrics",
       .description = "The Prometheus text format (0.0.4): requests by route and status, "
                      "latency histograms (request, claim wait, commit), group-commit batch "
                      "sizes, lease-expiry lag, tasks by state and type, shard depths, WAL "
                      "syncs, storage stalls and compactions. metrics.listen serves the same "
                      "without a key on a loopback port of its own.",
       .output = "Metrics", .errors = {}, .run = get_metrics});
}

}  // namespace baton::api
