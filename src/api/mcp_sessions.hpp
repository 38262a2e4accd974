#pragma once
// The MCP sessions of POST /mcp: the id `initialize` hands out, the account that opened
// it and the protocol version agreed. Bounded in number (max_sessions) and in idle time
// (idle_ms): a session unused that long is gone, and its memory with it, at the next
// look. Any shard thread may call; one mutex guards the table (a session is touched once
// per MCP request, for a map lookup, so the lock is never held long).
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/time.hpp"

namespace baton::api {

class McpSessions {
 public:
  McpSessions(int max_sessions, std::int64_t idle_ms);

  // A new session's id, or nullopt when max_sessions live sessions exist.
  std::optional<std::string> open(const std::string& account, const std::string& protocol_version,
                                  Millis now);
  struct Session {
    std::string account;
    std::string protocol_version;
  };
  // The session, refreshed (its idle time starts again); nullopt when unknown or expired.
  std::optional<Session> use(const std::string& id, Millis now);
  bool close(const std::string& id, const std::string& account);
  int live(Millis now);

 private:
  struct Entry {
    Session session;
    Millis last_used = 0;
    std::list<std::string>::iterator in_order;
  };
  void expire(Millis now);  // with mutex_ held

  const int max_sessions_;
  const std::int64_t idle_ms_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> sessions_;
  std::list<std::string> by_last_use_;  // least recently used first
};

}  // namespace baton::api
