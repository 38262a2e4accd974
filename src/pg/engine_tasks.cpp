// PgEngine's operations on tasks: create, a command on one task, a claim, reads. Each is
// one transaction on a connection of the calling thread's pool; the pure state machine
// decides every change on a row locked FOR UPDATE.
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <utility>

#include "core/failures.hpp"
#include "core/lifecycle_history.hpp"
#include "core/sha256.hpp"
#include "core/usage.hpp"
#include "engine/linked_create.hpp"
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

// Create fields whose engine side (a verifier's task, an acceptance gate's timer, ranking
// workers) is not built on PostgreSQL yet.
void refuse_unbuilt(const CreateRequest& request) {
  auto refuse = [](std::string_view what) {
    throw NotImplemented(std::string(what) + " is not available with storage.engine: postgres yet");
  };
  if (request.definition_of_done) refuse("definition_of_done");
  if (!request.verification_type.empty()) refuse("verification");
  if (request.assign_best) refuse("assign: best");
}

// The parameters of "take_idempotency" for this request: it takes the key when this is the
// first request with it (or the key had expired), and fails with kNoRowChanged when an
// answer is stored under it (a concurrent request with the same key has waited for that
// one's transaction to end).
Params key_params(const std::string& scope, const IdempotencyRequest& request, Millis now) {
  return Params().text(scope).text(request.request_hash)
      .integer(now + static_cast<Millis>(request.ttl_seconds) * 1000)
      .integer(now);
}

bool key_held(const Result& taken) { return taken.sqlstate() == kNoRowChanged; }

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
  start_linked(task, request);
  record_creation(task, now);
  return task;
}

asio::awaitable<Outcome> PgEngine::create(CreateRequest request,
                                          const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  Outcome outcome;
  outcome.now = wall_now_ms();
  refuse_unbuilt(request);  // before any round trip (make_task checks it again)
  std::int64_t quota = request.quota_taken ? 0 : request.monthly_quota;
  bool linked = !request.depends_on.empty() || !request.parent_task_id.empty();
  // Alone, the insert is its own transaction.
  bool begun = idempotency || quota > 0 || linked;
  Lease connection = co_await thread.pool->acquire();
  std::string scope;
  Params key;
  std::vector<Step> steps;
  bool taking = false;  // the key is taken in the last pipeline
  if (begun) {
    steps.push_back(Step{"BEGIN"});
    if (idempotency) {
      scope = scope_of(request.account, *idempotency);
      key = key_params(scope, *idempotency, outcome.now);
      steps.push_back(Step{"take_idempotency", &key});
      taking = true;
    }
  }
  // The linked tasks, each the account's: the dependencies locked, the parent read.
  Params dependencies, parent_row;
  std::optional<std::size_t> dependencies_step, parent_step;
  if (!request.depends_on.empty()) {
    dependencies.text(text_array(request.depends_on)).text(request.account);
    dependencies_step = steps.size();
    steps.push_back(Step{"lock_dependencies", &dependencies});
  }
  if (!request.parent_task_id.empty()) {
    parent_row.text(request.parent_task_id).text(request.account);
    parent_step = steps.size();
    steps.push_back(Step{"read_parent", &parent_row});
  }
  if (quota > 0 || linked) {
    // The linked tasks and the month's count are read before the task is made.
    std::vector<Step> opening = std::exchange(steps, {});
    std::vector<Result> opened = co_await connection->pipeline(std::move(opening));
    if (taking && key_held(opened[1])) {
      // Stored already: a replay, which the quota does not count.
      require(co_await connection->exec("ROLLBACK"));
      co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
    }
    taking = false;
    opened = require(std::move(opened));
    ErrorCode refused = ErrorCode::none;
    if (linked) {
      refused = resolve_links(dependencies_step ? &opened[*dependencies_step] : nullptr,
                              parent_step ? &opened[*parent_step] : nullptr, request);
    }
    if (refused == ErrorCode::none && quota > 0 &&
        co_await quota_room(*connection, request.account, quota, outcome.now) < 1) {
      refused = ErrorCode::quota_exceeded;
    }
    if (refused != ErrorCode::none) {
      require(co_await connection->exec("ROLLBACK"));
      outcome.error = refused;
      co_return outcome;
    }
  }
  Task task = make_task(thread, request, outcome.now);
  bool ready = task.status == TaskStatus::pending;
  // Its row with its notification (one statement), its links, its stored answer.
  const char* insert = options_.notify && ready ? "insert_task_notify" : "insert_task";
  Params row = options_.notify && ready ? insert_notify_params(task, ready_notice(task.account_id, task.type))
                                        : insert_params(task);
  steps.push_back(Step{insert, &row});
  Params usage;
  if (usage_params(usage, nullptr, task, outcome.now)) steps.push_back(Step{"add_usage", &usage});
  Params waits, parent;
  if (!task.waiting_on.empty()) {
    waits.text(text_array(task.waiting_on)).integer(0).text(task.id);
    steps.push_back(Step{"link_tasks", &waits});
  }
  if (!task.parent_task_id.empty()) {
    parent.text(text_array({task.parent_task_id})).integer(1).text(task.id);
    steps.push_back(Step{"link_tasks", &parent});
  }
  Params stored;
  if (idempotency) {
    outcome.status = idempotency->success_status;
    outcome.body = idempotency->render(task, outcome.now);
    stored = Params().text(scope).integer(outcome.status).bytes(outcome.body);
    steps.push_back(Step{"store_idempotency", &stored});
  }
  if (begun) steps.push_back(Step{"COMMIT"});
  std::vector<Result> results = co_await connection->pipeline(std::move(steps));
  if (taking && key_held(results[1])) {
    // Stored already: the rest was skipped.
    require(co_await connection->exec("ROLLBACK"));
    co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
  }
  require(std::move(results));
  if (ready) wake(task.account_id, task.type);
  outcome.task = share(std::move(task));
  co_return outcome;
}

