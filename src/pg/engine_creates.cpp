// PgEngine's creates: one task (with its key, its plan's quota, its links), a batch in one
// pipeline, and a retried batch item by item. Each is one transaction on a connection of
// the calling thread's pool.
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <utility>

#include "core/lifecycle_history.hpp"
#include "engine/linked_create.hpp"
#include "engine/routing.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

Task PgEngine::make_task(Thread& thread, CreateRequest& request, Millis now) {
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
  task.definition_of_done = std::move(request.definition_of_done);
  task.verification_type = std::move(request.verification_type);
  task.verifies_task_id = std::move(request.verifies_task_id);
  task.verifies_attempt = request.verifies_attempt;
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

asio::awaitable<PgEngine::CreateWrite> PgEngine::write_create(Connection& connection, Thread& thread,
                                                              CreateRequest& request, Millis now,
                                                              std::vector<Step> steps,
                                                              std::optional<std::size_t> key_step,
                                                              const CreateClosing& closing) {
  CreateWrite written;
  std::int64_t quota = request.quota_taken ? 0 : request.monthly_quota;
  bool linked = !request.depends_on.empty() || !request.parent_task_id.empty();
  std::deque<Params> params;  // what the steps point to, until the last pipeline ends
  // The linked tasks, each the account's: the dependencies locked, the parent read.
  std::optional<std::size_t> dependencies_step, parent_step;
  if (!request.depends_on.empty()) {
    dependencies_step = steps.size();
    Params& locked = params.emplace_back(Params().text(text_array(request.depends_on)).text(request.account));
    steps.push_back(Step{"lock_dependencies", &locked});
  }
  if (!request.parent_task_id.empty()) {
    parent_step = steps.size();
    Params& parent = params.emplace_back(Params().text(request.parent_task_id).text(request.account));
    steps.push_back(Step{"read_parent", &parent});
  }
  if (quota > 0 || linked) {
    // The linked tasks and the month's count are read before the task is made.
    std::vector<Result> opened;
    if (!steps.empty()) {
      std::vector<Step> opening = std::exchange(steps, {});
      opened = co_await connection.pipeline(std::move(opening));
      if (key_step && key_held(opened[*key_step])) {
        written.key_held = true;
        co_return written;
      }
      key_step.reset();
      opened = require(std::move(opened));
    }
    ErrorCode refused = ErrorCode::none;
    if (linked) {
      refused = resolve_links(dependencies_step ? &opened[*dependencies_step] : nullptr,
                              parent_step ? &opened[*parent_step] : nullptr, request);
    }
    if (refused == ErrorCode::none && quota > 0 &&
        co_await quota_room(connection, request.account, quota, now) < 1) {
      refused = ErrorCode::quota_exceeded;
    }
    if (refused != ErrorCode::none) {
      written.refused = refused;
      closing(nullptr, refused, steps, params);
      std::vector<Step> closed = std::exchange(steps, {});
      require(co_await connection.pipeline(std::move(closed)));
      co_return written;
    }
  }
  Task task = make_task(thread, request, now);
  bool ready = task.status == TaskStatus::pending;
  // Its row with its notification (one statement), its usage, its links.
  const char* insert = options_.notify && ready ? "insert_task_notify" : "insert_task";
  Params& row = params.emplace_back(options_.notify && ready
                                        ? insert_notify_params(task, ready_notice(task.account_id, task.type))
                                        : insert_params(task));
  steps.push_back(Step{insert, &row});
  if (Params usage; usage_params(usage, nullptr, task, now)) {
    steps.push_back(Step{"add_usage", &params.emplace_back(std::move(usage))});
  }
  if (!task.waiting_on.empty()) {
    Params& waits = params.emplace_back(Params().text(text_array(task.waiting_on)).integer(0).text(task.id));
    steps.push_back(Step{"link_tasks", &waits});
  }
  if (!task.parent_task_id.empty()) {
    Params& parent = params.emplace_back(Params().text(text_array({task.parent_task_id})).integer(1).text(task.id));
    steps.push_back(Step{"link_tasks", &parent});
  }
  closing(&task, ErrorCode::none, steps, params);
  std::vector<Result> results = co_await commit(connection, std::move(steps), 1);
  if (key_step && key_held(results[*key_step])) {
    written.key_held = true;  // stored already: the rest was skipped
    co_return written;
  }
  require(std::move(results));
  written.task = std::move(task);
  co_return written;
}

asio::awaitable<Outcome> PgEngine::create(CreateRequest request,
                                          const IdempotencyRequest* idempotency) {
  Thread& thread = here();
  Outcome outcome;
  outcome.now = wall_now_ms();
  // Alone, the insert is its own transaction.
  bool begun = idempotency || (!request.quota_taken && request.monthly_quota > 0) ||
               !request.depends_on.empty() || !request.parent_task_id.empty();
  Lease connection = co_await thread.pool->acquire();
  if (request.assign_best) {
    std::vector<CreateRequest*> assigning{&request};
    co_await assign_best(*connection, std::move(assigning), outcome.now);
  }
  std::string scope;
  Params key;
  std::vector<Step> opening;
  std::optional<std::size_t> key_step;
  if (begun) opening.push_back(Step{"BEGIN"});
  if (idempotency) {
    scope = scope_of(request.account, *idempotency);
    key = key_params(scope, *idempotency, outcome.now);
    key_step = opening.size();
    opening.push_back(Step{"take_idempotency", &key});
  }
  CreateClosing closing = [&](const Task* task, ErrorCode, std::vector<Step>& steps,
                              std::deque<Params>& params) {
    if (!task) {
      steps.push_back(Step{"ROLLBACK"});
      return;
    }
    if (idempotency) {
      outcome.status = idempotency->success_status;
      outcome.body = idempotency->render(*task, outcome.now);
      Params& stored = params.emplace_back(Params().text(scope).integer(outcome.status).bytes(outcome.body));
      steps.push_back(Step{"store_idempotency", &stored});
    }
    if (begun) steps.push_back(Step{"COMMIT"});
  };
  CreateWrite written = co_await write_create(*connection, thread, request, outcome.now,
                                              std::move(opening), key_step, closing);
  if (written.key_held) {
    // Stored already: a replay, which the quota does not count.
    require(co_await connection->exec("ROLLBACK"));
    co_return co_await replay(*connection, scope, idempotency->request_hash, outcome.now);
  }
  if (written.refused != ErrorCode::none) {
    outcome.error = written.refused;
    co_return outcome;
  }
  if (written.task->status == TaskStatus::pending) wake(written.task->account_id, written.task->type);
  outcome.task = share(std::move(*written.task));
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
  Lease connection = co_await thread.pool->acquire();
  std::vector<CreateRequest*> assigning;
  for (CreateRequest& request : requests) {
    if (request.assign_best) assigning.push_back(&request);
  }
  if (!assigning.empty()) co_await assign_best(*connection, std::move(assigning), batch.now);
  std::vector<Task> tasks;
  tasks.reserve(requests.size());
  for (CreateRequest& request : requests) tasks.push_back(make_task(thread, request, batch.now));

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
  UsageSum usage(batch.now);  // one row per type, after the items
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
    usage.add(nullptr, tasks[i]);
    if (idempotency) {
      Params& stored = params.emplace_back(Params().text(scope).integer(item.status).bytes(item.body));
      steps.push_back(Step{"store_idempotency", &stored});
    }
  }
  const std::vector<Params> usage_rows = usage.rows();
  for (const Params& usage_row : usage_rows) steps.push_back(Step{"add_usage", &usage_row});
  steps.push_back(Step{"COMMIT"});
  std::vector<Result> results = co_await commit(*connection, std::move(steps), static_cast<int>(tasks.size()));
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

}  // namespace baton::pg
