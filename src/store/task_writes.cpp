#include "store/task_writes.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <limits>
#include <map>

#include "core/time.hpp"

namespace baton::store {

namespace {

rocksdb::Slice slice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }

void put_terminal_entries(Db& db, rocksdb::WriteBatch& batch, const std::string& account,
                          const std::string& type, TaskStatus status, const Ulid& id,
                          bool remove) {
  using keys::ListIndex;
  for (ListIndex index : {ListIndex::by_status, ListIndex::by_type_status}) {
    std::string key = keys::list_key(index, account, type, status, id);
    if (remove) {
      batch.Delete(db.cf(Cf::listing), slice(key));
    } else {
      batch.Put(db.cf(Cf::listing), slice(key), rocksdb::Slice());
    }
  }
}

}  // namespace

TransitionWrite plan_transition(const Task* before, std::shared_ptr<const Task> after,
                                const Ulid& id) {
  TransitionWrite write;
  write.id = id;
  if (before) {
    write.existed = true;
    write.before_status = before->status;
    // Compared, not encoded: the entry is encoded (once) on the commit thread.
    write.active_changed = records::active_entry_of(*before) != records::active_entry_of(*after);
  }
  write.after = std::move(after);
  return write;
}

void write_transition(Db& db, rocksdb::WriteBatch& batch, const TransitionWrite& write) {
  using keys::ListIndex;
  const Task& after = *write.after;
  const Ulid& id = write.id;
  batch.Put(db.cf(Cf::tasks), slice(keys::task_key(id)), slice(records::encode_task(after)));

  bool live_before = write.existed && !is_terminal(write.before_status);
  bool live_after = !is_terminal(after.status);
  std::string active = keys::active_key(after.account_id, id);
  if (live_after) {
    if (!live_before || write.active_changed) {
      std::string entry = records::encode_active(records::active_entry_of(after));
      batch.Put(db.cf(Cf::active), slice(active), slice(entry));
    }
  } else if (live_before) {
    batch.Delete(db.cf(Cf::active), slice(active));
  }

  if (!write.existed && !after.parent_task_id.empty()) {
    if (auto parent = parse_task_id(after.parent_task_id)) {
      batch.Put(db.cf(Cf::listing), slice(keys::child_key(after.account_id, *parent, id)),
                rocksdb::Slice());
    }
  }
  if (!write.existed) {
    batch.Put(db.cf(Cf::listing),
              slice(keys::list_key(ListIndex::all, after.account_id, after.type, after.status, id)),
              rocksdb::Slice());
    batch.Put(db.cf(Cf::listing),
              slice(keys::list_key(ListIndex::by_type, after.account_id, after.type, after.status,
                                   id)),
              rocksdb::Slice());
  }
  bool status_changed = !write.existed || write.before_status != after.status;
  if (status_changed && write.existed && is_terminal(write.before_status)) {
    put_terminal_entries(db, batch, after.account_id, after.type, write.before_status, id, true);
  }
  if (status_changed && is_terminal(after.status)) {
    put_terminal_entries(db, batch, after.account_id, after.type, after.status, id, false);
  }
}

void write_purge(Db& db, rocksdb::WriteBatch& batch, const Task& task, const Ulid& id) {
  using keys::ListIndex;
  batch.Delete(db.cf(Cf::tasks), slice(keys::task_key(id)));
  for (ListIndex index : {ListIndex::all, ListIndex::by_type}) {
    batch.Delete(db.cf(Cf::listing),
                 slice(keys::list_key(index, task.account_id, task.type, task.status, id)));
  }
  put_terminal_entries(db, batch, task.account_id, task.type, task.status, id, true);
  if (!task.parent_task_id.empty()) {
    if (auto parent = parse_task_id(task.parent_task_id)) {
      batch.Delete(db.cf(Cf::listing), slice(keys::child_key(task.account_id, *parent, id)));
    }
  }
  if (task.log_last_seq > 0) drop_log_lines(db, batch, id, 0, task.log_last_seq + 1);
}

void write_log_lines(Db& db, rocksdb::WriteBatch& batch, const Ulid& task,
                     const std::vector<LogLine>& lines) {
  for (const LogLine& line : lines) {
    batch.Put(db.cf(Cf::logs), slice(keys::log_key(task, line.seq)),
              slice(records::encode_log_line(line)));
  }
}

void drop_log_lines(Db& db, rocksdb::WriteBatch& batch, const Ulid& task, std::int64_t from,
                    std::int64_t until) {
  if (until <= from) return;
  // A few lines (a task at its bound drops about what each append adds): point deletes,
  // which compaction drops like any other; a range tombstone would stay in every read's
  // way until then. More: one range tombstone, whatever the number.
  constexpr std::int64_t kPointDeletes = 64;
  if (until - from <= kPointDeletes) {
    for (std::int64_t seq = from; seq < until; ++seq) {
      batch.Delete(db.cf(Cf::logs), slice(keys::log_key(task, seq)));
    }
    return;
  }
  batch.DeleteRange(db.cf(Cf::logs), slice(keys::log_key(task, from)),
                    slice(keys::log_key(task, until)));
}

