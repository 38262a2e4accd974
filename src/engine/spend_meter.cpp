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
    return;
  }
  // Not loaded for this month: maybe loading, maybe finishing; the state lock decides.
  std::lock_guard state(entry->state);
  if (entry->month.load(std::memory_order_acquire) == month) {
    entry->nanos.fetch_add(nanos, std::memory_order_relaxed);
  } else if (entry->loading == month) {
    entry->early += nanos;
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
      {
        std::lock_guard state(entry->state);
        entry->loading = month;
        entry->early = 0;
      }
      std::int64_t stored = 0;
      try {
        stored = load_(account, month);  // storage: outside the state lock
      } catch (...) {
        std::lock_guard state(entry->state);
        entry->loading = -1;
        throw;
      }
      std::lock_guard state(entry->state);
      entry->nanos.store(stored + entry->early, std::memory_order_relaxed);
      entry->early = 0;
      entry->month.store(month, std::memory_order_release);
      entry->loading = -1;
    }
  }
  return entry->nanos.load(std::memory_order_relaxed);
}

void SpendMeter::forget() {
  std::shared_lock lock(mutex_);
  for (auto& [account, entry] : entries_) entry->month.store(-1, std::memory_order_release);
}

}  // namespace baton
