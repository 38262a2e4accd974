#pragma once
// The live leases of each account, across every shard: what a plan's `workers` bounds
// (spec section 9). A claim takes a slot before it commits and the slot is given back when
// the task leaves `claimed` (completed, failed, expired, cancelled, requeued), so the count
// is exact under any concurrency: taking is one compare-and-swap on the account's counter,
// never more than the limit, whichever shards the claims run on. Kept in memory only; the
// shards rebuild it from their claimed tasks at start and after a storage recovery.
#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace baton {

class LeaseGate {
 public:
  // Takes a slot when fewer than `limit` are held (limit 0: no limit, it still counts).
  bool try_take(std::string_view account, std::int64_t limit);
  // Counts a lease that is there already (restore at start).
  void add(std::string_view account, std::int64_t count);
  void give_back(std::string_view account, std::int64_t count = 1);
  std::int64_t in_use(std::string_view account) const;

 private:
  using Counter = std::atomic<std::int64_t>;
  Counter& counter(std::string_view account);
  const Counter* find(std::string_view account) const;

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  // Counters are never removed, so a reference to one stays valid without the lock: one
  // per account that ever claimed, as accounts are.
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<Counter>, Hash, std::equal_to<>> counters_;
};

}  // namespace baton
