#include "http/address_counts.hpp"

namespace baton::http {

std::shared_ptr<AddressCounts::Slot> AddressCounts::acquire(const std::string& address) {
  {
    std::lock_guard lock(mutex_);
    int& open = open_[address];
    if (limit_ > 0 && open >= limit_) return nullptr;
    ++open;
  }
  return std::make_shared<Slot>(shared_from_this(), address);
}

void AddressCounts::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(address);
  if (it != open_.end() && --it->second <= 0) open_.erase(it);
}

}  // namespace baton::http
