#include "api/stream_access.hpp"

#include "core/ulid.hpp"

namespace baton::api {

std::optional<std::string> StreamTokens::issue(const std::string& account, const std::string& plan,
                                               const std::string& task_id, int ttl_seconds,
                                               std::size_t max_live, Millis now) {
  std::lock_guard lock(mutex_);
  if (tokens_.size() >= max_live) {
    std::erase_if(tokens_, [now](const auto& entry) { return entry.second.expires_at <= now; });
    if (tokens_.size() >= max_live) return std::nullopt;
  }
  std::string token = random_hex_token("stk_", 24);
  tokens_[token] = Entry{Grant{account, plan}, task_id, now + static_cast<Millis>(ttl_seconds) * 1000};
  return token;
}

std::optional<StreamTokens::Grant> StreamTokens::redeem(const std::string& token,
                                                        const std::string& task_id, Millis now) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(token);
  if (it == tokens_.end()) return std::nullopt;
  if (it->second.expires_at <= now) {
    tokens_.erase(it);
    return std::nullopt;
  }
  if (it->second.task_id != task_id) return std::nullopt;
  return it->second.grant;
}

StreamSlots::Slot::~Slot() {
  std::lock_guard lock(counts_->mutex);
  --counts_->total;
  auto it = counts_->by_account.find(account_);
  if (it != counts_->by_account.end() && --it->second == 0) counts_->by_account.erase(it);
}

std::unique_ptr<StreamSlots::Slot> StreamSlots::take(const std::string& account, int max_total,
                                                     int max_per_account) {
  std::lock_guard lock(counts_->mutex);
  int& mine = counts_->by_account[account];
  if (counts_->total >= max_total || mine >= max_per_account) {
    if (mine == 0) counts_->by_account.erase(account);
    return nullptr;
  }
  ++counts_->total;
  ++mine;
  return std::make_unique<Slot>(counts_, account);
}

int StreamSlots::open() const {
  std::lock_guard lock(counts_->mutex);
  return counts_->total;
}

}  // namespace baton::api
