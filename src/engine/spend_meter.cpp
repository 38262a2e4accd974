#include "engine/spend_meter.hpp"

namespace baton {

SpendMeter::Entry* SpendMeter::find(const std::string& account) {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(account);
  return it == entries_.end() ? nullptr : it->second.get();
}

void SpendMeter::add(const std::string& account, std::int64_t month, std::int64_t nanos) {
  Entry* entry = find(account);
  if (!entry) return;
  if (entry->month.load(std::memory_order_acquire) == month) {
    entry->nanos.fetch_add(nanos, std::memory_order_relaxed);
  } else if (entry->loading.load(std::memory_order_acquire) == month) {
    entry->early.fetch_add(nanos, std::memory_order_relaxed);
  }
}

std::int64_t SpendMeter::spent(const std::string& account, std::int64_t month) {
  Entry* entry = find(account);
  if (!entry) {
    std::unique_lock lock(mutex_);
    auto& slot = entries_[account];
    if (!slot) slot = std::make_unique<Entry>();
    entry = slot.get();
  }
  if (entry->month.load(std::memory_order_acquire) != month) {
    std::lock_guard lock(entry->load);
    if (entry->month.load(std::memory_order_acquire) != month) {
      entry->early.store(0, std::memory_order_relaxed);
      entry->loading.store(month, std::memory_order_release);
      std::int64_t stored = 0;
      try {
        stored = load_(account, month);
      } catch (...) {
        entry->loading.store(-1, std::memory_order_release);
        throw;
      }
      entry->nanos.store(stored, std::memory_order_relaxed);
      entry->month.store(month, std::memory_order_release);
      entry->loading.store(-1, std::memory_order_release);
      entry->nanos.fetch_add(entry->early.exchange(0, std::memory_order_relaxed),
                             std::memory_order_relaxed);
    }
  }
  return entry->nanos.load(std::memory_order_relaxed);
}

void SpendMeter::forget() {
  std::shared_lock lock(mutex_);
  for (auto& [account, entry] : entries_) entry->month.store(-1, std::memory_order_release);
}

}  // namespace baton
