// PgEngine's queues: what GET /v1/queues shows of each task type of an account, counted
// from its rows, and pausing a type (a row of baton_paused, which every node's claims
// read in their transaction, so a pause holds on every node from its commit on).
#include <boost/asio/use_awaitable.hpp>

#include <map>

#include "core/ulid.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

namespace {

constexpr Millis kMinute = 60 * 1000;

// The parameters of queue_counts and paused_queues: the account's queues, or one of them;
// with no account, type_counts' (every account's).
struct QueueParams {
  Params counts, paused;
  QueueParams(const std::string* account, const std::string* type, Millis now) {
    if (account) counts.text(*account); else counts.null();
    counts.integer(now).text(first_id_at(now - kMinute)).integer(now - kMinute);
    if (account) paused.text(*account); else paused.null();
    if (type) {
      counts.text(*type);
      paused.text(*type);
    } else {
      counts.null();
      paused.null();
    }
  }
};

// Since when the row's longest-waiting due task has been claimable: the earliest due
// scheduledAt, or the creation of the oldest due task without one (the smallest id).
Millis oldest_pending_since(const Result& counts, int row) {
  Millis oldest = counts.is_null(row, 8) ? 0 : counts.integer(row, 8);
  if (!counts.is_null(row, 9)) {
    if (std::optional<Ulid> id = parse_task_id(counts.bytes(row, 9))) {
      Millis created = ulid_time(*id);
      if (oldest == 0 || created < oldest) oldest = created;
    }
  }
  return oldest;
}

// The queues of the answers to queue_counts (or type_counts) and paused_queues (null:
// not asked), by type.
std::map<std::string, QueueStats> queues_of(const Result& counts, const Result* paused) {
  std::map<std::string, QueueStats> by_type;
  for (int row = 0; row < counts.rows(); ++row) {
    QueueStats& stats = by_type[counts.text(row, 0)];
    stats.type = counts.text(row, 0);
    stats.pending = counts.integer(row, 1);
    stats.scheduled = counts.integer(row, 2);
    stats.claimed = counts.integer(row, 3);
    stats.blocked = counts.integer(row, 4);
    stats.awaiting_review = counts.integer(row, 5);
    stats.awaiting_acceptance = counts.integer(row, 6);
    stats.dead_lettered = counts.integer(row, 7);
    stats.oldest_pending_since = oldest_pending_since(counts, row);
    stats.created_last_minute = counts.integer(row, 10);
    stats.completed_last_minute = counts.integer(row, 11);
  }
  for (int row = 0; paused && row < paused->rows(); ++row) {
    QueueStats& stats = by_type[paused->text(row, 0)];
    stats.type = paused->text(row, 0);
    stats.paused = true;
    stats.paused_at = paused->integer(row, 1);
  }
  return by_type;
}

// A queue is listed while it holds a task that is not finished, moved in the last
// minute, or is paused (as on RocksDB: a type whose tasks all finished long ago is not).
bool listed(const QueueStats& stats) {
  return stats.pending || stats.scheduled || stats.claimed || stats.blocked || stats.awaiting_review ||
         stats.awaiting_acceptance || stats.dead_lettered || stats.created_last_minute ||
         stats.completed_last_minute || stats.paused;
}

}  // namespace

asio::awaitable<std::vector<QueueStats>> PgEngine::queues(std::string account) {
  Thread& thread = here();
  QueueParams params(&account, nullptr, wall_now_ms());
  std::vector<Step> steps{Step{"queue_counts", &params.counts}, Step{"paused_queues", &params.paused}};
  Lease connection = co_await thread.pool->acquire();
  // One implicit transaction: the counts and the pauses of one moment.
  std::vector<Result> answers = require(co_await connection->pipeline(std::move(steps)));
  std::vector<QueueStats> out;
  for (auto& [type, stats] : queues_of(answers[0], &answers[1])) {
    if (listed(stats)) out.push_back(std::move(stats));
  }
  co_return out;
}

asio::awaitable<QueueControlOutcome> PgEngine::pause_queue(std::string account, std::string type,
                                                            bool paused) {
  Thread& thread = here();
  Millis now = wall_now_ms();
  Params change = Params().text(account).text(type);
  if (paused) change.integer(now);
  QueueParams read(&account, &type, now);
  std::vector<Step> steps{Step{paused ? "pause_queue" : "resume_queue", &change}};
  Params notice;
  if (!paused && options_.notify) {
    // Claims parked on other nodes look again.
    notice.text(ready_notice(account, type));
    steps.push_back(Step{"notify_ready", &notice});
  }
  steps.push_back(Step{"queue_counts", &read.counts});
  steps.push_back(Step{"paused_queues", &read.paused});
  Lease connection = co_await thread.pool->acquire();
  // One implicit transaction: the change, and the queue as it is once committed.
  std::vector<Result> answers = require(co_await connection->pipeline(std::move(steps)));
  std::size_t counts = answers.size() - 2;
  QueueControlOutcome outcome;
  std::map<std::string, QueueStats> by_type = queues_of(answers[counts], &answers[counts + 1]);
  auto found = by_type.find(type);
  if (found != by_type.end()) outcome.queue = std::move(found->second);
  outcome.queue.type = type;
  // Every claim parked here on the type looks again: a resume may free many tasks.
  if (!paused) wake(account, type, true);
  co_return outcome;
}

asio::awaitable<EngineMetrics> PgEngine::metrics(int max_types) {
  Thread& thread = here();
  EngineMetrics out;
  out.commit_write_us = commit_us_.snapshot();
  out.commit_ops = commit_changes_.snapshot();
  out.lease_expiry_lag_us = expiry_lag_us_.snapshot();
  out.claim_wait_us = claim_wait_us_.snapshot();
  // No shard holds tasks of its own here, and the storage figures are PostgreSQL's to
  // report (its statistics views): neither is given.
  QueueParams params(nullptr, nullptr, wall_now_ms());
  Lease connection = co_await thread.pool->acquire();
  Result counts = require(co_await connection->run("type_counts", params.counts));
  for (auto& [type, stats] : queues_of(counts, nullptr)) {
    if (listed(stats)) out.types.push_back(std::move(stats));
  }
  out.types = fold_types(std::move(out.types), max_types);
  co_return out;
}

}  // namespace baton::pg
