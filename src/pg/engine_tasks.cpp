// PgEngine's operations on tasks: create, a command on one task, a claim, reads. Each is
// one transaction on a connection of the calling thread's pool; the pure state machine
// decides every change on a row locked FOR UPDATE.
#include <boost/asio/use_awaitable.hpp>

#include "core/lifecycle_history.hpp"
#include "core/sha256.hpp"
#include "engine/routing.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

// The idempotency key's scope (account, method, path, key) as one fixed-size text: each
// part length-prefixed, so that no two scopes run together, then hashed.
std::string scope_of(const std::string& account, const IdempotencyRequest& request) {
  std::string joined;
  for (const std::string* part : {&account, &request.method, &request.path, &request.key}) {
    joined += std::to_string(part->size()) + ":" + *part;
  }
  return hex_encode(sha256_bytes(joined));
}

// Create fields whose engine side (a dependency's release, a verifier's task, an
// acceptance gate's timer, ranking workers) is not built on PostgreSQL yet.
void refuse_unbuilt(const CreateRequest& request) {
  auto refuse = [](std::string_view what) {
    throw NotImplemented(std::string(what) + " is not available with storage.engine: postgres yet");
  };
  if (!request.depends_on.empty()) refuse("depends_on");
  if (!request.parent_task_id.empty()) refuse("parent_task_id");
  if (request.definition_of_done) refuse("definition_of_done");
  if (!request.verification_type.empty()) refuse("verification");
  if (request.assign_best) refuse("assign: best");
  if (request.monthly_quota > 0 && !request.quota_taken) refuse("a plan's monthly task quota");
}

}  // namespace

asio::awaitable<Outcome> PgEngine::replay(Connection& connection, const std::string& scope,
                                          const std::string& request_hash, Millis now) {
  Outcome outcome;
  outcome.now = now;
  Result stored = require(co_await connection.run("read_idempotency", Params().text(scope)));
  if (stored.rows() == 0 || stored.integer(0, 1) == 0) {
    // Taken by a request whose transaction has not ended (a moment ago, or it expired and
    // was removed meanwhile): the client retries.
    outcome.error = ErrorCode::idempotency_in_flight;
  } else if (stored.text(0, 0) != request_hash) {
    outcome.error = ErrorCode::idempotency_conflict;
  } else {
    outcome.status = static_cast<int>(stored.integer(0, 1));
    outcome.body = stored.text(0, 2);
  }
  co_return outcome;
}

asio::awaitable<Outcome> PgEngine::create(CreateRequest request,
                                          const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  refuse_unbuilt(request);
  Outcome outcome;
  std::int64_t micros = wall_now_us();
  outcome.now = micros / 1000;
  Task task;
  task.account_id = std::move(request.account);
  task.type = std::move(request.type);
  task.id = task_id_string(thread.ulids.next(outcome.now, vnode_of(task.account_id, task.type),
                                             static_cast<int>(micros % 1000)));
  task.payload_json = std::move(request.payload_json);
  task.priority = request.priority;
  task.max_attempts = request.max_attempts;
  task.lease_duration_seconds = request.lease_duration_seconds;
  task.scheduled_at = request.scheduled_at;
  task.created_at = task.updated_at = outcome.now;
  task.review_required = request.review_required;
  task.budget_usd_nanos = request.budget_usd_nanos;
  task.auto_accept = request.auto_accept;
  task.acceptance_timeout_seconds = request.acceptance_timeout_seconds;
  task.accept_on_timeout = request.accept_on_timeout;
  if (!request.assign_to.empty()) {
    task.assign_to = std::move(request.assign_to);
    task.assigned_until = request.assign_timeout_seconds > 0
                              ? outcome.now + static_cast<Millis>(request.assign_timeout_seconds) * 1000
                              : 0;
  }
  record_creation(task, outcome.now);

  Lease connection = co_await thread.pool->acquire();
  const char* insert = options_.notify ? "insert_task_notify" : "insert_task";
  Params row = options_.notify ? insert_notify_params(task) : insert_params(task);
  if (!idempotency) {
    require(co_await connection->run(insert, row));
  } else {
    std::string scope = scope_of(task.account_id, *idempotency);
    require(co_await connection->exec("BEGIN"));
    Result taken = require(co_await connection->run(
        "take_idempotency",
        Params().text(scope).text(idempotency->request_hash)
            .integer(outcome.now + static_cast<Millis>(idempotency->ttl_seconds) * 1000)
            .integer(outcome.now)));
    if (taken.rows() == 0) {
      require(co_await connection->exec("ROLLBACK"));
      co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
    }
    require(co_await connection->run(insert, row));
    outcome.status = idempotency->success_status;
    outcome.body = idempotency->render(task, outcome.now);
    require(co_await connection->run(
        "store_idempotency", Params().text(scope).integer(outcome.status).bytes(outcome.body)));
    require(co_await connection->exec("COMMIT"));
  }
  wake(task.account_id, task.type);
  outcome.task = share(std::move(task));
  co_return outcome;
}

