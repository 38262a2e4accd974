#include "engine/ready_queues.hpp"

#include <limits>

namespace baton {

std::string queue_key(const std::string& account, const std::string& type) {
  std::string key;
  key.reserve(account.size() + 1 + type.size());
  key.append(account).push_back('\0');
  key.append(type);
  return key;
}

namespace {
constexpr char kPinSeparator = '\x1f';
}  // namespace

std::string pinned_type(const std::string& type, const std::string& worker) {
  std::string out = type;
  out.push_back(kPinSeparator);
  out.append(worker);
  return out;
}

std::string_view ReadyQueues::Queue::pinned_worker() const {
  std::size_t at = type.find(kPinSeparator);
  return at == std::string::npos ? std::string_view() : std::string_view(type).substr(at + 1);
}

std::string_view ReadyQueues::Queue::base_type() const {
  std::size_t at = type.find(kPinSeparator);
  return at == std::string::npos ? std::string_view(type) : std::string_view(type).substr(0, at);
}

Millis ReadyQueues::Queue::oldest_due() const {
  // Entries rank by priority, then scheduledAt (0 first), then id: within one priority the
  // oldest is the first entry with no scheduledAt or the first with one. So two looks per
  // priority present, not a walk of every entry.
  Millis oldest = 0;
  auto consider = [&](const ReadyEntry& entry) {
    Millis since = entry.scheduled_at > 0 ? entry.scheduled_at : ulid_time(entry.id);
    if (oldest == 0 || since < oldest) oldest = since;
  };
  auto it = entries.begin();
  while (it != entries.end()) {
    std::uint8_t band = it->inverse_priority;
    consider(*it);
    if (it->scheduled_at <= 0) {
      auto scheduled = entries.lower_bound(ReadyEntry{band, 1, Ulid{}});
      if (scheduled != entries.end() && scheduled->inverse_priority == band) consider(*scheduled);
    }
    if (band == 255) break;
    it = entries.lower_bound(ReadyEntry{static_cast<std::uint8_t>(band + 1),
                                        std::numeric_limits<Millis>::min(), Ulid{}});
  }
  return oldest;
}

ReadyQueues::Queue& ReadyQueues::queue(const std::string& account, const std::string& type) {
  auto [it, inserted] = queues_.try_emplace(queue_key(account, type));
  if (inserted) {
    it->second.account = account;
    it->second.type = type;
    if (!paused_.empty()) {
      it->second.paused = paused_.contains(queue_key(account, std::string(it->second.base_type())));
    }
    by_account_[account].push_back(&it->second);
  }
  return it->second;
}

ReadyQueues::Queue* ReadyQueues::find(const std::string& account, const std::string& type) {
  auto it = queues_.find(queue_key(account, type));
  return it == queues_.end() ? nullptr : &it->second;
}

void ReadyQueues::push(Queue& queue, const ReadyEntry& entry) {
  if (queue.entries.insert(entry).second) ++size_;
}

namespace {

void note_if_empty(ReadyQueues::Queue& queue, std::vector<ReadyQueues::Queue*>& emptied) {
  if (!queue.entries.empty() || queue.listed_empty) return;
  queue.listed_empty = true;
  emptied.push_back(&queue);
}

}  // namespace

bool ReadyQueues::erase(Queue& queue, const ReadyEntry& entry) {
  if (queue.entries.erase(entry) == 0) return false;
  --size_;
  note_if_empty(queue, emptied_);
  return true;
}

std::optional<ReadyEntry> ReadyQueues::pop_best(Queue& queue) {
  if (queue.entries.empty()) {
    note_if_empty(queue, emptied_);  // made for a claim or a long poll, never filled
    return std::nullopt;
  }
  ReadyEntry best = *queue.entries.begin();
  queue.entries.erase(queue.entries.begin());
  --size_;
  note_if_empty(queue, emptied_);
  return best;
}

void ReadyQueues::release_empty() {
  std::vector<Queue*> emptied;
  emptied.swap(emptied_);
  for (Queue* queue : emptied) {
    queue->listed_empty = false;
    if (!queue->entries.empty()) continue;  // refilled since
    auto account = by_account_.find(queue->account);
    if (account != by_account_.end()) {
      std::erase(account->second, queue);
      if (account->second.empty()) by_account_.erase(account);
    }
    queues_.erase(queue_key(queue->account, queue->type));  // frees *queue
  }
}

ReadyQueues::Queue* ReadyQueues::best_queue_of_account(const std::string& account,
                                                       const std::string& worker) {
  auto it = by_account_.find(account);
  if (it == by_account_.end()) return nullptr;
  Queue* best = nullptr;
  for (Queue* queue : it->second) {
    if (queue->entries.empty() || queue->paused) continue;
    std::string_view pinned = queue->pinned_worker();
    if (!pinned.empty() && pinned != worker) continue;
    if (!best || *queue->entries.begin() < *best->entries.begin()) best = queue;
  }
  return best;
}

void ReadyQueues::set_paused(const std::string& account, const std::string& type, bool paused) {
  if (paused) {
    paused_.insert(queue_key(account, type));
  } else {
    paused_.erase(queue_key(account, type));
  }
  auto it = by_account_.find(account);
  if (it == by_account_.end()) return;
  for (Queue* queue : it->second) {
    if (queue->base_type() == type) queue->paused = paused;
  }
}

bool ReadyQueues::paused(const std::string& account, const std::string& type) const {
  return !paused_.empty() && paused_.contains(queue_key(account, type));
}

void ReadyQueues::clear() {
  queues_.clear();
  by_account_.clear();
  emptied_.clear();
  size_ = 0;
}

}  // namespace baton
