#pragma once
// Open connections per client address, across every listener (a client's connections are
// spread over the shards by SO_REUSEPORT, so a per-shard share would refuse it early on an
// unlucky shard). One mutex: taken once when a connection is accepted and once when it
// closes, never per request.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace baton::http {

class AddressCounts : public std::enable_shared_from_this<AddressCounts> {
 public:
  // `limit` connections per address at most; 0: no limit.
  explicit AddressCounts(int limit) : limit_(limit) {}

  // Holds one connection's place until destroyed (it moves with the connection from one
  // listener to another).
  class Slot {
   public:
    Slot(std::shared_ptr<AddressCounts> owner, std::string address)
        : owner_(std::move(owner)), address_(std::move(address)) {}
    ~Slot() { owner_->release(address_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    std::shared_ptr<AddressCounts> owner_;
    std::string address_;
  };

  // A place for one more connection from `address` (its bytes), or null when it has
  // `limit` already.
  std::shared_ptr<Slot> acquire(const std::string& address);
  int limit() const { return limit_; }

 private:
  void release(const std::string& address);

  const int limit_;
  std::mutex mutex_;
  std::unordered_map<std::string, int> open_;
};

}  // namespace baton::http