asio::awaitable<BatchOutcome> PgEngine::create_batch(std::vector<CreateRequest> requests,
                                                     const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  BatchOutcome batch;
  batch.now = wall_now_ms();
  if (requests.empty()) co_return batch;
  // Linked items are checked and linked one by one, as single creates (as on RocksDB).
  bool linked = std::any_of(requests.begin(), requests.end(), [](const CreateRequest& request) {
    return !request.depends_on.empty() || !request.parent_task_id.empty();
  });
  if (linked) co_return co_await TaskEngine::create_batch(std::move(requests), idempotency);
  // The items of a batch are the account's, with its plan's quota.
  const std::string account = requests.front().account;
  std::int64_t quota = requests.front().quota_taken ? 0 : requests.front().monthly_quota;
  std::vector<Task> tasks;
  tasks.reserve(requests.size());
  for (CreateRequest& request : requests) tasks.push_back(make_task(thread, request, batch.now));

  Lease connection = co_await thread.pool->acquire();
  std::vector<Step> steps{Step{"BEGIN"}};
  if (quota > 0) {
    std::vector<Step> opening = std::exchange(steps, {});
    require(co_await connection->pipeline(std::move(opening)));
    std::int64_t room = co_await quota_room(*connection, account, quota, batch.now);
    if (room < static_cast<std::int64_t>(tasks.size())) {
      // Items of a retried batch are replays, which the quota does not count: only the
      // item-by-item path can tell.
      if (idempotency) co_return co_await create_items(*connection, tasks, *idempotency, room, batch.now);
      require(co_await connection->exec("ROLLBACK"));
      batch.error = ErrorCode::quota_exceeded;
      co_return batch;
    }
  }
  // Every item in one pipeline: its key (when idempotent), its row, its stored answer.
  const char* insert = options_.notify ? "insert_task_notify" : "insert_task";
  std::vector<Params> params;
  params.reserve(4 * tasks.size());
  std::vector<std::size_t> key_steps;
  batch.items.resize(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    Outcome& item = batch.items[i];
    item.now = batch.now;
    std::string scope;
    if (idempotency) {
      // Item i is an idempotent create of its own; a retry of the batch finds all of them
      // stored (the batch is one transaction) and answers them again.
      IdempotencyRequest key = item_idempotency(*idempotency, i);
      scope = scope_of(account, key);
      key_steps.push_back(steps.size());
      steps.push_back(Step{"take_idempotency", &params.emplace_back(key_params(scope, key, batch.now))});
      item.status = key.success_status;
      item.body = key.render(tasks[i], batch.now);
    }
    Params& row = params.emplace_back(options_.notify
                                          ? insert_notify_params(tasks[i], ready_notice(account, tasks[i].type))
                                          : insert_params(tasks[i]));
    steps.push_back(Step{insert, &row});
    if (Params usage; usage_params(usage, nullptr, tasks[i], batch.now)) {
      steps.push_back(Step{"add_usage", &params.emplace_back(std::move(usage))});
    }
    if (idempotency) {
      Params& stored = params.emplace_back(Params().text(scope).integer(item.status).bytes(item.body));
      steps.push_back(Step{"store_idempotency", &stored});
    }
  }
  steps.push_back(Step{"COMMIT"});
  std::vector<Result> results = co_await connection->pipeline(std::move(steps));
  for (std::size_t step : key_steps) {
    if (key_held(results[step])) {
      // A retry: some items are stored. The transaction failed at that key; the batch is
      // made again item by item, answering the stored ones.
      require(co_await connection->exec("ROLLBACK"));
      require(co_await connection->exec("BEGIN"));
      std::int64_t room = -1;
      if (quota > 0) room = co_await quota_room(*connection, account, quota, batch.now);
      co_return co_await create_items(*connection, tasks, *idempotency, room, batch.now);
    }
  }
  require(std::move(results));
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    batch.items[i].task = share(std::move(tasks[i]));
    wake(account, batch.items[i].task->type);
  }
  co_return batch;
}