asio::awaitable<Outcome> PgEngine::apply(std::string account, std::string task_id,
                                         Command command, const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  Outcome outcome;
  outcome.now = wall_now_ms();
  if (auto* claim = std::get_if<ClaimCmd>(&command)) {
    if (claim->max_leases > 0) {
      throw NotImplemented("a plan's worker limit is not enforced with storage.engine: postgres yet");
    }
    claim->new_lease_token = random_hex_token("lse_", 16);
  }
  if (!parse_task_id(task_id)) {
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  Lease connection = co_await thread.pool->acquire();
  require(co_await connection->exec("BEGIN"));
  std::string scope;
  if (idempotency) {
    scope = scope_of(account, *idempotency);
    Result taken = require(co_await connection->run(
        "take_idempotency",
        Params().text(scope).text(idempotency->request_hash)
            .integer(outcome.now + static_cast<Millis>(idempotency->ttl_seconds) * 1000)
            .integer(outcome.now)));
    if (taken.rows() == 0) {
      require(co_await connection->exec("ROLLBACK"));
      co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
    }
  }
  Result locked = require(co_await connection->run("lock_task", Params().text(task_id)));
  std::optional<Task> task;
  if (locked.rows() > 0) task = task_of(locked, 0);
  if (!task || (!account.empty() && task->account_id != account)) {
    require(co_await connection->exec("ROLLBACK"));
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  Transition next = baton::apply(*task, command, context_at(thread, outcome.now));
  if (!next.ok() || next.unchanged) {
    // Refused, or a safe retry (complete again): nothing to write.
    require(co_await connection->exec("ROLLBACK"));
    outcome.error = next.error;
    outcome.retry_after_seconds = next.retry_after_seconds;
    outcome.task = share(std::move(next.task));
    co_return outcome;
  }
  require(co_await connection->run("update_task", update_params(next.task)));
  bool ready = next.task.status == TaskStatus::pending;
  if (ready && options_.notify) {
    require(co_await connection->run(
        "notify_ready", Params().text(ready_payload(next.task.account_id, next.task.type))));
  }
  if (idempotency) {
    outcome.status = idempotency->success_status;
    outcome.body = idempotency->render(next.task, outcome.now);
    require(co_await connection->run(
        "store_idempotency", Params().text(scope).integer(outcome.status).bytes(outcome.body)));
  }
  require(co_await connection->exec("COMMIT"));
  if (std::holds_alternative<ClaimCmd>(command)) {
    outcome.previous_claimed_by = task->claimed_by;
    outcome.previous_lease_token = task->lease_token;
  }
  if (ready) wake(next.task.account_id, next.task.type);
  outcome.task = share(std::move(next.task));
  co_return outcome;
}

asio::awaitable<Outcome> PgEngine::try_claim(Thread& thread, const ClaimRequest& request) {
  Outcome outcome;
  outcome.now = wall_now_ms();
  Lease connection = co_await thread.pool->acquire();
  require(co_await connection->exec("BEGIN"));
  Params params;
  params.text(request.account);
  if (request.type) {
    params.text(*request.type);
  } else {
    params.null();
  }
  params.integer(outcome.now).text(request.worker_id);
  Result best = require(co_await connection->run(request.type ? "claim_typed" : "claim_any", params));
  if (best.rows() == 0) {
    require(co_await connection->exec("ROLLBACK"));
    co_return outcome;
  }
  Task task = task_of(best, 0);
  ClaimCmd claim{request.worker_id, random_hex_token("lse_", 16)};
  Transition next = baton::apply(task, claim, context_at(thread, outcome.now));
  if (!next.ok()) {
    // The row matched the claimable filter, so the state machine should agree; if it does
    // not, the claim answers empty rather than taking a task it refuses.
    require(co_await connection->exec("ROLLBACK"));
    co_return outcome;
  }
  require(co_await connection->run("update_task", update_params(next.task)));
  require(co_await connection->exec("COMMIT"));
  outcome.previous_claimed_by = task.claimed_by;
  outcome.previous_lease_token = task.lease_token;
  outcome.task = share(std::move(next.task));
  co_return outcome;
}

asio::awaitable<Outcome> PgEngine::get(std::string account, std::string task_id) {
  Thread& thread = here();
  Outcome outcome;
  outcome.now = wall_now_ms();
  if (!parse_task_id(task_id)) {
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  Lease connection = co_await thread.pool->acquire();
  Result row = require(co_await connection->run("read_task", Params().text(task_id)));
  std::optional<Task> task;
  if (row.rows() > 0) task = task_of(row, 0);
  if (!task || task->account_id != account) {
    outcome.error = ErrorCode::task_not_found;
  } else {
    outcome.task = share(std::move(*task));
  }
  co_return outcome;
}

asio::awaitable<ListPage> PgEngine::list(ListRequest request) {
  Thread& thread = here();
  ListPage page;
  if (request.cursor && !parse_task_id(*request.cursor)) {
    page.error = ErrorCode::invalid_request;
    co_return page;
  }
  Params params;
  params.text(request.account);
  if (request.type) params.text(*request.type); else params.null();
  if (request.status) params.integer(static_cast<int>(*request.status)); else params.null();
  if (request.cursor) params.text(*request.cursor); else params.null();
  // One more than the page: whether there is a next page.
  params.integer(request.limit + 1);
  Lease connection = co_await thread.pool->acquire();
  Result rows = require(co_await connection->run("list_tasks", params));
  for (int row = 0; row < rows.rows() && row < request.limit; ++row) {
    page.tasks.push_back(task_of(rows, row));
  }
  if (rows.rows() > request.limit && !page.tasks.empty()) page.next_cursor = page.tasks.back().id;
  co_return page;
}

}  // namespace baton::pg
