#pragma once
// A Prometheus-style histogram: counts of values at or under each of a fixed set of upper
// bounds, plus their sum, added to from any thread without a lock. Bounds are whole
// numbers in the unit the caller counts in (microseconds for durations); /metrics turns
// them into seconds. Bounded memory whatever the count.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

namespace baton {

struct HistogramSnapshot {
  std::vector<std::int64_t> bounds;  // upper bounds, ascending; +Inf after the last
  std::vector<std::uint64_t> counts;  // per bucket (not cumulative), bounds.size() + 1
  std::int64_t sum = 0;
  std::uint64_t count = 0;
  // Adds `other`, of the same bounds (a histogram per shard, summed).
  void merge(const HistogramSnapshot& other) {
    if (counts.empty()) {
      *this = other;
      return;
    }
    for (std::size_t i = 0; i < counts.size() && i < other.counts.size(); ++i) counts[i] += other.counts[i];
    sum += other.sum;
    count += other.count;
  }
};

class Histogram {
 public:
  static constexpr std::size_t kMaxBounds = 24;

  explicit Histogram(std::span<const std::int64_t> bounds)
      : size_(std::min(bounds.size(), kMaxBounds)) {
    std::copy_n(bounds.begin(), size_, bounds_.begin());
  }

  void add(std::int64_t value) {
    auto end = bounds_.begin() + static_cast<std::ptrdiff_t>(size_);
    std::size_t bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), end, value) - bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  HistogramSnapshot snapshot() const {
    HistogramSnapshot out;
    out.bounds.assign(bounds_.begin(), bounds_.begin() + static_cast<std::ptrdiff_t>(size_));
    out.counts.resize(size_ + 1);
    for (std::size_t i = 0; i <= size_; ++i) {
      out.counts[i] = counts_[i].load(std::memory_order_relaxed);
      out.count += out.counts[i];
    }
    out.sum = sum_.load(std::memory_order_relaxed);
    return out;
  }

 private:
  std::array<std::int64_t, kMaxBounds> bounds_{};
  std::size_t size_;
  std::array<std::atomic<std::uint64_t>, kMaxBounds + 1> counts_{};
  std::atomic<std::int64_t> sum_{0};
};

// Durations, in microseconds: 100 µs to 30 s.
inline constexpr std::array<std::int64_t, 17> kDurationBoundsUs = {
    100,     250,     500,     1'000,     2'500,     5'000,     10'000,     25'000,    50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000, 30'000'000};
// Sizes (operations per write): powers of two to 4096.
inline constexpr std::array<std::int64_t, 13> kSizeBounds = {1,  2,   4,   8,   16,   32,  64,
                                                             128, 256, 512, 1024, 2048, 4096};

}  // namespace baton
