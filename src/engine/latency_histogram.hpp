#pragma once
// Durations counted in log-spaced buckets (four per doubling, so a quantile is known to
// within about 19 %), added to from any thread without a lock. Bounded memory whatever
// the count: what /health reports for dependency releases.
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>

namespace baton {

class LatencyHistogram {
 public:
  void add(std::int64_t micros) {
    counts_[bucket_of(micros)].fetch_add(1, std::memory_order_relaxed);
  }

  std::uint64_t count() const {
    std::uint64_t total = 0;
    for (const auto& bucket : counts_) total += bucket.load(std::memory_order_relaxed);
    return total;
  }

  // The upper edge of the bucket that holds quantile q (0 < q <= 1), in microseconds;
  // 0 when nothing was added.
  std::int64_t quantile(double q) const {
    std::uint64_t total = count();
    if (total == 0) return 0;
    auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return upper_edge(i);
    }
    return upper_edge(kBuckets - 1);
  }

  static constexpr int kBuckets = 112;  // up to 2^28 µs (4.5 minutes); longer ones count there

  static int bucket_of(std::int64_t micros) {
    if (micros <= 1) return 0;
    int bucket = static_cast<int>(4.0 * std::log2(static_cast<double>(micros)));
    return bucket < kBuckets ? bucket : kBuckets - 1;
  }
  static std::int64_t upper_edge(int bucket) {
    return static_cast<std::int64_t>(std::ceil(std::exp2((bucket + 1) / 4.0)));
  }

 private:
  std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
};

}  // namespace baton
