#include "store/task_writes.hpp"

#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

namespace baton::store {

namespace {

rocksdb::Slice slice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }

std::string timer_key_of(const Task& task, const Ulid& id) {
  return keys::encode(keys::TimerKey{ulid_vnode(id), task.lease_expires_at,
                                     keys::TimerKind::lease, id});
}

void put_status_entries(Db& db, rocksdb::WriteBatch& batch, const Task& task, const Ulid& id,
                        bool remove) {
  using keys::ListIndex;
  for (ListIndex index : {ListIndex::by_status, ListIndex::by_type_status}) {
    std::string key = keys::list_key(index, task.account_id, task.type, task.status, id);
    if (remove) {
      batch.Delete(db.cf(Cf::listing), slice(key));
    } else {
      batch.Put(db.cf(Cf::listing), slice(key), rocksdb::Slice());
    }
  }
}

}  // namespace

void write_transition(Db& db, rocksdb::WriteBatch& batch, const Task* before, const Task& after,
                      const Ulid& id) {
  batch.Put(db.cf(Cf::tasks), slice(keys::task_key(id)), slice(records::encode_task(after)));

  if (before && before->status == TaskStatus::pending) {
    batch.Delete(db.cf(Cf::ready), slice(keys::ready_key_of(*before, id)));
  }
  if (after.status == TaskStatus::pending) {
    batch.Put(db.cf(Cf::ready), slice(keys::ready_key_of(after, id)), rocksdb::Slice());
  }

  bool lease_before = before && before->status == TaskStatus::claimed;
  bool lease_after = after.status == TaskStatus::claimed;
  if (lease_before && (!lease_after || before->lease_expires_at != after.lease_expires_at)) {
    batch.Delete(db.cf(Cf::timers), slice(timer_key_of(*before, id)));
  }
  if (lease_after && (!lease_before || before->lease_expires_at != after.lease_expires_at)) {
    batch.Put(db.cf(Cf::timers), slice(timer_key_of(after, id)), rocksdb::Slice());
  }

  if (!before) {
    using keys::ListIndex;
    batch.Put(db.cf(Cf::listing),
              slice(keys::list_key(ListIndex::all, after.account_id, after.type, after.status, id)),
              rocksdb::Slice());
    batch.Put(db.cf(Cf::listing),
              slice(keys::list_key(ListIndex::by_type, after.account_id, after.type, after.status,
                                   id)),
              rocksdb::Slice());
  }
  if (!before || before->status != after.status) {
    if (before) put_status_entries(db, batch, *before, id, true);
    put_status_entries(db, batch, after, id, false);
  }
}

void write_response(Db& db, rocksdb::WriteBatch& batch, const std::string& key,
                    const records::StoredResponse& response) {
  batch.Put(db.cf(Cf::idempotency), slice(key), slice(records::encode_response(response)));
}

void scan_ready(Db& db, const std::function<void(const keys::ReadyKey&)>& each) {
  auto it = db.iterate(Cf::ready);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = keys::decode_ready(std::string_view(it->key().data(), it->key().size()));
    if (key) each(*key);
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
}

void scan_timers(Db& db, const std::function<void(const keys::TimerKey&)>& each) {
  auto it = db.iterate(Cf::timers);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = keys::decode_timer(std::string_view(it->key().data(), it->key().size()));
    if (key) each(*key);
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
}

ListResult list_tasks(Db& db, const ListQuery& query) {
  using keys::ListIndex;
  ListIndex index = query.type ? (query.status ? ListIndex::by_type_status : ListIndex::by_type)
                               : (query.status ? ListIndex::by_status : ListIndex::all);
  std::string prefix = keys::list_prefix(index, query.account, query.type.value_or(""),
                                         query.status.value_or(TaskStatus::pending));
  ListResult result;
  auto it = db.iterate(Cf::listing);
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
    auto id = keys::list_key_id(std::string_view(it->key().data(), it->key().size()));
    if (!id || it->key().size() != prefix.size() + 16) continue;
    if (static_cast<int>(result.tasks.size()) == query.limit) {
      result.next_before = result.tasks.empty() ? std::nullopt
                                                : parse_task_id(result.tasks.back().id);
      break;
    }
    auto bytes = db.get(Cf::tasks, keys::task_key(*id));
    if (!bytes) continue;  // an index entry written ahead of a purge; skip it
    auto task = records::decode_task(*bytes);
    if (task) result.tasks.push_back(std::move(*task));
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  return result;
}

}  // namespace baton::store
