#pragma once
// A count of events in a fixed window (an hour, a month), in one atomic word so that
// taking from it is exact across threads without a lock: the high 24 bits hold the
// window's number, the low 40 bits the count in it. A take in a newer window starts it
// from zero; one for an older window (a thread whose clock read lagged) counts in the
// newer one, never reopening the old.
#include <algorithm>
#include <atomic>
#include <cstdint>

namespace baton {

class WindowCounter {
 public:
  struct Taken {
    bool allowed = false;
    std::int64_t count = 0;  // in the window after the take (or the count that refused it)
  };

  // Adds `n` in window `window` unless that would pass `limit` (limit 0: no limit).
  Taken take(std::int64_t window, std::int64_t limit, std::int64_t n = 1) {
    std::uint64_t seen = word_.load(std::memory_order_relaxed);
    for (;;) {
      std::uint64_t at = seen >> kCountBits;
      std::uint64_t wanted = static_cast<std::uint64_t>(window) & kWindowMask;
      std::int64_t count = at == wanted || newer(at, wanted) ? static_cast<std::int64_t>(seen & kCountMask) : 0;
      if (newer(at, wanted)) wanted = at;
      if (limit > 0 && count + n > limit) return {false, count};
      std::int64_t next = count + n > static_cast<std::int64_t>(kCountMask)
                              ? static_cast<std::int64_t>(kCountMask)
                              : count + n;
      std::uint64_t word = (wanted << kCountBits) | static_cast<std::uint64_t>(next);
      if (word_.compare_exchange_weak(seen, word, std::memory_order_relaxed)) return {true, next};
    }
  }
  // Gives back `n` taken in `window` (a create refused after its rate was counted); no
  // effect once the window has passed.
  void give_back(std::int64_t window, std::int64_t n = 1) {
    std::uint64_t seen = word_.load(std::memory_order_relaxed);
    for (;;) {
      if ((seen >> kCountBits) != (static_cast<std::uint64_t>(window) & kWindowMask)) return;
      std::int64_t count = static_cast<std::int64_t>(seen & kCountMask);
      std::uint64_t next = static_cast<std::uint64_t>(count > n ? count - n : 0);
      std::uint64_t word = (seen & ~kCountMask) | next;
      if (word_.compare_exchange_weak(seen, word, std::memory_order_relaxed)) return;
    }
  }
  // Sets the counter to `count` in `window` (a count read from storage).
  void reset(std::int64_t window, std::int64_t count) {
    std::uint64_t clamped = count < 0 ? 0 : std::min(static_cast<std::uint64_t>(count), kCountMask);
    word_.store(((static_cast<std::uint64_t>(window) & kWindowMask) << kCountBits) | clamped,
                std::memory_order_relaxed);
  }
  // The count in `window` (0 when the counter is in another).
  std::int64_t count(std::int64_t window) const {
    std::uint64_t seen = word_.load(std::memory_order_relaxed);
    if ((seen >> kCountBits) != (static_cast<std::uint64_t>(window) & kWindowMask)) return 0;
    return static_cast<std::int64_t>(seen & kCountMask);
  }

 private:
  static constexpr int kCountBits = 40;
  static constexpr std::uint64_t kCountMask = (std::uint64_t{1} << kCountBits) - 1;
  static constexpr std::uint64_t kWindowMask = (std::uint64_t{1} << 24) - 1;
  // Whether window `a` comes after `b`, modulo 2^24 (hours wrap after 1900 years).
  static bool newer(std::uint64_t a, std::uint64_t b) {
    std::uint64_t ahead = (a - b) & kWindowMask;
    return ahead != 0 && ahead < (kWindowMask >> 1);
  }

  std::atomic<std::uint64_t> word_{0};
};

}  // namespace baton