std::vector<LogLine> read_log_lines(Db& db, const Ulid& task, std::int64_t after,
                                    std::size_t limit) {
  std::vector<LogLine> lines;
  if (after >= INT64_MAX - 1) return lines;  // no seq comes after it
  std::string start = keys::log_key(task, std::max<std::int64_t>(after, 0) + 1);
  std::string end = keys::log_key(task, INT64_MAX);
  auto it = db.iterate(Cf::logs);
  for (it->Seek(slice(start)); it->Valid() && it->key().compare(slice(end)) < 0 &&
                               lines.size() < limit;
       it->Next()) {
    auto line = records::decode_log_line(std::string_view(it->value().data(), it->value().size()));
    if (line) lines.push_back(std::move(*line));
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  return lines;
}

TerminalScan terminal_created_before(Db& db, const std::string& account, TaskStatus status,
                                     Millis created_before, std::optional<Ulid> after,
                                     std::size_t limit,
                                     const std::function<bool(const Ulid&)>& wanted) {
  TerminalScan scan;
  std::string prefix = keys::list_prefix(keys::ListIndex::by_status, account, {}, status);
  std::string start = after ? keys::list_key(keys::ListIndex::by_status, account, {}, status, *after)
                            : prefix;
  auto it = db.iterate(Cf::listing);
  it->Seek(slice(start));
  if (after && it->Valid() && it->key() == slice(start)) it->Next();
  for (; it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    auto id = keys::list_key_id(std::string_view(it->key().data(), it->key().size()));
    if (!id) continue;
    if (ulid_time(*id) >= created_before) break;  // ids are in creation order
    scan.last = *id;
    if (wanted(*id)) scan.ids.push_back(*id);
    if (scan.ids.size() >= limit) break;
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  scan.done = scan.ids.size() < limit;
  return scan;
}

void write_response(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                    const records::StoredResponse& response) {
  batch.Put(db.cf(Cf::idempotency), slice(key), slice(records::encode_response(response)));
}

void write_worker_stats(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                        const WorkerTypeStats& stats) {
  batch.Put(db.cf(Cf::meta), slice(key), slice(records::encode_worker_stats(stats)));
}

void write_usage(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                 const UsageCounts& counts) {
  batch.Put(db.cf(Cf::meta), slice(key), slice(records::encode_usage(counts)));
}

std::optional<UsageCounts> read_usage(Db& db, const std::string& key) {
  auto bytes = db.get(Cf::meta, key);
  if (!bytes) return std::nullopt;
  return records::decode_usage(*bytes);
}

void scan_usage(Db& db, const std::string& account, std::int64_t from_hour, std::int64_t until_hour,
                const std::function<void(const keys::UsageKey&, const UsageCounts&)>& each) {
  std::string start = keys::usage_key_from(account, from_hour);
  std::string end = keys::usage_key_from(account, until_hour);
  auto it = db.iterate(Cf::meta);
  for (it->Seek(slice(start)); it->Valid() && it->key().compare(slice(end)) < 0; it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    auto parts = keys::decode_usage_key(key);
    auto counts = records::decode_usage(std::string_view(it->value().data(), it->value().size()));
    if (parts && counts && parts->account == account) each(*parts, *counts);
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
}

void write_queue_facts(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                       const QueueFacts& facts) {
  if (facts.empty()) {
    batch.Delete(db.cf(Cf::meta), slice(key));
  } else {
    batch.Put(db.cf(Cf::meta), slice(key), slice(records::encode_queue_facts(facts)));
  }
}

std::optional<QueueFacts> read_queue_facts(Db& db, const std::string& key) {
  auto bytes = db.get(Cf::meta, key);
  if (!bytes) return std::nullopt;
  return records::decode_queue_facts(*bytes);
}

void scan_queue_facts(Db& db, std::string_view prefix,
                      const std::function<void(const keys::QueueFactsKey&, const QueueFacts&)>& each) {
  auto it = db.iterate(Cf::meta);
  rocksdb::Slice start(prefix.data(), prefix.size());
  for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
    auto key = keys::decode_queue_facts_key(std::string_view(it->key().data(), it->key().size()));
    auto facts = records::decode_queue_facts(std::string_view(it->value().data(), it->value().size()));
    if (key && facts) each(*key, *facts);
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
}

StorageStatus count_queue_facts(Db& db) {
  std::string mark(keys::kQueueFactsCounted);
  if (db.get(Cf::meta, mark)) return {};
  std::map<std::string, QueueFacts> counted;  // by queue facts key
  auto accounts = db.iterate(Cf::accounts);
  for (accounts->SeekToFirst(); accounts->Valid(); accounts->Next()) {
    std::string account = accounts->key().ToString();
    std::string prefix = keys::list_prefix(keys::ListIndex::by_status, account, {},
                                           TaskStatus::dead_letter);
    auto it = db.iterate(Cf::listing);
    for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
      auto id = keys::list_key_id(std::string_view(it->key().data(), it->key().size()));
      if (!id) continue;
      auto bytes = db.get(Cf::tasks, keys::task_key(*id));
      std::optional<Task> task = bytes ? records::decode_task(*bytes) : std::nullopt;
      if (!task || task->status != TaskStatus::dead_letter) continue;
      ++counted[keys::queue_facts_key(account, task->type)].dead_lettered;
    }
    if (!it->status().ok()) throw StorageError(it->status().ToString());
  }
  if (!accounts->status().ok()) throw StorageError(accounts->status().ToString());
  rocksdb::WriteBatch batch;
  for (const auto& [key, facts] : counted) write_queue_facts(db, batch, key, facts);
  batch.Put(db.cf(Cf::meta), slice(mark), "1");
  return db.write(batch, true);
}

void write_schedule(Db& db, rocksdb::WriteBatch& batch, const Schedule& schedule, const Ulid& id) {
  batch.Put(db.cf(Cf::meta), slice(keys::schedule_key(id)), slice(records::encode_schedule(schedule)));
}

void delete_schedule(Db& db, rocksdb::WriteBatch& batch, const Ulid& id) {
  batch.Delete(db.cf(Cf::meta), slice(keys::schedule_key(id)));
  std::string from = keys::schedule_runs_prefix(id);
  std::string to = keys::schedule_run_key(id, std::numeric_limits<std::int64_t>::max());
  batch.DeleteRange(db.cf(Cf::meta), slice(from), slice(to));
}

void write_schedule_run(Db& db, rocksdb::WriteBatch& batch, const Ulid& id, const ScheduleRun& run,
                        std::int64_t keep) {
  batch.Put(db.cf(Cf::meta), slice(keys::schedule_run_key(id, run.seq)),
            slice(records::encode_schedule_run(run)));
  if (keep > 0 && run.seq > keep) {
    batch.Delete(db.cf(Cf::meta), slice(keys::schedule_run_key(id, run.seq - keep)));
  }
}

void scan_schedules(Db& db, const std::function<void(const Ulid&, const Schedule&)>& each) {
  auto it = db.iterate(Cf::meta);
  std::string prefix(keys::kSchedulePrefix);
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    auto id = keys::schedule_key_id(std::string_view(it->key().data(), it->key().size()));
    auto schedule = records::decode_schedule(std::string_view(it->value().data(), it->value().size()));
    if (id && schedule) each(*id, *schedule);
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
}

std::vector<ScheduleRun> read_schedule_runs(Db& db, const Ulid& id, std::int64_t before, int limit) {
  std::vector<ScheduleRun> runs;
  std::string prefix = keys::schedule_runs_prefix(id);
  std::string start = keys::schedule_run_key(id, before > 0 ? before : std::numeric_limits<std::int64_t>::max());
  auto it = db.iterate(Cf::meta);
  for (it->SeekForPrev(slice(start)); it->Valid() && it->key().starts_with(slice(prefix)) &&
                                      static_cast<int>(runs.size()) < limit;
       it->Prev()) {
    auto seq = keys::schedule_run_seq(std::string_view(it->key().data(), it->key().size()));
    if (!seq || (before > 0 && *seq >= before)) continue;
    auto run = records::decode_schedule_run(std::string_view(it->value().data(), it->value().size()));
    if (run) runs.push_back(std::move(*run));
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  return runs;
}

void scan_worker_stats(Db& db,
                       const std::function<void(const std::string& key, const WorkerTypeStats&)>& each) {
  auto it = db.iterate(Cf::meta);
  std::string prefix(keys::kWorkerStatsPrefix);
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    auto stats = records::decode_worker_stats(std::string_view(it->value().data(), it->value().size()));
    if (stats) each(it->key().ToString(), *stats);
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
}

void scan_active(Db& db,
                 const std::function<void(const keys::ActiveKey&, const records::ActiveEntry&)>& each) {
  auto it = db.iterate(Cf::active);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = keys::decode_active_key(std::string_view(it->key().data(), it->key().size()));
    auto entry = records::decode_active(std::string_view(it->value().data(), it->value().size()));
    if (key && entry) each(*key, *entry);
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
}

}  // namespace baton::store
