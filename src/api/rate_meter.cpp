#include "api/rate_meter.hpp"

namespace baton::api {

namespace {

constexpr Millis kHour = 3600 * 1000;

RateCheck checked(bool allowed, std::int64_t limit, std::int64_t count, Millis now) {
  RateCheck check;
  check.allowed = allowed;
  check.limit = limit;
  check.remaining = limit > count ? limit - count : 0;
  std::int64_t hour = now / kHour;
  check.reset_at = (hour + 1) * 3600;
  if (!allowed) {
    check.retry_after_seconds = static_cast<int>(std::max<Millis>(1, ((hour + 1) * kHour - now + 999) / 1000));
  }
  return check;
}

}  // namespace

RateMeter::AccountCounts& RateMeter::counts(std::string_view account) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = accounts_.find(account); it != accounts_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto [it, inserted] = accounts_.try_emplace(std::string(account), nullptr);
  if (inserted) it->second = std::make_unique<AccountCounts>();
  return *it->second;
}

const RateMeter::AccountCounts* RateMeter::find(std::string_view account) const {
  std::shared_lock lock(mutex_);
  auto it = accounts_.find(account);
  return it == accounts_.end() ? nullptr : it->second.get();
}

RateCheck RateMeter::take(std::string_view account, RateClass rate_class, std::int64_t limit,
                          Millis now, std::int64_t n) {
  if (limit <= 0) return {};
  WindowCounter& counter = counts(account).hourly[static_cast<int>(rate_class)];
  WindowCounter::Taken taken = counter.take(now / kHour, limit, n);
  return checked(taken.allowed, limit, taken.count, now);
}

void RateMeter::give_back(std::string_view account, RateClass rate_class, Millis now,
                          std::int64_t n) {
  counts(account).hourly[static_cast<int>(rate_class)].give_back(now / kHour, n);
}

std::int64_t RateMeter::used(std::string_view account, RateClass rate_class, Millis now) const {
  const AccountCounts* found = find(account);
  return found ? found->hourly[static_cast<int>(rate_class)].count(now / kHour) : 0;
}

RateCheck RateMeter::take_registration(const std::string& address, std::int64_t limit, Millis now) {
  if (limit <= 0) return {};
  std::lock_guard lock(registrations_mutex_);
  std::int64_t hour = now / kHour;
  if (hour != registrations_hour_) {
    registrations_.clear();
    registrations_hour_ = hour;
  }
  std::int64_t& count = registrations_[address];
  bool allowed = count < limit;
  if (allowed) ++count;
  return checked(allowed, limit, count, now);
}

}  // namespace baton::api
