#include "engine/lease_gate.hpp"

#include <mutex>

namespace baton {

LeaseGate::Counter& LeaseGate::counter(std::string_view account) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = counters_.find(account); it != counters_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto [it, inserted] = counters_.try_emplace(std::string(account), nullptr);
  if (inserted) it->second = std::make_unique<Counter>(0);
  return *it->second;
}

const LeaseGate::Counter* LeaseGate::find(std::string_view account) const {
  std::shared_lock lock(mutex_);
  auto it = counters_.find(account);
  return it == counters_.end() ? nullptr : it->second.get();
}

bool LeaseGate::try_take(std::string_view account, std::int64_t limit) {
  Counter& held = counter(account);
  if (limit <= 0) {
    held.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  std::int64_t now = held.load(std::memory_order_relaxed);
  do {
    if (now >= limit) return false;
  } while (!held.compare_exchange_weak(now, now + 1, std::memory_order_relaxed));
  return true;
}

void LeaseGate::add(std::string_view account, std::int64_t count) {
  counter(account).fetch_add(count, std::memory_order_relaxed);
}

void LeaseGate::give_back(std::string_view account, std::int64_t count) {
  counter(account).fetch_sub(count, std::memory_order_relaxed);
}

std::int64_t LeaseGate::in_use(std::string_view account) const {
  const Counter* held = find(account);
  return held ? held->load(std::memory_order_relaxed) : 0;
}

}  // namespace baton
