// PgEngine's operations on existing tasks: a command on one task, a claim, reads (the
// creates are engine_creates.cpp). Each is one transaction on a connection of the calling
// thread's pool; the pure state machine decides every change on a row locked FOR UPDATE.
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

// Each part of the scope length-prefixed, so that no two scopes run together, then hashed.
std::string scope_of(const std::string& account, const IdempotencyRequest& request) {
  std::string joined;
  for (const std::string* part : {&account, &request.method, &request.path, &request.key}) {
    joined += std::to_string(part->size()) + ":" + *part;
  }
  return hex_encode(sha256_bytes(joined));
}

// A concurrent request with the same key waits for the first one's transaction to end.
Params key_params(const std::string& scope, const IdempotencyRequest& request, Millis now) {
  return Params().text(scope).text(request.request_hash)
      .integer(now + static_cast<Millis>(request.ttl_seconds) * 1000)
      .integer(now);
}

bool key_held(const Result& taken) { return taken.sqlstate() == kNoRowChanged; }

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
  // The key (when idempotent) and the row's lock, in one round trip.
  std::string scope;
  Params key;
  Params lock = Params().text(task_id);
  std::vector<Step> opening{Step{"BEGIN"}};
  if (idempotency) {
    scope = scope_of(account, *idempotency);
    key = key_params(scope, *idempotency, outcome.now);
    opening.push_back(Step{"take_idempotency", &key});
  }
  opening.push_back(Step{"lock_task", &lock});
  std::vector<Result> opened = co_await connection->pipeline(std::move(opening));
  if (idempotency && key_held(opened[1])) {
    require(co_await connection->exec("ROLLBACK"));
    co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
  }
  opened = require(std::move(opened));
  const Result& locked = opened.back();
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
  // The change, what goes with it and COMMIT, in one round trip.
  Params row = update_params(next.task);
  std::vector<Step> writes{Step{"update_task", &row}};
  Params usage, worker;
  if (usage_params(usage, &*task, next.task, outcome.now)) writes.push_back(Step{"add_usage", &usage});
  if (worker_params(worker, &*task, next.task, outcome.now)) writes.push_back(Step{"add_worker", &worker});
  Params spend;
  // A cost report counts toward the month it was made in, with the change it makes.
  if (std::int64_t added = next.task.cost.usd_nanos - task->cost.usd_nanos; added > 0) {
    spend = Params().text(next.task.account_id).integer(usage_month(outcome.now)).integer(added);
    writes.push_back(Step{"add_spend", &spend});
  }
  bool ready = next.task.status == TaskStatus::pending;
  Params notice;
  if (ready && options_.notify) {
    notice = Params().text(ready_notice(next.task.account_id, next.task.type));
    writes.push_back(Step{"notify_ready", &notice});
  }
  Params stored;
  if (idempotency) {
    outcome.status = idempotency->success_status;
    outcome.body = idempotency->render(next.task, outcome.now);
    stored = Params().text(scope).integer(outcome.status).bytes(outcome.body);
    writes.push_back(Step{"store_idempotency", &stored});
  }
  // A task that finished reads its dependents' links in the transaction that finishes it;
  // one that waited (a blocked task cancelled) waits for nothing more.
  bool finished = is_terminal(next.task.status) && !is_terminal(task->status);
  Params of = Params().text(next.task.id);
  if (finished && !task->waiting_on.empty()) writes.push_back(Step{"unlink_dependent", &of});
  if (finished) writes.push_back(Step{"dependents_of", &of});
  writes.push_back(Step{"COMMIT"});
  std::vector<Result> written = co_await commit(*connection, std::move(writes), 1);
  require_updated(written.front(), next.task);
  written = require(std::move(written));
  if (std::holds_alternative<ClaimCmd>(command)) {
    outcome.previous_claimed_by = task->claimed_by;
    outcome.previous_lease_token = task->lease_token;
  }
  if (finished) tell_later(thread, dependents_told(next.task, written[written.size() - 2]));
  if (ready) wake(next.task.account_id, next.task.type);
  after_change(thread, &*task, next.task);
  outcome.task = share(std::move(next.task));
  co_return outcome;
}

asio::awaitable<Outcome> PgEngine::try_claim(Thread& thread, const ClaimRequest& request) {
  Outcome outcome;
  outcome.now = wall_now_ms();
  Lease connection = co_await thread.pool->acquire();
  Params params;
  params.text(request.account);
  if (request.type) {
    params.text(*request.type);
  } else {
    params.null();
  }
  params.integer(outcome.now).text(request.worker_id);
  const char* statement = request.type ? "claim_typed" : "claim_any";
  std::vector<Step> opening{Step{"BEGIN"}};
  // A limited account's claims lock its row before they look, so that on every node they
  // run one after the other and each counts the leases of those before it: none passes
  // the limit, and none finds the tasks only locked by claims about to be refused.
  Params account = Params().text(request.account);
  std::optional<std::size_t> leases_step;
  if (request.max_leases > 0) {
    opening.push_back(Step{"lock_account", &account});
    leases_step = opening.size();
    opening.push_back(Step{"count_leases", &account});
  }
  // A typed claim that finds nothing says so when an operator paused the type.
  Params queue;
  std::optional<std::size_t> paused_step;
  if (request.type) {
    queue.text(request.account).text(*request.type);
    paused_step = opening.size();
    opening.push_back(Step{"paused_queues", &queue});
  }
  opening.push_back(Step{statement, &params});
  std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
  if (leases_step) {
    // No row, no lock: the count would race. Every key's account has its row.
    if (opened[1].rows() != 1) throw StorageError("postgres: account " + request.account + " has no row to lock");
    if (opened[*leases_step].integer(0, 0) >= request.max_leases) {
      // At the limit, a claim is refused whether or not a task waits (as on RocksDB).
      require(co_await connection->exec("ROLLBACK"));
      outcome.error = ErrorCode::max_workers_reached;
      co_return outcome;
    }
  }
  const Result& best = opened.back();
  if (best.rows() == 0) {
    require(co_await connection->exec("ROLLBACK"));
    outcome.queue_paused = paused_step && opened[*paused_step].rows() > 0;
    co_return outcome;
  }
  Task task = task_of(best, 0);
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
  Params row = update_params(next.task);
  std::vector<Step> writes{Step{"update_task", &row}};
  Params usage, worker;
  if (usage_params(usage, &task, next.task, outcome.now)) writes.push_back(Step{"add_usage", &usage});
  if (worker_params(worker, &task, next.task, outcome.now)) writes.push_back(Step{"add_worker", &worker});
  writes.push_back(Step{"COMMIT"});
  std::vector<Result> written = co_await commit(*connection, std::move(writes), 1);
  require_updated(written.front(), next.task);
  require(std::move(written));
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
  // The row and, when it is a parent, its children: one implicit transaction.
  Params id = Params().text(task_id);
  std::vector<Step> reads{Step{"read_task", &id}, Step{"children_of", &id}};
  std::vector<Result> answers = require(co_await connection->pipeline(std::move(reads)));
  std::optional<Task> task;
  if (answers[0].rows() > 0) task = task_of(answers[0], 0);
  if (!task || task->account_id != account) {
    outcome.error = ErrorCode::task_not_found;
  } else {
    outcome.task = share(std::move(*task));
    outcome.children = children_of(answers[1]);
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
