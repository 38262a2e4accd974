#pragma once
// Events in the last minute, in six ten-second buckets: a rate an operator reads
// (created / completed per minute), cheap to bump on every transition. The sum covers the
// current bucket and the five before it, so it trails the exact last 60 s by at most ten
// seconds. One thread's (a shard's).
#include <array>
#include <cstdint>

#include "core/time.hpp"

namespace baton {

class MinuteCount {
 public:
  static constexpr Millis kBucketMs = 10'000;
  static constexpr int kBuckets = 6;

  void add(Millis now, std::int64_t n = 1) {
    Bucket& b = buckets_[slot(now)];
    std::int64_t number = now / kBucketMs;
    if (b.number != number) b = {number, 0};
    b.count += n;
  }
  std::int64_t sum(Millis now) const {
    std::int64_t number = now / kBucketMs;
    std::int64_t total = 0;
    for (const Bucket& b : buckets_) {
      if (b.number <= number && number - b.number < kBuckets) total += b.count;
    }
    return total;
  }
  // Nothing counted in the last minute: the counter can be dropped.
  bool idle(Millis now) const { return sum(now) == 0; }

 private:
  struct Bucket {
    std::int64_t number = -1;  // bucket index since the epoch (now / kBucketMs)
    std::int64_t count = 0;
  };
  static int slot(Millis now) {
    std::int64_t number = now / kBucketMs;
    return static_cast<int>(((number % kBuckets) + kBuckets) % kBuckets);
  }
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace baton
