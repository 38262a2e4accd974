#pragma once
// Each account's cost reported this calendar month (UTC), across every shard: what a
// monthly cost budget is checked against when the account claims. Loaded from the durable
// usage rows the first time the account's spend is asked for in a month; after that, the
// shards add each report as they count it. A budget is checked before a claim and spend
// is reported after the work, so the meter is exact about what was reported, not a bound
// on what may be spent. Reports counted while a load reads storage are added after it, so
// none is lost; one already written by then is counted twice, which errs toward stopping
// claims a little early, never late (docs/api.md, "Costs and budgets").
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace baton {

class SpendMeter {
 public:
  // The account's reported cost in `month` (months since 1970-01), in nano-dollars, as
  // storage holds it.
  using Loader = std::function<std::int64_t(const std::string& account, std::int64_t month)>;
  explicit SpendMeter(Loader load) : load_(std::move(load)) {}

  // A report of `nanos` in `month`: counted when the account's spend of that month is
  // loaded (else the load will find it in storage).
  void add(const std::string& account, std::int64_t month, std::int64_t nanos);
  // The account's spend in `month`, loaded when not yet.
  std::int64_t spent(const std::string& account, std::int64_t month);
  // Every spend is loaded again at its next use (after a storage recovery).
  void forget();

 private:
  struct Entry {
    std::mutex load;   // one load at a time
    std::mutex state;  // a load's start and end against the reports that come meanwhile
    std::atomic<std::int64_t> month{-1};  // loaded for this month
    std::atomic<std::int64_t> nanos{0};
    std::int64_t loading = -1;  // under `state`: being loaded for this month
    std::int64_t early = 0;     // under `state`: reports counted during the load
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  Entry* find(const std::string& account);

  Loader load_;
  std::shared_mutex mutex_;
  // Never removed (one per account that asked): pointers stay valid.
  std::unordered_map<std::string, std::unique_ptr<Entry>, Hash, std::equal_to<>> entries_;
};

}  // namespace baton
