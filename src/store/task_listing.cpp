#include "store/task_listing.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>

#include <algorithm>
#include <iterator>

#include "core/time.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"

namespace baton::store {

namespace {

rocksdb::Slice slice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }

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
