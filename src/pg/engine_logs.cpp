// PgEngine's task logs (docs/api.md "Task logs"). An append locks the task's row, is
// fenced by the state machine's AppendLogCmd as on RocksDB, and writes its lines
// (baton_logs), the oldest dropped past the task's bound, and the task's new counters in
// one transaction. Live streams follow a task on the node that serves them: once a line
// is durable, a pull reads what the node's subscribers have not been given and delivers
// it, in seq order. An append or a finishing transition on this node pulls at once; every
// poll_interval_ms a pull catches up with what other nodes did (a line appended there, the
// task's end).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/failures.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

LogLine line_of(const Result& rows, int row) {
  LogLine line;
  line.seq = rows.integer(row, 0);
  line.at = rows.integer(row, 1);
  line.level = rows.text(row, 2);
  line.message = rows.text(row, 3);
  line.data_json = rows.text(row, 4);
  line.worker_id = rows.text(row, 5);
  return line;
}

// The lines of a read_logs answer that the task's record acknowledges (a line is counted
// in the record written with it).
std::vector<LogLine> acknowledged(const Result& rows, const Task& task) {
  std::vector<LogLine> lines;
  for (int row = 0; row < rows.rows(); ++row) {
    LogLine line = line_of(rows, row);
    if (line.seq <= task.log_last_seq) lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

asio::awaitable<LogAppendOutcome> PgEngine::append_logs(LogAppendRequest request) {
  Thread& thread = here();
  LogAppendOutcome outcome;
  outcome.now = wall_now_ms();
  if (!parse_task_id(request.task_id)) {
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  Lease connection = co_await thread.pool->acquire();
  Params id = Params().text(request.task_id);
  std::vector<Step> opening{Step{"BEGIN"}, Step{"lock_task", &id}};
  std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
  outcome.now = wall_now_ms();
  std::optional<Task> task;
  if (opened.back().rows() > 0) task = task_of(opened.back(), 0);
  if (!task || task->account_id != request.account) {
    require(co_await connection->exec("ROLLBACK"));
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  // Fenced before anything is counted: a stale writer costs no read of the lines.
  Transition fence = baton::apply(*task, AppendLogCmd{request.caller, {}}, context_at(thread, outcome.now));
  if (!fence.ok()) {
    require(co_await connection->exec("ROLLBACK"));
    outcome.error = fence.error;
    outcome.task = share(std::move(*task));
    co_return outcome;
  }
  std::vector<LogLine> lines;
  lines.reserve(request.lines.size());
  LogChange change;
  std::int64_t seq = task->log_last_seq;
  for (LogLineInput& input : request.lines) {
    LogLine& line = lines.emplace_back(LogLine{++seq, outcome.now, std::move(input.level), std::move(input.message),
                                               std::move(input.data_json), task->claimed_by});
    change.added += 1;
    change.added_bytes += line.bytes();
  }
  std::int64_t kept = task->log_bytes + change.added_bytes;
  if (kept > request.max_task_bytes) {
    // The oldest go first: the stored lines in seq order, then the new ones.
    Result stored = require(co_await connection->run("log_sizes", id));
    std::vector<std::int64_t> sizes;
    for (int row = 0; row < stored.rows(); ++row) sizes.push_back(stored.integer(row, 1));
    for (const LogLine& line : lines) sizes.push_back(line.bytes());
    for (std::size_t i = 0; i < sizes.size() && kept > request.max_task_bytes; ++i) {
      kept -= sizes[i];
      change.dropped += 1;
      change.dropped_bytes += sizes[i];
    }
  }
  Transition appended = baton::apply(*task, AppendLogCmd{request.caller, change}, context_at(thread, outcome.now));
  Task after = std::move(appended.task);
  // Lines dropped by this very append are never written.
  std::erase_if(lines, [&](const LogLine& line) { return line.seq < after.log_first_seq; });
  Params row = update_params(after);
  std::vector<Step> writes{Step{"update_task", &row}};
  Params dropped;
  if (after.log_first_seq > task->log_first_seq) {
    dropped = Params().text(after.id).integer(after.log_first_seq);
    writes.push_back(Step{"drop_logs", &dropped});
  }
  std::vector<Params> inserts;
  inserts.reserve(lines.size());
  for (const LogLine& line : lines) {
    Params& insert = inserts.emplace_back(Params()
                                              .text(after.id)
                                              .integer(line.seq)
                                              .integer(line.at)
                                              .bytes(line.level)
                                              .bytes(line.message)
                                              .bytes(line.data_json)
                                              .bytes(line.worker_id));
    writes.push_back(Step{"insert_log", &insert});
  }
  Params worker;
  if (worker_params(worker, &*task, after, outcome.now)) writes.push_back(Step{"add_worker", &worker});
  writes.push_back(Step{"COMMIT"});
  std::vector<Result> written = co_await commit(*connection, std::move(writes), 1);
  require_updated(written.front(), after);
  require(std::move(written));
  outcome.first_seq = task->log_last_seq + 1;
  outcome.last_seq = after.log_last_seq;
  if (!lines.empty()) pull_later(thread, after.id);
  outcome.task = share(std::move(after));
  co_return outcome;
}

asio::awaitable<LogPage> PgEngine::read_logs(std::string account, std::string task_id,
                                             std::int64_t after, int limit) {
  Thread& thread = here();
  LogPage page;
  if (!parse_task_id(task_id)) {
    page.error = ErrorCode::task_not_found;
    co_return page;
  }
  Params id = Params().text(task_id);
  Params from = Params().text(task_id).integer(after).integer(std::max(limit, 0));
  std::vector<Step> reads{Step{"read_task", &id}, Step{"read_logs", &from}};
  Lease connection = co_await thread.pool->acquire();
  // One implicit transaction: the record and its lines of one moment.
  std::vector<Result> answers = require(co_await connection->pipeline(std::move(reads)));
  std::optional<Task> task;
  if (answers[0].rows() > 0) task = task_of(answers[0], 0);
  if (!task || task->account_id != account) {
    page.error = ErrorCode::task_not_found;
    co_return page;
  }
  page.lines = acknowledged(answers[1], *task);
  page.task = share(std::move(*task));
  co_return page;
}

asio::awaitable<LogSubscription> PgEngine::subscribe_logs(std::string account, std::string task_id,
                                                          std::shared_ptr<LogSubscriber> subscriber) {
  Thread& thread = here();
  LogSubscription subscription;
  if (shutting_down_) {
    subscription.error = ErrorCode::unavailable;  // no one would end it
    co_return subscription;
  }
  if (!parse_task_id(task_id)) {
    subscription.error = ErrorCode::task_not_found;
    co_return subscription;
  }
  Result read;
  {
    Lease connection = co_await thread.pool->acquire();
    read = require(co_await connection->run("read_task", Params().text(task_id)));
  }
  std::optional<Task> task;
  if (read.rows() > 0) task = task_of(read, 0);
  if (!task || task->account_id != account) {
    subscription.error = ErrorCode::task_not_found;
    co_return subscription;
  }
  subscription.terminal = is_terminal(task->status);
  if (!subscription.terminal) {
    std::lock_guard lock(follows_mutex_);
    // Shutting down since the check above: end_log_streams has run, and would not end it.
    if (shutting_down_) {
      subscription.error = ErrorCode::unavailable;
      co_return subscription;
    }
    // A new follow starts where the record read above stands: what was durable before
    // it is the subscriber's read_logs to read.
    auto [follow, added] = follows_.try_emplace(task_id);
    if (added) follow->second.delivered = task->log_last_seq;
    follow->second.subscribers.push_back(std::move(subscriber));
  }
  subscription.task = share(std::move(*task));
  co_return subscription;
}

void PgEngine::unsubscribe_logs(const std::string& task_id, std::shared_ptr<LogSubscriber> subscriber) {
  std::lock_guard lock(follows_mutex_);
  auto follow = follows_.find(task_id);
  if (follow == follows_.end()) return;
  std::erase(follow->second.subscribers, subscriber);
  if (follow->second.subscribers.empty() && !follow->second.pulling) follows_.erase(follow);
}

bool PgEngine::followed(const std::string& task_id) {
  std::lock_guard lock(follows_mutex_);
  return follows_.contains(task_id);
}

void PgEngine::pull_later(Thread& thread, const std::string& task_id) {
  if (!followed(task_id)) return;
  asio::co_spawn(thread.io, pull_logs(thread, task_id), log_exit("postgres log stream"));
}

asio::awaitable<void> PgEngine::pull_logs(Thread& thread, std::string task_id) {
  // At most this many lines a read: a follow far behind catches up read by read.
  constexpr int kLines = 1000;
  std::int64_t delivered = 0;
  {
    std::lock_guard lock(follows_mutex_);
    auto follow = follows_.find(task_id);
    if (follow == follows_.end()) co_return;
    // One pull at a time per task, so that lines go out in seq order: a pull asked for
    // meanwhile is the running one's to make.
    if (follow->second.pulling) {
      follow->second.again = true;
      co_return;
    }
    follow->second.pulling = true;
    delivered = follow->second.delivered;
  }
  for (;;) {
    std::optional<Task> task;
    std::vector<LogLine> lines;
    bool read = false;
    try {
      Params id = Params().text(task_id);
      Params from = Params().text(task_id).integer(delivered).integer(kLines);
      std::vector<Step> reads{Step{"read_task", &id}, Step{"read_logs", &from}};
      Lease connection = co_await thread.pool->acquire();
      std::vector<Result> answers = require(co_await connection->pipeline(std::move(reads)));
      if (answers[0].rows() > 0) task = task_of(answers[0], 0);
      if (task) lines = acknowledged(answers[1], *task);
      read = true;
    } catch (const std::exception& failure) {
      // The next poll tries again.
      note_failure(Failure::storage_answer, "postgres log stream", failure.what());
    }
    std::lock_guard lock(follows_mutex_);
    auto follow = follows_.find(task_id);
    LogFollow& f = follow->second;
    if (read && !lines.empty()) {
      auto shared = std::make_shared<const std::vector<LogLine>>(std::move(lines));
      for (const auto& subscriber : f.subscribers) subscriber->deliver(shared);
      f.delivered = delivered = shared->back().seq;
      if (static_cast<int>(shared->size()) == kLines) continue;  // more to read
    }
    bool over = read && (!task || is_terminal(task->status));
    if (over) {
      // Every line is out: the stream ends with the task (or with its purge).
      for (const auto& subscriber : f.subscribers) {
        subscriber->end(task ? "" : "purged", task ? task->status : TaskStatus::pending);
      }
      follows_.erase(follow);
      co_return;
    }
    if (read && f.again) {
      f.again = false;
      continue;
    }
    f.pulling = false;
    if (f.subscribers.empty()) follows_.erase(follow);
    co_return;
  }
}

asio::awaitable<void> PgEngine::follow_logs() {
  Thread& thread = here();
  asio::steady_timer timer(thread.io);
  while (!shutting_down_) {
    co_await wait_for(timer, std::chrono::milliseconds(options_.poll_interval_ms));
    std::vector<std::string> ids;
    {
      std::lock_guard lock(follows_mutex_);
      for (const auto& [id, follow] : follows_) ids.push_back(id);
    }
    for (std::string& id : ids) co_await pull_logs(thread, std::move(id));
  }
}

void PgEngine::end_log_streams(std::string_view reason) {
  std::lock_guard lock(follows_mutex_);
  for (auto& [id, follow] : follows_) {
    for (const auto& subscriber : follow.subscribers) subscriber->end(reason, TaskStatus::pending);
    follow.subscribers.clear();
  }
  std::erase_if(follows_, [](const auto& entry) { return !entry.second.pulling; });
}

}  // namespace baton::pg
