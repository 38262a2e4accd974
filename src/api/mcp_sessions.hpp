#pragma once
// The MCP sessions of POST /mcp: the id `initialize` hands out, the account that opened
// it and the protocol version agreed. Bounded in idle time (a session unused that long is
// gone, and its memory with it, at the next look or sweep), in number per account (an
// account at its bound loses its own least recently used session, so an agent that leaks
// sessions hurts only itself), and in number overall (past it, initialize is refused).
// Any shard thread may call; one mutex guards the table (a session is touched once per
// MCP request, for a map lookup and a list splice, so the lock is never held long).
// Times are a steady clock's milliseconds: a step of the wall clock expires nothing.
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/time.hpp"

namespace baton::api {

struct McpSessionLimits {
  int max_sessions = 10000;
  int max_per_account = 1000;
  std::int64_t idle_ms = 3600 * 1000;
};

class McpSessions {
 public:
  explicit McpSessions(McpSessionLimits limits);

  // A new session's id, or nullopt when max_sessions live sessions exist.
  std::optional<std::string> open(const std::string& account, const std::string& protocol_version,
                                  Millis now);
  struct Session {
    std::string account;
    std::string protocol_version;
  };
  // The account's session, refreshed (its idle time starts again); nullopt when unknown,
  // expired or another account's (which is left as it was).
  std::optional<Session> use(const std::string& id, const std::string& account, Millis now);
  bool close(const std::string& id, const std::string& account);
  // Drops expired sessions; returns how many live.
  int live(Millis now);

 private:
  struct Entry {
    Session session;
    Millis last_used = 0;
    std::list<std::string>::iterator in_order;       // in by_last_use_
    std::list<std::string>::iterator in_account;     // in its account's order
  };
  struct AccountSessions {
    std::list<std::string> order;  // least recently used first
  };
  void expire(Millis now);                      // with mutex_ held
  void erase(std::unordered_map<std::string, Entry>::iterator it);  // likewise

  const McpSessionLimits limits_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> sessions_;
  std::list<std::string> by_last_use_;  // least recently used first
  std::unordered_map<std::string, AccountSessions> per_account_;
};

}  // namespace baton::api
