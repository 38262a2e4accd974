#pragma once
// What a task transition writes: the record and every index entry that changes with it,
// added to one WriteBatch so a crash never leaves an index that disagrees with its record.
// And the reads that go with those indexes: the recovery scans (the listing query is
// store/task_listing.hpp).
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/task.hpp"
#include "core/ulid.hpp"
#include "store/db.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"

namespace baton::store {

// A transition as its writes need it: the new record, and what they depend on from the
// old one (account and type never change). Planned on the shard's thread, written on the
// commit thread: encoding the record and its index keys is a tenth of a lifecycle
// request's work, and the shard thread is the one a busy queue waits on.
struct TransitionWrite {
  std::shared_ptr<const Task> after;
  Ulid id{};
  bool existed = false;      // false: a new task
  TaskStatus before_status = TaskStatus::pending;
  bool active_changed = true;  // the active entry must be (re)written
};

// `before` is nullptr for a new task.
TransitionWrite plan_transition(const Task* before, std::shared_ptr<const Task> after,
                                const Ulid& id);
void write_transition(Db& db, rocksdb::WriteBatch& batch, const TransitionWrite& write);

void write_response(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                    const records::StoredResponse& response);

void write_worker_stats(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                        const WorkerTypeStats& stats);
// Calls back with every worker's stored counts (recovery at start).
void scan_worker_stats(Db& db,
                       const std::function<void(const std::string& key, const WorkerTypeStats&)>& each);

// Removes a terminal task whole: its record and every listing entry it has.
// Removes the task: its record, its listing entries and its log lines.
void write_purge(Db& db, rocksdb::WriteBatch& batch, const Task& task, const Ulid& id);

// A task's log lines (the logs family): written, dropped (seqs [from, until)), and read
// in seq order, those after `after`, at most `limit`.
void write_log_lines(Db& db, rocksdb::WriteBatch& batch, const Ulid& task,
                     const std::vector<LogLine>& lines);
void drop_log_lines(Db& db, rocksdb::WriteBatch& batch, const Ulid& task, std::int64_t from,
                    std::int64_t until);
std::vector<LogLine> read_log_lines(Db& db, const Ulid& task, std::int64_t after,
                                    std::size_t limit);
// The account's tasks in terminal `status` created before `created_before`, oldest first
// (the by_status index, in id order), after `after` when given: up to `limit` for which
// `wanted` holds. `last` gets the last id looked at (where the next scan resumes);
// `done` is set when the scan reached the end of those.
struct TerminalScan {
  std::vector<Ulid> ids;
  std::optional<Ulid> last;
  bool done = false;
};
TerminalScan terminal_created_before(Db& db, const std::string& account, TaskStatus status,
                                     Millis created_before, std::optional<Ulid> after,
                                     std::size_t limit,
                                     const std::function<bool(const Ulid&)>& wanted);

// Usage counts of one (account, hour, type) (keys::usage_key), written whole: their shard
// is their one writer.
void write_usage(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                 const UsageCounts& counts);
std::optional<UsageCounts> read_usage(Db& db, const std::string& key);
// Calls back with the account's usage rows of hours [from_hour, until_hour), in hour order.
void scan_usage(Db& db, const std::string& account, std::int64_t from_hour, std::int64_t until_hour,
                const std::function<void(const keys::UsageKey&, const UsageCounts&)>& each);

// A queue's facts (keys::queue_facts_key), written whole by the shard that owns the queue;
// an empty one is deleted.
void write_queue_facts(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                       const QueueFacts& facts);
std::optional<QueueFacts> read_queue_facts(Db& db, const std::string& key);
// Calls back with the stored facts of every queue whose key starts with `prefix`
// (keys::queue_facts_prefix for an account's, keys::kQueueFactsPrefix for all).
void scan_queue_facts(Db& db, std::string_view prefix,
                      const std::function<void(const keys::QueueFactsKey&, const QueueFacts&)>& each);
// Counts the dead letters of every queue into its facts, once per data directory (one
// written before queues counted them): reads each account's dead-letter index and each
// dead letter's type, and writes the counts with the mark that they are done, synced.
StorageStatus count_queue_facts(Db& db);

// Schedules: written whole by the shard that owns the schedule; deleted with their runs.
void write_schedule(Db& db, rocksdb::WriteBatch& batch, const Schedule& schedule, const Ulid& id);
void delete_schedule(Db& db, rocksdb::WriteBatch& batch, const Ulid& id);
// A firing, and the one `keep` firings before it dropped (a schedule keeps its last runs).
void write_schedule_run(Db& db, rocksdb::WriteBatch& batch, const Ulid& id, const ScheduleRun& run,
                        std::int64_t keep);
void scan_schedules(Db& db, const std::function<void(const Ulid&, const Schedule&)>& each);
// The schedule's runs with seq below `before` (0: from the newest), newest first, at most
// `limit`.
std::vector<ScheduleRun> read_schedule_runs(Db& db, const Ulid& id, std::int64_t before, int limit);

// Calls back with every pending or claimed task (recovery at start).
void scan_active(Db& db,
                 const std::function<void(const keys::ActiveKey&, const records::ActiveEntry&)>& each);

}  // namespace baton::store
