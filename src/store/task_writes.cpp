#include "store/task_writes.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <iterator>
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

namespace {

// Adds the task `id` names to the page when its record can be read (an entry whose record
// is missing or unreadable is skipped, not counted). True once the page is complete: it
// holds query.limit tasks and one more readable task was found past them, so the page
// gets a cursor and the next page is never empty.
bool add_to_page(Db::View& view, const Ulid& id, const ListQuery& query, ListResult& result) {
  auto bytes = view.get(Cf::tasks, keys::task_key(id));
  if (!bytes) return false;
  auto task = records::decode_task(*bytes);
  if (!task) return false;
  if (static_cast<int>(result.tasks.size()) == query.limit) {
    result.next_before = parse_task_id(result.tasks.back().id);
    return true;
  }
  result.tasks.push_back(std::move(*task));
  return false;
}

// Walks one prefix of the listing family newest first (keys end with the task ulid), from
// just below `before` when given. Index and records are read from one snapshot, so an
// entry and its record agree. These entries are deleted only by the retention purge,
// which takes the oldest, so a backward walk meets few deleted keys.
ListResult walk_listing(Db& db, const std::string& prefix, const ListQuery& query) {
  ListResult result;
  if (query.limit < 1) return result;  // nothing fits on the page
  Db::View view = db.view();
  auto it = view.iterate(Cf::listing);
  if (query.before) {
    std::string start = prefix;
    start.append(reinterpret_cast<const char*>(query.before->data()), query.before->size());
    it->SeekForPrev(slice(start));
    // SeekForPrev lands on the cursor itself when it is still indexed: step past it.
    if (it->Valid() && it->key() == slice(start)) it->Prev();
  } else {
    std::string end = prefix;
    end.append(17, '\xff');
    it->SeekForPrev(slice(end));
  }
  for (; it->Valid() && it->key().starts_with(slice(prefix)); it->Prev()) {
    if (it->key().size() != prefix.size() + 16) continue;
    auto id = keys::list_key_id(std::string_view(it->key().data(), it->key().size()));
    if (id && add_to_page(view, *id, query, result)) break;
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  return result;
}

// The account's pending or claimed tasks newest first, from its active entries. Every
// finished task leaves a deleted key among them until compaction, so a busy queue has far
// more deleted keys than live ones at the new end, where a backward walk would start, and
// RocksDB steps backward over a deleted key about ten times slower than forward. So the
// walk goes back in time by windows of task creation (16 ms, then each twice the last)
// and reads each window forward, bounded above so that no window steps over another's
// deleted keys. A window found holding more than kDenseWindow accepted entries (a backlog
// created in a burst) is not read whole: it is cut again into windows growing back from
// its newer end (1 ms, 2 ms, 4 ms, ...), so a page reads about as many entries as it
// needs, plus kDenseWindow for each dense window met, or all of one millisecond's.
// `accept` sees each entry's value.
template <typename Accept>
ListResult walk_active(Db& db, const ListQuery& query, Accept accept) {
  ListResult result;
  if (query.limit < 1) return result;
  struct Window {
    std::string lower, upper;  // keys, [lower, upper)
    Millis from = 0, to = 0;   // creation times, [from, to)
  };
  constexpr Millis kFirstWindowMs = 16;
  constexpr std::size_t kDenseWindow = 1024;
  const std::string prefix = keys::active_prefix(query.account);
  auto key_from = [&](Millis ms) { return ms <= 0 ? prefix : keys::active_key_from(query.account, ms); };
  // Pushes windows covering [window.from, window.to), growing back from its newer end
  // (the first `first` ms, then each twice the last), so that the newest is read first.
  std::vector<Window> windows;
  auto cut = [&](Window window, Millis first) {
    std::vector<Window> pieces;
    Millis to = window.to;
    std::string upper = std::move(window.upper);
    for (Millis span = first; to > window.from; span *= 2) {
      Millis from = std::max(window.from, to - span);
      std::string lower = from == window.from ? window.lower : key_from(from);
      pieces.push_back({lower, std::move(upper), from, to});
      upper = std::move(lower);
      to = from;
    }
    windows.insert(windows.end(), std::make_move_iterator(pieces.rbegin()),
                   std::make_move_iterator(pieces.rend()));
  };

  Millis top = 0;
  std::string upper;
  if (query.before) {
    top = ulid_time(*query.before);
    upper = keys::active_key(query.account, *query.before);
  } else {
    top = wall_now_ms();
    upper = prefix + std::string(17, '\xff');  // ids dated past the clock fall in the first window
  }
  // Every id of the account is at least 0 ms old and its time fits in 48 bits.
  cut({prefix, std::move(upper), 0, top + 1}, kFirstWindowMs);

  Db::View view = db.view();
  std::vector<Ulid> ring;  // a window's newest `wanted` accepted ids
  while (!windows.empty()) {
    Window window = std::move(windows.back());
    windows.pop_back();

    const std::size_t wanted = static_cast<std::size_t>(query.limit) + 1 - result.tasks.size();
    const bool splittable = window.to - window.from > 1;
    ring.clear();
    std::size_t seen = 0;
    bool dense = false;
    {
      rocksdb::Slice bound(window.upper.data(), window.upper.size());
      auto it = view.iterate(Cf::active, bound);
      for (it->Seek(slice(window.lower)); it->Valid(); it->Next()) {
        if (it->key().size() != prefix.size() + 16) continue;
        if (!accept(std::string_view(it->value().data(), it->value().size()))) continue;
        auto id = keys::list_key_id(std::string_view(it->key().data(), it->key().size()));
        if (!id) continue;
        if (ring.size() < wanted) {
          ring.push_back(*id);
        } else {
          ring[seen % wanted] = *id;
        }
        if (++seen > kDenseWindow && splittable) {
          dense = true;
          break;
        }
      }
      if (!it->status().ok()) throw StorageError(it->status().ToString());
    }
    if (dense) {
      cut(std::move(window), 1);
      continue;
    }
    // Newest first: the ring's last write, then backward around it.
    for (std::size_t k = 0; k < ring.size(); ++k) {
      if (add_to_page(view, ring[(seen - 1 - k) % ring.size()], query, result)) return result;
    }
    if (seen > wanted) {
      // Unreadable records left the page short of ids the ring had no room for: read the
      // rest of the window, below the oldest id taken.
      const Ulid& oldest = ring[seen % ring.size()];
      windows.push_back({std::move(window.lower), keys::active_key(query.account, oldest), window.from,
                         ulid_time(oldest) + 1});
    }
  }
  return result;
}

}  // namespace

ListResult list_tasks(Db& db, const ListQuery& query) {
  using keys::ListIndex;
  if (query.status && !is_terminal(*query.status)) {
    // Pending and claimed tasks: the account's active entries carry status and type.
    return walk_active(db, query, [&](std::string_view value) {
      auto entry = records::decode_active(value);
      return entry && entry->status == *query.status && (!query.type || entry->type == *query.type);
    });
  }
  ListIndex index = query.type ? (query.status ? ListIndex::by_type_status : ListIndex::by_type)
                               : (query.status ? ListIndex::by_status : ListIndex::all);
  std::string prefix = keys::list_prefix(index, query.account, query.type.value_or(""),
                                         query.status.value_or(TaskStatus::pending));
  return walk_listing(db, prefix, query);
}

TaskChildren read_children(Db& db, const std::string& account, const Ulid& parent) {
  TaskChildren children;
  std::string prefix = keys::children_prefix(account, parent);
  Db::View view = db.view();
  auto it = view.iterate(Cf::listing);
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    auto id = keys::list_key_id(std::string_view(it->key().data(), it->key().size()));
    if (!id) continue;
    auto bytes = view.get(Cf::tasks, keys::task_key(*id));
    if (!bytes) continue;
    auto task = records::decode_task(*bytes);
    if (!task) continue;
    ++children.count;
    ++children.by_status[static_cast<int>(task->status)];
    children.cost.add(task->cost);
    if (static_cast<int>(children.ids.size()) < TaskChildren::kShownChildren) {
      children.ids.push_back(std::move(task->id));
    }
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  return children;
}

}  // namespace baton::store