asio::awaitable<BatchOutcome> PgEngine::create_items(Connection& connection, std::vector<Task>& tasks,
                                                     const IdempotencyRequest& idempotency,
                                                     std::int64_t room, Millis now) {
  BatchOutcome batch;
  batch.now = now;
  const std::string account = tasks.front().account_id;
  auto refuse = [&](ErrorCode code) {
    batch.error = code;
    batch.items.clear();
  };
  std::int64_t made = 0;
  const char* insert = options_.notify ? "insert_task_notify" : "insert_task";
  batch.items.resize(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    Outcome& item = batch.items[i];
    item.now = now;
    IdempotencyRequest key = item_idempotency(idempotency, i);
    std::string scope = scope_of(account, key);
    // The key taken without failing the transaction when it is held (the items before this
    // one are written in it).
    Params key_row = key_params(scope, key, now);
    Result taken = require(co_await connection.run("try_idempotency", key_row));
    if (taken.rows() == 0) {
      item = co_await replay(connection, scope, key.request_hash, now);
      if (!item.ok()) {
        require(co_await connection.exec("ROLLBACK"));
        refuse(item.error);
        co_return batch;
      }
      continue;
    }
    if (room >= 0 && made >= room) {
      require(co_await connection.exec("ROLLBACK"));
      refuse(ErrorCode::quota_exceeded);
      co_return batch;
    }
    // Locals, not temporaries in the co_await: g++ 12 ends a conditional's temporaries
    // there before the statement is sent.
    Params row = options_.notify ? insert_notify_params(tasks[i], ready_notice(account, tasks[i].type))
                                 : insert_params(tasks[i]);
    item.status = key.success_status;
    item.body = key.render(tasks[i], now);
    Params stored = Params().text(scope).integer(item.status).bytes(item.body);
    std::vector<Step> steps{Step{insert, &row}, Step{"store_idempotency", &stored}};
    Params usage;
    if (usage_params(usage, nullptr, tasks[i], now)) steps.push_back(Step{"add_usage", &usage});
    require(co_await connection.pipeline(std::move(steps)));
    ++made;
    item.task = share(tasks[i]);
  }
  require(co_await connection.exec("COMMIT"));
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
  Params usage;
  if (usage_params(usage, &*task, next.task, outcome.now)) writes.push_back(Step{"add_usage", &usage});
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
  std::vector<Result> written = co_await connection->pipeline(std::move(writes));
  require_updated(written.front(), next.task);
  written = require(std::move(written));
  if (std::holds_alternative<ClaimCmd>(command)) {
    outcome.previous_claimed_by = task->claimed_by;
    outcome.previous_lease_token = task->lease_token;
  }
  if (finished) tell_later(thread, dependents_told(next.task, written[written.size() - 2]));
  if (ready) wake(next.task.account_id, next.task.type);
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
  Params usage;
  if (usage_params(usage, &task, next.task, outcome.now)) writes.push_back(Step{"add_usage", &usage});
  writes.push_back(Step{"COMMIT"});
  std::vector<Result> written = co_await connection->pipeline(std::move(writes));
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
