#pragma once
// What the crash loop's clients were told, and the checks that need nothing but that.
// Only answers count: a 2xx received is an acknowledgement; a request whose answer was
// lost (the kill cut it, or the server was down) is an unknown outcome and proves
// nothing either way. Each new acknowledgement is compared with the earlier ones here
// (two completions of one task, a claim of a completed task, a lease taken while live,
// attempts going back); what needs the server's view after a restart is in audit.hpp.
// Producers, workers and the audit share one Ledger; every member is thread-safe.
#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "integration/harness.hpp"

namespace baton::crash {

namespace json = boost::json;
using test::SteadyClock;
using test::WallClock;

// When a request went out and when its answer came back, on both clocks: the steady
// clock orders requests ("sent after that answer arrived" means "after it at the
// server"), the wall clock compares with the server's lease times (same machine).
struct Exchange {
  SteadyClock::time_point sent, answered;
  WallClock::time_point sent_wall, answered_wall;
};

// Counts for the summary. Plain counters: nothing is decided from them.
struct Figures {
  std::atomic<std::int64_t> creates_sent{0}, creates_acked{0}, creates_unknown{0};
  std::atomic<std::int64_t> idempotent_acked{0}, idempotent_answers_lost{0},
      idempotent_sent_after_restart{0}, idempotent_replayed{0};
  std::atomic<std::int64_t> concurrent_creates{0}, concurrent_completes{0};
  std::atomic<std::int64_t> claims_acked{0}, claims_empty{0}, claims_unknown{0};
  std::atomic<std::int64_t> long_polls_cut{0};
  std::atomic<std::int64_t> completes_acked{0}, completes_unknown{0};
  std::atomic<std::int64_t> fails_acked{0}, dead_letters_acked{0}, heartbeats_acked{0};
  std::atomic<std::int64_t> abandoned{0};
  std::atomic<std::int64_t> reads_checked{0}, listed_checked{0};
  std::atomic<std::int64_t> kills{0}, kills_opening_storage{0}, kills_recovered_not_listening{0},
      kills_just_listening{0};
  // --power-loss: bytes the kills' crash images dropped (written, never fsynced).
  std::atomic<std::int64_t> power_loss_bytes_dropped{0};
  // Files the journal named that were gone at the image (left as they were): 0 expected.
  std::atomic<std::int64_t> power_loss_files_missing{0};
  std::atomic<std::int64_t> answers_refused{
      0};  // 4xx/5xx answers (expected ones: 409 on stale leases)
  // The longest a task was seen still claimed after its lease ended (or after the restart,
  // for a lease that ended while the server was down), in ms: how close expiry came to the
  // spec's 1 s bound.
  std::atomic<std::int64_t> claimed_past_lease_max_ms{0};
};

// What a violation breaks: one kind per promise crash_loop.cpp lists (its number there).
enum class Broken {
  create_lost,               // 1: an acknowledged create is missing or reads changed
  outcome_lost,              // 2: an acknowledged completion or dead letter reads otherwise
  completed_twice,           // 3: two completions, or a claim or fail after the completion
  lease_overdue,             // 4: claimed more than 1 s past its lease (or the restart)
  attempts_back,             // 5: attemptCount went back
  create_duplicated,         // 6: one create made two tasks (one key answered two ids)
  idempotent_retry_refused,  // 6: the same key and body sent again got another answer
  claim_lost,                // 7: an acknowledged claim forgotten or its live lease taken
  foreign_task,              // a task no create of this tool made, or another account's
  tool_error,                // the tool's own records contradict themselves
};
inline constexpr int kBrokenKinds = static_cast<int>(Broken::tool_error) + 1;
std::string_view broken_name(Broken kind);

// One acknowledged claim of a task.
struct Claim {
  std::string token;
  std::int64_t attempt = 0;
  WallClock::time_point lease_end;  // from the claim's answer, later from heartbeat answers
  WallClock::time_point answered_wall;
  SteadyClock::time_point answered;
  // When the first complete or fail with this token was sent (its outcome may be
  // unknown): from then on the task may leave this claim legitimately.
  std::optional<SteadyClock::time_point> released;
};

// An attemptCount the server showed in an acknowledgement or in a read made while no
// client ran (a read during traffic may show a change not yet committed: docs/operations.md).
struct Observation {
  std::int64_t attempt = 0;
  SteadyClock::time_point sent, answered;
  std::string what;
};

struct Completion {
  std::string token;
  std::int64_t attempt = 0;
  json::value result;
  std::string how;  // how the acknowledged request was sent, for the violation's message
};

struct TaskRecord {
  std::string id;
  std::int64_t seq = -1;  // the producer's number in the payload
  bool create_acked = false;
  std::vector<Claim> claims;  // acknowledged ones, in the order the answers were recorded
  std::vector<Observation> observations;
  std::set<std::string> complete_tokens_sent;       // every complete request, answered or not
  std::optional<Completion> completion;             // the acknowledged one
  std::vector<std::int64_t> fail_attempts;          // of the acknowledged fails
  std::optional<std::int64_t> dead_letter_attempt;  // an acknowledged fail that dead-lettered it
};

// One create request as the producer sent it (same body on every resend).
struct SentCreate {
  std::int64_t seq = 0;
  int account = 0;
  int type = 0;
  std::string idempotency_key;  // "" when sent without one
  std::string body;
  std::string acked_id;    // "" until a 201 arrived
  std::string acked_body;  // the first 201's body (an idempotent replay must repeat it)
};

class Ledger {
 public:
  Ledger(std::vector<std::string> account_keys, std::vector<std::string> types, std::uint64_t seed);

