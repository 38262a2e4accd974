#pragma once
// Who may open a live log stream, and how many are open. Shared by every front-end thread.
//   StreamTokens: short-lived tokens (POST /v1/tasks/{id}/logs/stream-token) that stand for
//     the account's key on one task's stream, for browsers, whose EventSource and
//     WebSocket cannot send an Authorization header. A token is random, names its task,
//     and expires; the key itself never goes into a URL.
//   StreamSlots: the bounds on open streams, in total and per account; a slot is given
//     back when its stream's last reference goes.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/time.hpp"

namespace baton::api {

class StreamTokens {
 public:
  struct Grant {
    std::string account;
    std::string plan;  // the account's plan when the token was issued
  };
  // A new token for the account's `task_id`, valid `ttl_seconds`; nullopt when `max_live`
  // unexpired tokens exist already.
  std::optional<std::string> issue(const std::string& account, const std::string& plan,
                                   const std::string& task_id, int ttl_seconds,
                                   std::size_t max_live, Millis now);
  // The grant of `token` when it is live and names `task_id`.
  std::optional<Grant> redeem(const std::string& token, const std::string& task_id, Millis now);

 private:
  struct Entry {
    Grant grant;
    std::string task_id;
    Millis expires_at = 0;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> tokens_;
};

class StreamSlots {
  struct Counts {
    std::mutex mutex;
    int total = 0;
    std::unordered_map<std::string, int> by_account;
  };

 public:
  // Holds the counts it was taken from: a stream may outlive the Api that made it (a
  // posted delivery still holding it at shutdown).
  class Slot {
   public:
    Slot(std::shared_ptr<Counts> counts, std::string account)
        : counts_(std::move(counts)), account_(std::move(account)) {}
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::shared_ptr<Counts> counts_;
    std::string account_;
  };
  // A slot when fewer than `max_total` streams are open and fewer than `max_per_account`
  // of the account's; else nullptr.
  std::unique_ptr<Slot> take(const std::string& account, int max_total, int max_per_account);
  int open() const;

 private:
  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
};

}  // namespace baton::api
