#include "api/mcp_sessions.hpp"

#include "core/ulid.hpp"

namespace baton::api {

McpSessions::McpSessions(McpSessionLimits limits) : limits_(limits) {}

void McpSessions::erase(std::unordered_map<std::string, Entry>::iterator it) {
  auto account = per_account_.find(it->second.session.account);
  account->second.order.erase(it->second.in_account);
  if (account->second.order.empty()) per_account_.erase(account);
  by_last_use_.erase(it->second.in_order);
  sessions_.erase(it);
}

void McpSessions::expire(Millis now) {
  while (!by_last_use_.empty()) {
    auto it = sessions_.find(by_last_use_.front());
    if (now - it->second.last_used < limits_.idle_ms) return;
    erase(it);
  }
}

std::optional<std::string> McpSessions::open(const std::string& account,
                                             const std::string& protocol_version, Millis now) {
  // 128 random bits: unguessable, so a session id alone never lets one account use
  // another's session (and use() checks the account as well).
  std::string id = random_hex_token("mcp_", 16);
  std::lock_guard lock(mutex_);
  expire(now);
  auto account_it = per_account_.find(account);
  if (account_it != per_account_.end() &&
      static_cast<int>(account_it->second.order.size()) >= limits_.max_per_account) {
    erase(sessions_.find(account_it->second.order.front()));  // its own oldest
  } else if (static_cast<int>(sessions_.size()) >= limits_.max_sessions) {
    return std::nullopt;
  }
  std::list<std::string>& order = per_account_[account].order;
  by_last_use_.push_back(id);
  order.push_back(id);
  sessions_[id] = Entry{{account, protocol_version}, now, std::prev(by_last_use_.end()),
                        std::prev(order.end())};
  return id;
}

std::optional<McpSessions::Session> McpSessions::use(const std::string& id, const std::string& account,
                                                     Millis now) {
  std::lock_guard lock(mutex_);
  expire(now);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.session.account != account) return std::nullopt;
  it->second.last_used = now;
  by_last_use_.splice(by_last_use_.end(), by_last_use_, it->second.in_order);
  std::list<std::string>& order = per_account_[account].order;
  order.splice(order.end(), order, it->second.in_account);
  return it->second.session;
}

bool McpSessions::close(const std::string& id, const std::string& account) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.session.account != account) return false;
  erase(it);
  return true;
}

int McpSessions::live(Millis now) {
  std::lock_guard lock(mutex_);
  expire(now);
  return static_cast<int>(sessions_.size());
}

}  // namespace baton::api
