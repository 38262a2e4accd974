#include "engine/quota_gate.hpp"

namespace baton {

QuotaGate::Entry& QuotaGate::entry(const std::string& account) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = entries_.find(account); it != entries_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(account, nullptr);
  if (inserted) it->second = std::make_unique<Entry>();
  return *it->second;
}

void QuotaGate::ensure_loaded(Entry& entry, const std::string& account, std::int64_t month) {
  // A newer month loaded already: a take for an older one (a clock read a moment behind)
  // counts in it, never reloads it.
  if (entry.loaded_month.load(std::memory_order_acquire) >= month) return;
  std::lock_guard lock(entry.load);
  if (entry.loaded_month.load(std::memory_order_acquire) >= month) return;
  entry.count.reset(month, load_(account, month));
  entry.loaded_month.store(month, std::memory_order_release);
}

bool QuotaGate::try_take(const std::string& account, std::int64_t month, std::int64_t limit,
                         std::int64_t n) {
  if (limit <= 0) {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(account);
    if (it == entries_.end() || it->second->loaded_month.load(std::memory_order_acquire) < month) {
      return true;
    }
    it->second->count.take(month, 0, n);
    return true;
  }
  Entry& found = entry(account);
  ensure_loaded(found, account, month);
  return found.count.take(month, limit, n).allowed;
}

void QuotaGate::give_back(const std::string& account, std::int64_t month, std::int64_t n) {
  std::shared_lock lock(mutex_);
  if (auto it = entries_.find(account); it != entries_.end()) it->second->count.give_back(month, n);
}

std::int64_t QuotaGate::used(const std::string& account, std::int64_t month) {
  Entry& found = entry(account);
  ensure_loaded(found, account, month);
  return found.count.count(month);
}

void QuotaGate::forget() {
  std::shared_lock lock(mutex_);
  for (auto& [account, entry] : entries_) {
    std::lock_guard load(entry->load);
    entry->loaded_month.store(-1, std::memory_order_release);
  }
}

}  // namespace baton
