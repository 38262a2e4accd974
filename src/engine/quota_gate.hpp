#pragma once
// Each account's tasks created this calendar month, across every shard: what a plan's
// `tasks_per_month` bounds (spec section 9). One WindowCounter per account, taken with one
// compare-and-swap by the shard that decides the create, only while under the limit, so
// the quota is exact under any concurrency. The count starts from what the durable usage
// records say the first time a limited create of the account meets it in a month (a
// loader the engine gives), and counts every create after that.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/rate_window.hpp"

namespace baton {

class QuotaGate {
 public:
  // The account's creates in `month` that storage holds.
  using Loader = std::function<std::int64_t(const std::string& account, std::int64_t month)>;
  explicit QuotaGate(Loader load) : load_(std::move(load)) {}

  // Counts `n` creates in `month` unless that passes `limit`. Limit 0: no limit; the
  // creates are counted only when the account's count is loaded already (a limited plan
  // met it), so an unlimited account costs nothing here.
  bool try_take(const std::string& account, std::int64_t month, std::int64_t limit,
                std::int64_t n = 1);
  void give_back(const std::string& account, std::int64_t month, std::int64_t n);
  // The account's creates in `month` (loaded when not yet).
  std::int64_t used(const std::string& account, std::int64_t month);
  // Every count is loaded again at its next use (after a storage recovery, whose failed
  // writes may have been counted).
  void forget();

 private:
  struct Entry {
    std::mutex load;
    std::atomic<std::int64_t> loaded_month{-1};
    WindowCounter count;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  Entry& entry(const std::string& account);
  void ensure_loaded(Entry& entry, const std::string& account, std::int64_t month);

  Loader load_;
  std::shared_mutex mutex_;
  // Never removed (one per account, as accounts are): references stay valid.
  std::unordered_map<std::string, std::unique_ptr<Entry>, Hash, std::equal_to<>> entries_;
};

}  // namespace baton
