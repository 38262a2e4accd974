// A shard's part of the task logs: every append to a task it owns is decided here (fenced
// by the lifecycle's AppendLogCmd), written with the task's new counters in one write, and
// handed to the task's subscribers once that write is durable. A task's kept lines stay
// within its byte bound: the oldest are dropped, in the same write.
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/task_writes.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<LogAppendOutcome> Shard::append_logs(Ulid id, LogAppendRequest request) {
  LogAppendOutcome outcome;
  outcome.now = wall_now_ms();
  std::shared_ptr<const Task> task = load(id);
  if (!task || task->account_id != request.account) {
    outcome.error = ErrorCode::task_not_found;
    co_return outcome;
  }
  // Fenced before anything is read or counted: a stale writer costs no storage read.
  Transition fence = baton::apply(*task, AppendLogCmd{request.caller, {}}, context_at(outcome.now));
  if (!fence.ok()) {
    outcome.error = fence.error;
    outcome.task = task;
    co_return outcome;
  }
  if (!db_.writable()) {
    outcome.error = ErrorCode::unavailable;
    co_return outcome;
  }
  TaskLog& log = logs_[id];
  if (!log.sizes_known) {
    // Every line of the task is durable (an unwritten one would have made its sizes known).
    log.sizes.clear();
    for (const LogLine& line : store::read_log_lines(db_, id, task->log_first_seq - 1,
                                                     static_cast<std::size_t>(-1))) {
      log.sizes.push_back(line.bytes());
    }
    log.sizes_known = true;
  }
  auto lines = std::make_shared<std::vector<LogLine>>();
  lines->reserve(request.lines.size());
  LogChange change;
  std::int64_t seq = task->log_last_seq;
  for (LogLineInput& input : request.lines) {
    LogLine line{++seq, outcome.now, std::move(input.level), std::move(input.message),
                 std::move(input.data_json), task->claimed_by};
    change.added += 1;
    change.added_bytes += line.bytes();
    log.sizes.push_back(line.bytes());
    lines->push_back(std::move(line));
  }
  std::int64_t kept = task->log_bytes + change.added_bytes;
  while (kept > request.max_task_bytes && !log.sizes.empty()) {
    kept -= log.sizes.front();
    change.dropped_bytes += log.sizes.front();
    change.dropped += 1;
    log.sizes.pop_front();
  }
  Transition appended =
      baton::apply(*task, AppendLogCmd{request.caller, change}, context_at(outcome.now));
  std::shared_ptr<const Task> after = share(std::move(appended.task));
  // Lines dropped by this very append are never written.
  std::erase_if(*lines, [&](const LogLine& line) { return line.seq < after->log_first_seq; });
  store::drop_log_lines(db_, committer_.batch(), id, task->log_first_seq,
                        std::min(after->log_first_seq, task->log_last_seq + 1));
  store::write_log_lines(db_, committer_.batch(), id, *lines);
  Outcome committed;
  std::uint64_t generation =
      commit_transition(task.get(), after, id, nullptr, outcome.now, committed);
  outcome.task = after;
  outcome.first_seq = task->log_last_seq + 1;
  outcome.last_seq = after->log_last_seq;
  std::shared_ptr<const std::vector<LogLine>> shared_lines = std::move(lines);
  if (!shared_lines->empty()) {
    after_durable_.emplace_back(generation, [this, id, shared_lines] {
      auto it = logs_.find(id);
      if (it == logs_.end()) return;
      for (const auto& subscriber : it->second.subscribers) subscriber->deliver(shared_lines);
    });
  }
  StorageStatus written = co_await committer_.wait(generation);
  if (!written.ok()) {
    outcome = LogAppendOutcome{};
    outcome.error = ErrorCode::unavailable;
  }
  co_return outcome;
}

asio::awaitable<LogPage> Shard::read_logs(std::string account, Ulid id, std::int64_t after,
                                          int limit) {
  LogPage page;
  Outcome read = co_await get_durable(account, id);
  if (!read.ok()) {
    page.error = read.error;
    co_return page;
  }
  page.task = read.task;
  page.lines = store::read_log_lines(db_, id, std::max(after, read.task->log_first_seq - 1),
                                     static_cast<std::size_t>(std::max(limit, 0)));
  // Lines past the durable record are not acknowledged yet: not shown.
  std::erase_if(page.lines, [&](const LogLine& line) { return line.seq > read.task->log_last_seq; });
  co_return page;
}

LogSubscription Shard::subscribe_logs(const std::string& account, const Ulid& id,
                                      std::shared_ptr<LogSubscriber> subscriber) {
  LogSubscription subscription;
  if (stopping_) {
    subscription.error = ErrorCode::unavailable;  // shutting down: no one would end it
    return subscription;
  }
  std::shared_ptr<const Task> task = load(id);
  if (!task || task->account_id != account) {
    subscription.error = ErrorCode::task_not_found;
    return subscription;
  }
  subscription.task = task;
  auto dirty = dirty_.find(id);
  bool settled = dirty == dirty_.end();
  if (is_terminal(task->status) && settled) {
    subscription.terminal = true;
    return subscription;
  }
  logs_[id].subscribers.push_back(std::move(subscriber));
  // Its terminal state is being written: the end comes once it is durable.
  if (is_terminal(task->status)) end_log_streams_when_durable(id, task->status, dirty->second.generation);
  return subscription;
}

void Shard::unsubscribe_logs(const Ulid& id, const std::shared_ptr<LogSubscriber>& subscriber) {
  auto it = logs_.find(id);
  if (it == logs_.end()) return;
  std::erase(it->second.subscribers, subscriber);
  if (it->second.subscribers.empty() && !it->second.sizes_known) logs_.erase(it);
}

void Shard::note_log_transition(const Task* before, const Task& after, const Ulid& id,
                                std::uint64_t generation) {
  if (!before || before->status == after.status) return;
  auto it = logs_.find(id);
  if (it == logs_.end()) return;
  // Only a live claim appends: once the task leaves `claimed` its sizes are no longer
  // needed (a later claim reads them again).
  if (after.status != TaskStatus::claimed) {
    it->second.sizes_known = false;
    it->second.sizes.clear();
  }
  if (is_terminal(after.status)) {
    end_log_streams_when_durable(id, after.status, generation);
  } else if (it->second.subscribers.empty() && !it->second.sizes_known) {
    logs_.erase(it);
  }
}

void Shard::end_log_streams_when_durable(const Ulid& id, TaskStatus status,
                                         std::uint64_t generation) {
  after_durable_.emplace_back(generation, [this, id, status] {
    auto found = logs_.find(id);
    if (found == logs_.end()) return;
    for (const auto& subscriber : found->second.subscribers) subscriber->end("", status);
    logs_.erase(found);
  });
}

void Shard::end_log_streams(std::string_view reason, bool forget_sizes) {
  for (auto& [id, log] : logs_) {
    for (const auto& subscriber : log.subscribers) subscriber->end(reason, TaskStatus::pending);
    log.subscribers.clear();
  }
  // At shutdown appends may still be in flight: their tasks' sizes must stay right.
  if (forget_sizes) logs_.clear();
}

}  // namespace baton
