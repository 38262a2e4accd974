#include "engine/ready_queues.hpp"

namespace baton {

std::string queue_key(const std::string& account, const std::string& type) {
  std::string key;
  key.reserve(account.size() + 1 + type.size());
  key.append(account).push_back('\0');
  key.append(type);
  return key;
}

ReadyQueues::Queue& ReadyQueues::queue(const std::string& account, const std::string& type) {
  auto [it, inserted] = queues_.try_emplace(queue_key(account, type));
  if (inserted) {
    it->second.account = account;
    it->second.type = type;
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

bool ReadyQueues::erase(Queue& queue, const ReadyEntry& entry) {
  if (queue.entries.erase(entry) == 0) return false;
  --size_;
  return true;
}

std::optional<ReadyEntry> ReadyQueues::pop_best(Queue& queue) {
  if (queue.entries.empty()) return std::nullopt;
  ReadyEntry best = *queue.entries.begin();
  queue.entries.erase(queue.entries.begin());
  --size_;
  return best;
}

ReadyQueues::Queue* ReadyQueues::best_queue_of_account(const std::string& account) {
  auto it = by_account_.find(account);
  if (it == by_account_.end()) return nullptr;
  Queue* best = nullptr;
  for (Queue* queue : it->second) {
    if (queue->entries.empty()) continue;
    if (!best || *queue->entries.begin() < *best->entries.begin()) best = queue;
  }
  return best;
}

}  // namespace baton
