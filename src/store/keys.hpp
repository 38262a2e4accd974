#pragma once
// Every RocksDB key Baton writes is built and parsed here, nowhere else. Integers are
// fixed-width big-endian so byte order is numeric order; strings inside keys carry a
// one-byte length so a prefix never runs into the next field.
//
// Column families and their keys (docs/architecture.md has the full table):
//   tasks        vnode(2) · task ulid(16)                      -> task record
//   active       account · task ulid(16)                       -> ActiveEntry (records.hpp)
//                (every pending or claimed task: what the claim queues, the timer wheel
//                and the pending / claimed listings need, without reading the record)
//   listing      'A' · account · task ulid                     -> ""   (every task)
//                'T' · account · type · task ulid              -> ""   (every task)
//                'S' · account · status(1) · task ulid         -> ""   (terminal tasks)
//                'X' · account · type · status(1) · task ulid  -> ""   (terminal tasks)
//                'C' · account · parent ulid(16) · task ulid   -> ""   (tasks with a parent)
//   idempotency  account · method · path · key                 -> stored response
//   accounts     account id                                    -> account record
//   keys         'h' · sha256(32)                              -> key record
//                'a' · account · key id                        -> key record
//   logs         task ulid(16) · seq(8)                        -> log line (records.hpp)
//   meta         name                                          -> value
//                'W' · account · worker(2-byte length) · type   -> worker stats (records.hpp)
//                'U' · account · hour(8) · type                 -> usage counts (records.hpp)
//                'Q' · account · type                           -> queue facts (records.hpp)
//                "queue_facts"                                  -> "1" once every queue's
//                                                                  facts are counted
//                'K' · schedule ulid(16)                         -> schedule (records.hpp)
//                'H' · schedule ulid(16) · seq(8)                -> a firing of it
// A claim rewrites only the record and its active entry; the listing indexes change only
// when a task is created or reaches (or leaves) a terminal state.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/task.hpp"
#include "core/ulid.hpp"

namespace baton::keys {

void put_be16(std::string& out, std::uint16_t value);
void put_be64(std::string& out, std::uint64_t value);
void put_string8(std::string& out, std::string_view text);  // length byte + bytes (<= 255)
std::uint16_t get_be16(std::string_view in, std::size_t pos);
std::uint64_t get_be64(std::string_view in, std::size_t pos);

// Times may be negative in theory; flipping the sign bit keeps their byte order numeric.
std::uint64_t order_time(Millis ms);
Millis unorder_time(std::uint64_t bits);

std::string task_key(int vnode, const Ulid& id);
std::string task_key(const Ulid& id);  // vnode taken from the id
std::optional<Ulid> task_key_id(std::string_view key);

std::string active_key(std::string_view account, const Ulid& id);
std::string active_prefix(std::string_view account);
// The first active key of the account whose task id is from `ms` or later: ids begin with
// their creation time, so [active_key_from(a, t0), active_key_from(a, t1)) holds the
// entries of tasks created in [t0, t1).
std::string active_key_from(std::string_view account, Millis ms);
struct ActiveKey {
  std::string account;
  Ulid id{};
};
std::optional<ActiveKey> decode_active_key(std::string_view key);

enum class ListIndex : char { all = 'A', by_status = 'S', by_type = 'T', by_type_status = 'X' };
// The prefix shared by one index's entries for one account (and type / status if the
// index has them): scanning it newest-first lists the account's tasks. by_status and
// by_type_status hold terminal tasks only.
std::string list_prefix(ListIndex index, std::string_view account, std::string_view type,
                        TaskStatus status);
std::string list_key(ListIndex index, std::string_view account, std::string_view type,
                     TaskStatus status, const Ulid& id);
// The task ulid at the end of any listing key.
std::optional<Ulid> list_key_id(std::string_view key);

// A parent's children, oldest first: the prefix, and one child's entry (list_key_id reads
// the child back).
std::string children_prefix(std::string_view account, const Ulid& parent);
std::string child_key(std::string_view account, const Ulid& parent, const Ulid& child);

// A worker's counts for one task type (the roster), and its parts back.
std::string worker_stats_key(std::string_view account, std::string_view worker,
                             std::string_view type);
inline constexpr std::string_view kWorkerStatsPrefix = "W";

// An account's usage of one task type in one UTC hour (hours since the epoch): an
// account's hours in time order, so a period is one range scan.
inline constexpr std::string_view kUsagePrefix = "U";
std::string usage_key(std::string_view account, std::int64_t hour, std::string_view type);
// The account's usage keys from `hour` on (a scan's start).
std::string usage_key_from(std::string_view account, std::int64_t hour);
struct UsageKey {
  std::string account;
  std::int64_t hour = 0;
  std::string type;
};
std::optional<UsageKey> decode_usage_key(std::string_view key);
struct WorkerStatsKey {
  std::string account, worker, type;
};
std::optional<WorkerStatsKey> decode_worker_stats_key(std::string_view key);

// A queue's facts (core/queue.hpp): dead letters counted, paused. An account's queues are
// one range (queue_facts_prefix), every account's the 'Q' prefix.
inline constexpr std::string_view kQueueFactsPrefix = "Q";
inline constexpr std::string_view kQueueFactsCounted = "queue_facts";
std::string queue_facts_key(std::string_view account, std::string_view type);
std::string queue_facts_prefix(std::string_view account);
struct QueueFactsKey {
  std::string account;
  std::string type;
};
std::optional<QueueFactsKey> decode_queue_facts_key(std::string_view key);

// Schedules, all of them one range ('K'), and each one's firings in seq order.
inline constexpr std::string_view kSchedulePrefix = "K";
std::string schedule_key(const Ulid& schedule);
std::optional<Ulid> schedule_key_id(std::string_view key);
std::string schedule_run_key(const Ulid& schedule, std::int64_t seq);
std::string schedule_runs_prefix(const Ulid& schedule);
std::optional<std::int64_t> schedule_run_seq(std::string_view key);

// A task's log line `seq`; its lines are one range, in seq order.
std::string log_key(const Ulid& task, std::int64_t seq);
std::optional<std::int64_t> log_key_seq(std::string_view key);

std::string idempotency_key(std::string_view account, std::string_view method,
                            std::string_view path, std::string_view key);

std::string key_by_hash(std::string_view sha256);
std::string key_by_account(std::string_view account, std::string_view key_id);
std::string key_by_account_prefix(std::string_view account);

}  // namespace baton::keys
