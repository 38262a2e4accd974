// PgEngine's operations on tasks: create, a command on one task, a claim, reads. Each is
// one transaction on a connection of the calling thread's pool; the pure state machine
// decides every change on a row locked FOR UPDATE.
#include <boost/asio/use_awaitable.hpp>

#include "core/failures.hpp"
#include "core/lifecycle_history.hpp"
#include "core/sha256.hpp"
#include "core/usage.hpp"
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
}

// In the open transaction, takes the key for this request: true when it is the first
// (or the key had expired), false when an answer is stored under it (a concurrent request
// with the same key has waited for that one's transaction to end).
asio::awaitable<bool> take_key(Connection& connection, const std::string& scope,
                               const IdempotencyRequest& request, Millis now) {
  Result taken = require(co_await connection.run(
      "take_idempotency", Params().text(scope).text(request.request_hash)
                              .integer(now + static_cast<Millis>(request.ttl_seconds) * 1000)
                              .integer(now)));
  co_return taken.rows() > 0;
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

Task PgEngine::make_task(Thread& thread, CreateRequest& request, Millis now) {
  refuse_unbuilt(request);
  std::int64_t micros = wall_now_us();
  Task task;
  task.account_id = std::move(request.account);
  task.type = std::move(request.type);
  task.id = task_id_string(thread.ulids.next(now, vnode_of(task.account_id, task.type),
                                             static_cast<int>(micros % 1000)));
  task.payload_json = std::move(request.payload_json);
  task.priority = request.priority;
  task.max_attempts = request.max_attempts;
  task.lease_duration_seconds = request.lease_duration_seconds;
  task.scheduled_at = request.scheduled_at;
  task.created_at = task.updated_at = now;
  task.review_required = request.review_required;
  task.budget_usd_nanos = request.budget_usd_nanos;
  task.auto_accept = request.auto_accept;
  task.acceptance_timeout_seconds = request.acceptance_timeout_seconds;
  task.accept_on_timeout = request.accept_on_timeout;
  if (!request.assign_to.empty()) {
    task.assign_to = std::move(request.assign_to);
    task.assigned_until = request.assign_timeout_seconds > 0
                              ? now + static_cast<Millis>(request.assign_timeout_seconds) * 1000
                              : 0;
  }
  record_creation(task, now);
  return task;
}

asio::awaitable<Outcome> PgEngine::create(CreateRequest request,
                                          const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  Outcome outcome;
  outcome.now = wall_now_ms();
  std::int64_t quota = request.quota_taken ? 0 : request.monthly_quota;
  Task task = make_task(thread, request, outcome.now);
  Lease connection = co_await thread.pool->acquire();
  const char* insert = options_.notify ? "insert_task_notify" : "insert_task";
  Params row = options_.notify ? insert_notify_params(task, ready_notice(task.account_id, task.type))
                               : insert_params(task);
  if (!idempotency && quota == 0) {
    // One statement, its own transaction: the row and its notification.
    require(co_await connection->run(insert, row));
  } else {
    require(co_await connection->exec("BEGIN"));
    std::string scope;
    if (idempotency) {
      scope = scope_of(task.account_id, *idempotency);
      if (!co_await take_key(*connection, scope, *idempotency, outcome.now)) {
        // Stored already: a replay, which the quota does not count.
        require(co_await connection->exec("ROLLBACK"));
        co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
      }
    }
    if (quota > 0) {
      std::int64_t room = co_await quota_room(*connection, task.account_id, quota, outcome.now);
      if (room < 1) {
        require(co_await connection->exec("ROLLBACK"));
        outcome.error = ErrorCode::quota_exceeded;
        co_return outcome;
      }
    }
    require(co_await connection->run(insert, row));
    if (idempotency) {
      outcome.status = idempotency->success_status;
      outcome.body = idempotency->render(task, outcome.now);
      require(co_await connection->run(
          "store_idempotency", Params().text(scope).integer(outcome.status).bytes(outcome.body)));
    }
    require(co_await connection->exec("COMMIT"));
  }
  wake(task.account_id, task.type);
  outcome.task = share(std::move(task));
  co_return outcome;
}

asio::awaitable<BatchOutcome> PgEngine::create_batch(std::vector<CreateRequest> requests,
                                                     const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  BatchOutcome batch;
  batch.now = wall_now_ms();
  if (requests.empty()) co_return batch;
  // The items of a batch are the account's, with its plan's quota.
  const std::string account = requests.front().account;
  std::int64_t quota = requests.front().quota_taken ? 0 : requests.front().monthly_quota;
  std::vector<Task> tasks;
  tasks.reserve(requests.size());
  for (CreateRequest& request : requests) tasks.push_back(make_task(thread, request, batch.now));

  auto refuse = [&](ErrorCode code) {
    batch.error = code;
    batch.items.clear();
  };
  Lease connection = co_await thread.pool->acquire();
  require(co_await connection->exec("BEGIN"));
  std::int64_t room = -1;  // no quota
  if (quota > 0) room = co_await quota_room(*connection, account, quota, batch.now);
  std::int64_t made = 0;
  const char* insert = options_.notify ? "insert_task_notify" : "insert_task";
  batch.items.resize(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    Outcome& item = batch.items[i];
    item.now = batch.now;
    std::optional<IdempotencyRequest> key;
    std::string scope;
    if (idempotency) {
      // Item i is an idempotent create of its own; a retry of the batch finds all of them
      // stored (the batch is one transaction) and answers them again.
      key = item_idempotency(*idempotency, i);
      scope = scope_of(account, *key);
      if (!co_await take_key(*connection, scope, *key, batch.now)) {
        item = co_await replay(*connection, scope, key->request_hash, batch.now);
        if (!item.ok()) {
          require(co_await connection->exec("ROLLBACK"));
          refuse(item.error);
          co_return batch;
        }
        continue;
      }
    }
    if (room >= 0 && made >= room) {
      require(co_await connection->exec("ROLLBACK"));
      refuse(ErrorCode::quota_exceeded);
      co_return batch;
    }
    // A local, not a temporary in the co_await: g++ 12 ends a conditional's temporaries
    // there before the statement is sent.
    Params row = options_.notify ? insert_notify_params(tasks[i], ready_notice(account, tasks[i].type))
                                 : insert_params(tasks[i]);
    require(co_await connection->run(insert, row));
    ++made;
    if (key) {
      item.status = key->success_status;
      item.body = key->render(tasks[i], batch.now);
      require(co_await connection->run(
          "store_idempotency", Params().text(scope).integer(item.status).bytes(item.body)));
    }
    item.task = share(tasks[i]);
  }
  require(co_await connection->exec("COMMIT"));
  for (const Outcome& item : batch.items) {
    if (item.task) wake(item.task->account_id, item.task->type);
  }
  co_return batch;
}

asio::awaitable<Outcome> PgEngine::apply(std::string account, std::string task_id,
                                         Command command, const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  Outcome outcome;
  outcome.now = wall_now_ms();
  if (auto* claim = std::get_if<ClaimCmd>(&command)) claim->new_lease_token = random_hex_token("lse_", 16);
  if (!parse_task_id(task_id)) {
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  Lease connection = co_await thread.pool->acquire();
  require(co_await connection->exec("BEGIN"));
  std::string scope;
  if (idempotency) {
    scope = scope_of(account, *idempotency);
    if (!co_await take_key(*connection, scope, *idempotency, outcome.now)) {
      require(co_await connection->exec("ROLLBACK"));
      co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
    }
  }
  Result locked = require(co_await connection->run("lock_task", Params().text(task_id)));
  // Decided at the time the row is ours: a lease that ended while this waited for the row
  // has ended.
  outcome.now = wall_now_ms();
  std::optional<Task> task;
  if (locked.rows() > 0) task = task_of(locked, 0);
  if (!task || (!account.empty() && task->account_id != account)) {
    require(co_await connection->exec("ROLLBACK"));
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  auto* claim = std::get_if<ClaimCmd>(&command);
  if (claim && claim->max_leases > 0 && is_claimable_by(*task, claim->worker_id, outcome.now)) {
    bool fits = co_await lease_fits(*connection, task->account_id, claim->max_leases);
    if (!fits) {
      require(co_await connection->exec("ROLLBACK"));
      // The row was locked meanwhile: claims that passed it by look again.
      wake(task->account_id, task->type);
      outcome.error = ErrorCode::max_workers_reached;
      co_return outcome;
    }
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
  co_await update_row(*connection, next.task);
  // A cost report counts toward the month it was made in, with the change it makes.
  if (std::int64_t added = next.task.cost.usd_nanos - task->cost.usd_nanos; added > 0) {
    require(co_await connection->run(
        "add_spend", Params().text(next.task.account_id).integer(usage_month(outcome.now)).integer(added)));
  }
  bool ready = next.task.status == TaskStatus::pending;
  if (ready && options_.notify) {
    require(co_await connection->run(
        "notify_ready", Params().text(ready_notice(next.task.account_id, next.task.type))));
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
  if (request.max_leases > 0) {
    // At the limit, a claim is refused whether or not a task waits (as on RocksDB); below
    // it, the count is made again under the account's lock once a task is found.
    Result leases = require(co_await connection->run("count_leases", Params().text(request.account)));
    if (leases.integer(0, 0) >= request.max_leases) {
      outcome.error = ErrorCode::max_workers_reached;
      co_return outcome;
    }
  }
  require(co_await connection->exec("BEGIN"));
  Params params;
  params.text(request.account);
  if (request.type) {
    params.text(*request.type);
  } else {
    params.null();
  }
  params.integer(outcome.now).text(request.worker_id);
  const char* statement = request.type ? "claim_typed" : "claim_any";
  Result best = require(co_await connection->run(statement, params));
  if (best.rows() == 0) {
    require(co_await connection->exec("ROLLBACK"));
    co_return outcome;
  }
  Task task = task_of(best, 0);
  if (request.max_leases > 0) {
    bool fits = co_await lease_fits(*connection, request.account, request.max_leases);
    if (!fits) {
      require(co_await connection->exec("ROLLBACK"));
      wake(task.account_id, task.type);  // claims that passed its locked row by look again
      outcome.error = ErrorCode::max_workers_reached;
      co_return outcome;
    }
  }
  outcome.now = wall_now_ms();
  ClaimCmd claim{request.worker_id, random_hex_token("lse_", 16)};
  Transition next = baton::apply(task, claim, context_at(thread, outcome.now));
  if (!next.ok()) {
    // The row matched the claimable filter, so its columns disagree with its record
    // (written by something else than Baton): the claim answers empty rather than take a
    // task the state machine refuses, and says so.
    require(co_await connection->exec("ROLLBACK"));
    note_failure(Failure::storage_answer, "postgres claim",
                 "task " + task.id + " is claimable by its columns, not by its record");
    co_return outcome;
  }
  co_await update_row(*connection, next.task);
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
