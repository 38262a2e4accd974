#include "crash/leases.hpp"

#include <algorithm>
#include <chrono>

#include "crash/listing.hpp"

namespace baton::crash {

namespace {

using namespace std::chrono_literals;

constexpr auto kExpiryBound = 1s;

std::string str(const json::object& task, std::string_view field) {
  const auto* v = task.if_contains(field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

void check_lease_deadline(Ledger& ledger, const json::object& task, WallClock::time_point sent_wall,
                          WallClock::time_point ready_wall) {
  if (str(task, "status") != "claimed") return;
  const auto lease_end = test::parse_time(str(task, "leaseExpiresAt"));
  const auto due = std::max(lease_end, ready_wall);
  const auto late = std::chrono::duration_cast<std::chrono::milliseconds>(sent_wall - due).count();
  auto& longest = ledger.figures().claimed_past_lease_max_ms;
  for (auto seen = longest.load(); late > seen && !longest.compare_exchange_weak(seen, late);) {
  }
  if (sent_wall <= due + kExpiryBound) return;
  const std::string id = str(task, "id");
  ledger.violation(Broken::lease_overdue, id,
                   "task " + id + " is still claimed at " + test::format_time(sent_wall) +
                       " though its lease ended at " + test::format_time(lease_end) +
                       " (server ready at " + test::format_time(ready_wall) +
                       "): more than 1 s late");
}

std::size_t check_claimed_tasks(test::Client& client, Ledger& ledger,
                                WallClock::time_point ready_wall) {
  std::size_t claimed = 0;
  for (const std::string& key : ledger.account_keys()) {
    for (const std::string& type : ledger.types()) {
      list_all(client, key, "status=claimed&type=" + type,
               [&](const json::object& task, const Answered& page) {
                 ++claimed;
                 check_lease_deadline(ledger, task, page.at.sent_wall, ready_wall);
               });
    }
  }
  return claimed;
}

LeaseWatch::LeaseWatch(int port, Ledger& ledger, WallClock::time_point ready_wall) {
  thread_ = std::thread([this, port, &ledger, ready_wall] {
    test::Client client(port, 5s);
    while (!stopping_) {
      try {
        check_claimed_tasks(client, ledger, ready_wall);
      } catch (const std::exception&) {
        // A busy server may be slow to answer; the next round tries again.
      }
      std::this_thread::sleep_for(50ms);
    }
  });
}

LeaseWatch::~LeaseWatch() { stop(); }

void LeaseWatch::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace baton::crash
