#pragma once
// One shard's claimable tasks, per queue (account, type), in claim order:
// priority DESC, scheduledAt ASC (null first), createdAt ASC (the id, which is time-ordered
// and monotonic per shard). Only tasks that are pending and due are here; delayed ones
// wait in the timer wheel. Owned by a shard, used on its thread.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/time.hpp"
#include "core/ulid.hpp"

namespace baton {

struct ReadyEntry {
  std::uint8_t inverse_priority = 255;  // 255 - priority: smaller is claimed first
  Millis scheduled_at = 0;
  Ulid id{};
  auto operator<=>(const ReadyEntry&) const = default;
  int priority() const { return 255 - inverse_priority; }
};

inline ReadyEntry make_ready_entry(int priority, Millis scheduled_at, const Ulid& id) {
  return ReadyEntry{static_cast<std::uint8_t>(255 - priority), scheduled_at, id};
}

std::string queue_key(const std::string& account, const std::string& type);
// The queue of a type's tasks assigned to one worker: the type, a separator no type can
// hold, the worker. Only that worker's claims look at it.
std::string pinned_type(const std::string& type, const std::string& worker);

class ReadyQueues {
 public:
  struct Queue {
    std::string account;
    std::string type;
    std::set<ReadyEntry> entries;
    bool listed_empty = false;  // in emptied_, to be released unless refilled first
    bool paused = false;        // its type is paused: no claim takes from it
    // The worker a pinned queue is for ("" for a type's own queue).
    std::string_view pinned_worker() const;
    // The task type whichever queue it is (a pinned queue's type without its worker).
    std::string_view base_type() const;
    // Since when its longest-waiting entry has been due: its scheduledAt, else the time
    // in its id (its creation). 0 when empty.
    Millis oldest_due() const;
  };

  Queue& queue(const std::string& account, const std::string& type);
  Queue* find(const std::string& account, const std::string& type);
  void push(Queue& queue, const ReadyEntry& entry);
  bool erase(Queue& queue, const ReadyEntry& entry);
  std::optional<ReadyEntry> pop_best(Queue& queue);
  // The queue of the account (on this shard) whose best entry comes first, or nullptr;
  // of the pinned queues, only `worker`'s.
  Queue* best_queue_of_account(const std::string& account, const std::string& worker = {});
  std::uint64_t size() const { return size_; }
  // Queues that exist, empty ones included until released.
  std::size_t queue_count() const { return queues_.size(); }
  // Calls `each` with every queue of the account on this shard, pinned ones included.
  template <typename Each>
  void for_each_of_account(const std::string& account, Each each) const {
    auto it = by_account_.find(account);
    if (it == by_account_.end()) return;
    for (const Queue* queue : it->second) each(*queue);
  }
  template <typename Each>
  void for_each(Each each) const {
    for (const auto& [key, queue] : queues_) each(queue);
  }
  // Pauses or resumes a task type of an account: its queue and its pinned ones, those
  // made later too. Survives clear(): it is the stored state, not an index.
  void set_paused(const std::string& account, const std::string& type, bool paused);
  bool paused(const std::string& account, const std::string& type) const;
  // Drops every queue that emptied since the last call and is still empty, so a queue
  // per (account, type) ever seen does not stay in memory forever (a client making up a
  // new type per task would otherwise grow the shard without bound). Invalidates the
  // released queues: call it only where no Queue reference is held (the shard's tick).
  void release_empty();
  // Drops every queue (a rebuild after a storage failure). Invalidates every Queue.
  void clear();

 private:
  std::unordered_map<std::string, Queue> queues_;
  std::unordered_map<std::string, std::vector<Queue*>> by_account_;
  std::vector<Queue*> emptied_;
  std::unordered_set<std::string> paused_;  // queue_key(account, type) of paused types
  std::uint64_t size_ = 0;
};

}  // namespace baton