  const std::vector<std::string>& account_keys() const { return account_keys_; }
  const std::vector<std::string>& types() const { return types_; }
  Figures& figures() { return figures_; }
  const Figures& figures() const { return figures_; }

  // The cycle now running, for violation messages.
  void begin_cycle(int cycle);
  int cycle() const { return cycle_.load(); }

  std::int64_t next_seq() { return next_seq_.fetch_add(1); }
  void create_sent(SentCreate create);
  void create_acked(std::int64_t seq, const std::string& id, const std::string& body,
                    const Exchange& at);
  // Idempotent creates still without an answer, to resend after the restart.
  std::vector<SentCreate> unanswered_idempotent_creates() const;
  // Acknowledged idempotent creates: all, or a sample of `count`.
  std::vector<SentCreate> acked_idempotent_creates(std::size_t count, std::mt19937_64& rng) const;
  std::optional<SentCreate> sent_create(std::int64_t seq) const;

  // `account` is the index of the key that claimed it.
  void claim_acked(int account, const std::string& id, std::int64_t seq, const Claim& claim,
                   const Exchange& at);
  // Before a complete or fail with `token` is sent.
  void release_sent(const std::string& id, const std::string& token, bool complete);
  void heartbeat_acked(const std::string& id, const std::string& token, std::int64_t attempt,
                       WallClock::time_point lease_end, const Exchange& at);
  // `how`: "sent once", or which of a request sent twice at once this answer was.
  void complete_acked(const std::string& id, const std::string& token, std::int64_t attempt,
                      const json::value& result, const Exchange& at, const std::string& how);
  void fail_acked(const std::string& id, const std::string& token, std::int64_t attempt,
                  bool dead_letter, const Exchange& at);
  // A read made while no client ran (the audit).
  void observed(const std::string& id, std::int64_t attempt, const Exchange& at,
                const std::string& what);

  std::optional<TaskRecord> record(const std::string& id) const;
  // The ids a check after a restart reads: every task first acknowledged or touched since
  // the last call, and a sample of `older` others (all of them when `older` is SIZE_MAX).
  std::vector<std::string> ids_to_check(std::size_t older, std::mt19937_64& rng);
  // Every task id an acknowledgement named.
  std::vector<std::string> known_ids() const;
  // Creates acknowledged in this cycle minus completions and dead letters acknowledged in
  // it: producers pause above a bound, so the queues the next recovery rebuilds stay small.
  std::int64_t cycle_backlog() const { return cycle_backlog_.load(); }

  // Records and prints a violation; the same kind for the same subject (a task id, or
  // "seq N" for a create) counts once, however many later checks see it again.
  void violation(Broken kind, const std::string& subject, const std::string& what);
  std::int64_t violations() const;
  std::int64_t violations(Broken kind) const;
  std::vector<std::string> violation_messages() const;

 private:
  TaskRecord& task_locked(const std::string& id);
  void observe_locked(TaskRecord& task, Observation observation);
  void check_claim_pair_locked(const TaskRecord& task, const Claim& earlier, const Claim& later);
  void violation_locked(Broken kind, const std::string& subject, const std::string& what);

  const std::vector<std::string> account_keys_;
  const std::vector<std::string> types_;
  const std::uint64_t seed_;
  Figures figures_;
  std::atomic<int> cycle_{0};
  std::atomic<std::int64_t> next_seq_{1};
  std::atomic<std::int64_t> cycle_backlog_{0};

  mutable std::mutex mutex_;
  std::unordered_map<std::int64_t, SentCreate> creates_;  // by seq
  std::unordered_map<std::string, TaskRecord> tasks_;     // by id
  std::vector<std::string> all_ids_;                      // tasks_'s keys, for sampling
  std::set<std::int64_t> unanswered_idempotent_;          // seqs sent with a key, no 201 yet
  std::vector<std::int64_t> acked_idempotent_;            // seqs sent with a key, 201 received
  std::set<std::string> to_check_;                        // touched since ids_to_check
  std::vector<std::string> violations_;
  std::set<std::pair<Broken, std::string>> violated_;  // (kind, subject) already recorded
  std::array<std::int64_t, kBrokenKinds> violations_by_kind_{};
};

}  // namespace baton::crash
