#pragma once
// The hourly rate limits of spec section 9: per account and RateClass, and registrations
// per client address. Each count is one WindowCounter (core/rate_window.hpp) shared by
// every shard: a request takes from it with one compare-and-swap on the thread that
// serves it, so a limit is exact whichever shards the requests land on, at the price of a
// cache line that moves between cores when one account's requests run on several.
// Counts are in memory: a restart starts the
// hour's counts again from zero.
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/plan.hpp"
#include "core/rate_window.hpp"
#include "core/time.hpp"

namespace baton::api {

// What a take says, and the X-RateLimit-* headers of the answer.
struct RateCheck {
  bool allowed = true;
  std::int64_t limit = 0;      // 0: no limit applies (no headers are sent)
  std::int64_t remaining = 0;
  std::int64_t reset_at = 0;   // epoch seconds when the window ends
  int retry_after_seconds = 0; // refused: until the window ends
};

class RateMeter {
 public:
  // Counts `n` requests of the class for the account, unless that passes `limit` (0: no
  // limit, nothing is counted).
  RateCheck take(std::string_view account, RateClass rate_class, std::int64_t limit, Millis now,
                 std::int64_t n = 1);
  // Undoes a take of `n` this hour (a call refused by its second class).
  void give_back(std::string_view account, RateClass rate_class, Millis now, std::int64_t n = 1);
  // The requests of the class counted for the account this hour.
  std::int64_t used(std::string_view account, RateClass rate_class, Millis now) const;
  // One registration from `address` (limit 0: no limit).
  RateCheck take_registration(const std::string& address, std::int64_t limit, Millis now);

 private:
  struct AccountCounts {
    WindowCounter hourly[kRateClassCount];
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  AccountCounts& counts(std::string_view account);
  const AccountCounts* find(std::string_view account) const;

  // Never removed (one per account, as accounts are), so a reference needs no lock.
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<AccountCounts>, Hash, std::equal_to<>> accounts_;
  // Registrations come from addresses without an account: the map is emptied each hour,
  // so it holds this hour's addresses only.
  std::mutex registrations_mutex_;
  std::int64_t registrations_hour_ = -1;
  std::unordered_map<std::string, std::int64_t> registrations_;
};

}  // namespace baton::api
