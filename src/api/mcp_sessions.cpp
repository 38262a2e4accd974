#include "api/mcp_sessions.hpp"

#include "core/ulid.hpp"

namespace baton::api {

McpSessions::McpSessions(int max_sessions, std::int64_t idle_ms)
    : max_sessions_(max_sessions), idle_ms_(idle_ms) {}

void McpSessions::expire(Millis now) {
  while (!by_last_use_.empty()) {
    auto it = sessions_.find(by_last_use_.front());
    if (it != sessions_.end() && now - it->second.last_used < idle_ms_) return;
    if (it != sessions_.end()) sessions_.erase(it);
    by_last_use_.pop_front();
  }
}

std::optional<std::string> McpSessions::open(const std::string& account,
                                             const std::string& protocol_version, Millis now) {
  // 128 random bits: unguessable, so a session id alone never lets one account use
  // another's session (and use() checks the account as well).
  std::string id = random_hex_token("mcp_", 16);
  std::lock_guard lock(mutex_);
  expire(now);
  if (static_cast<int>(sessions_.size()) >= max_sessions_) return std::nullopt;
  by_last_use_.push_back(id);
  sessions_[id] = Entry{{account, protocol_version}, now, std::prev(by_last_use_.end())};
  return id;
}

std::optional<McpSessions::Session> McpSessions::use(const std::string& id, Millis now) {
  std::lock_guard lock(mutex_);
  expire(now);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  it->second.last_used = now;
  by_last_use_.splice(by_last_use_.end(), by_last_use_, it->second.in_order);
  return it->second.session;
}

bool McpSessions::close(const std::string& id, const std::string& account) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.session.account != account) return false;
  by_last_use_.erase(it->second.in_order);
  sessions_.erase(it);
  return true;
}

int McpSessions::live(Millis now) {
  std::lock_guard lock(mutex_);
  expire(now);
  return static_cast<int>(sessions_.size());
}

}  // namespace baton::api
