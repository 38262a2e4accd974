#include "crash/audit.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "crash/leases.hpp"
#include "crash/listing.hpp"

namespace baton::crash {

namespace {

using namespace std::chrono_literals;

// A sample per check: enough that an older acknowledgement lost by a later crash is
// likely seen within a few cycles, few enough that a check stays short as tasks pile up.
// The final check reads everything.
constexpr std::size_t kOlderReads = 100;
constexpr std::size_t kIdempotentReplays = 20;
// The spec: a lease is expired within 1 s of its end (leases.hpp).
constexpr auto kExpiryBound = 1s;
// The longest lease this tool asks for (traffic.cpp).
constexpr auto kLongestLease = 2s;

std::string seq_text(std::int64_t seq) { return "seq " + std::to_string(seq); }

std::int64_t payload_seq(const json::object& task) {
  const auto* payload = task.if_contains("payload");
  const auto* seq =
      payload && payload->is_object() ? payload->get_object().if_contains("seq") : nullptr;
  return seq && seq->is_number() ? seq->to_number<std::int64_t>() : -1;
}

std::string str(const json::object& task, std::string_view field) {
  const auto* v = task.if_contains(field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::int64_t integer(const json::object& task, std::string_view field) {
  const auto* v = task.if_contains(field);
  return v && v->is_number() ? v->to_number<std::int64_t>() : -1;
}

// The completed task's result names a complete request this tool sent for it.
std::string foreign_result_problem(const json::object& task, const TaskRecord* record) {
  const auto* result = task.if_contains("result");
  if (!result || !result->is_object()) return "no result object";
  const auto& r = result->get_object();
  if (str(r, "task") != str(task, "id")) return "the result names another task";
  if (!record || !record->complete_tokens_sent.contains(str(r, "token")))
    return "no complete request was sent with the lease token in the result";
  return {};
}

}  // namespace

Audit::Audit(int port, Ledger& ledger, std::uint64_t seed)
    : client_(port, 10s), ledger_(ledger), rng_(seed ^ 0xa0d17ULL) {}

test::Response Audit::must_answer(const Answered& answered, const std::string& what) {
  if (!answered.response) throw std::runtime_error("the restarted server did not answer " + what);
  return *answered.response;
}

void Audit::after_restart(WallClock::time_point ready_wall) {
  ready_wall_ = ready_wall;
  send_unanswered_idempotent_creates();
  replay_idempotent_creates(kIdempotentReplays);
  read_back(ledger_.ids_to_check(kOlderReads, rng_));
  check_claimed_tasks(client_, ledger_, ready_wall_);
}

void Audit::final(WallClock::time_point ready_wall) {
  ready_wall_ = ready_wall;
  const auto workers_stopped = WallClock::now();
  send_unanswered_idempotent_creates();
  replay_idempotent_creates(SIZE_MAX);
  read_back(ledger_.ids_to_check(SIZE_MAX, rng_));
  // Every lease was taken or renewed before the workers stopped: each ends within the
  // longest lease, and is expired within the bound after that (or after the restart).
  const auto all_expired =
      std::max(workers_stopped + kLongestLease, ready_wall_) + kExpiryBound + 500ms;
  while (check_claimed_tasks(client_, ledger_, ready_wall_) > 0 && WallClock::now() < all_expired)
    std::this_thread::sleep_for(100ms);
  if (std::size_t left = check_claimed_tasks(client_, ledger_, ready_wall_); left > 0) {
    ledger_.violation(Broken::lease_overdue, "all leases",
                      std::to_string(left) + " tasks still claimed " +
                          "more than the longest lease plus 1 s after the workers stopped");
  }
  check_full_listing();
}

void Audit::send_unanswered_idempotent_creates() {
  for (const SentCreate& create : ledger_.unanswered_idempotent_creates()) {
    const std::string& key = ledger_.account_keys()[create.account];
    const test::Headers headers{{"Idempotency-Key", create.idempotency_key}};
    const auto give_up = SteadyClock::now() + 10s;
    ledger_.figures().idempotent_sent_after_restart++;
    for (;;) {
      Answered a = exchange([&] { return client_.create_task(key, create.body, headers); });
      test::Response r = must_answer(a, "a create sent again");
      if (r.status == 201) {
        ledger_.create_acked(create.seq, r.task_id(), r.body, a.at);
        break;
      }
      // In-flight marks are not kept across a restart (docs/operations.md#upgrade), so a
      // 503 here can only be brief.
      if (r.status == 503 && SteadyClock::now() < give_up) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      ledger_.violation(Broken::idempotent_retry_refused, seq_text(create.seq),
                        "idempotent create (key " + create.idempotency_key + ", " +
                            seq_text(create.seq) +
                            ") whose answer was lost, sent again with the same key and body "
                            "after the restart, got " +
                            r.describe());
      break;
    }
  }
}

void Audit::replay_idempotent_creates(std::size_t count) {
  for (const SentCreate& create : ledger_.acked_idempotent_creates(count, rng_)) {
    const std::string& key = ledger_.account_keys()[create.account];
    const test::Headers headers{{"Idempotency-Key", create.idempotency_key}};
    Answered a = exchange([&] { return client_.create_task(key, create.body, headers); });
    test::Response r = must_answer(a, "an idempotent replay");
    if (r.status != 201) {
      ledger_.violation(Broken::idempotent_retry_refused, seq_text(create.seq),
                        "acknowledged idempotent create (key " + create.idempotency_key +
                            ", task " + create.acked_id + ") replayed after the restart got " +
                            r.describe());
      continue;
    }
    ledger_.create_acked(create.seq, r.task_id(), r.body, a.at);  // compares id and body
  }
}

void Audit::read_back(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    std::optional<TaskRecord> record = ledger_.record(id);
    if (!record || record->seq < 0) continue;
    std::optional<SentCreate> sent = ledger_.sent_create(record->seq);
    if (!sent) continue;  // reported when it was seen
    const std::string& key = ledger_.account_keys()[sent->account];
    Answered a = exchange([&] { return client_.get_task(key, id); });
    must_answer(a, "GET /v1/tasks/" + id);
    ledger_.figures().reads_checked++;
    check_read(*record, *sent, a);
  }
}

void Audit::check_read(const TaskRecord& record, const SentCreate& sent, const Answered& read) {
  const test::Response& r = *read.response;
  const std::string what = "task " + record.id + " (" + seq_text(record.seq) + ")";
  if (r.status != 200) {
    ledger_.violation(
        Broken::create_lost, record.id,
        what + (record.create_acked ? ", acknowledged as created," : ", acknowledged in a claim,") +
            " reads " + r.describe());
    return;
  }
  const json::object& task = r.task();
  const std::string status = str(task, "status");
  const std::int64_t attempt = integer(task, "attemptCount");
  if (payload_seq(task) != record.seq || str(task, "type") != ledger_.types()[sent.type])
    ledger_.violation(Broken::create_lost, record.id,
                      what + " reads with another payload or type: " + r.describe());
  ledger_.observed(record.id, attempt, read.at, "read after a restart");

  if (record.completion) {
    const auto* result = task.if_contains("result");
    if (status != "completed" || !result || *result != record.completion->result)
      ledger_.violation(Broken::outcome_lost, record.id,
                        what + ": its completion (lease " + record.completion->token + ", " +
                            record.completion->how + ") was acknowledged, but it reads " +
                            r.describe());
  } else if (status == "completed") {
    if (std::string problem = foreign_result_problem(task, &record); !problem.empty())
      ledger_.violation(Broken::completed_twice, record.id,
                        what + " is completed but " + problem + ": " + r.describe());
  }
  if (record.dead_letter_attempt && status != "dead_letter")
    ledger_.violation(
        Broken::outcome_lost, record.id,
        what + ": a fail acknowledged it dead-lettered, but it reads " + r.describe());

  check_lease_deadline(ledger_, task, read.at.sent_wall, ready_wall_);

  // The newest acknowledged claim, if its lease was still running when the answer came
  // and nothing released it, must be the one in force: not forgotten, not expired early,
  // not handed to someone else, renewed as far as an acknowledged heartbeat renewed it.
  const Claim* newest = nullptr;
  for (const Claim& claim : record.claims)
    if (!newest || claim.attempt > newest->attempt) newest = &claim;
  if (newest && !newest->released && read.at.answered_wall < newest->lease_end) {
    const bool in_force = status == "claimed" && attempt == newest->attempt &&
                          test::parse_time(str(task, "leaseExpiresAt")) >= newest->lease_end;
    if (!in_force)
      ledger_.violation(Broken::claim_lost, record.id,
                        what + ": its acknowledged claim (attempt " +
                            std::to_string(newest->attempt) + ", lease until " +
                            test::format_time(newest->lease_end) + ") is not in force at " +
                            test::format_time(read.at.answered_wall) + ": " + r.describe());
  }
}

void Audit::check_full_listing() {
  std::unordered_set<std::string> listed;
  std::map<std::int64_t, std::vector<std::string>> ids_by_seq;
  for (int account = 0; account < static_cast<int>(ledger_.account_keys().size()); ++account) {
    for (int type = 0; type < static_cast<int>(ledger_.types().size()); ++type) {
      list_all(
          client_, ledger_.account_keys()[account], "type=" + ledger_.types()[type],
          [&](const json::object& task, const Answered& page) {
            ledger_.figures().listed_checked++;
            const std::string id = str(task, "id");
            const std::int64_t seq = payload_seq(task);
            listed.insert(id);
            ids_by_seq[seq].push_back(id);
            const std::string what = "listed task " + id + " (" + seq_text(seq) + ")";
            std::optional<SentCreate> sent = ledger_.sent_create(seq);
            if (!sent) {
              ledger_.violation(Broken::foreign_task, id,
                                what + " was made by no create this tool sent");
            } else if (sent->account != account || sent->type != type) {
              ledger_.violation(
                  Broken::foreign_task, id,
                  what + " is listed under another account or type than its create's");
            } else if (!sent->acked_id.empty() && sent->acked_id != id) {
              ledger_.violation(Broken::create_duplicated, seq_text(seq),
                                what + ": its create was acknowledged as " + sent->acked_id +
                                    ", so one create made two tasks");
            }
            if (str(task, "status") == "completed") {
              std::optional<TaskRecord> record = ledger_.record(id);
              if (record && record->completion) {
                const auto* result = task.if_contains("result");
                if (!result || *result != record->completion->result)
                  ledger_.violation(
                      Broken::outcome_lost, id,
                      what + " is listed with a result other than its acknowledged completion's");
              } else if (std::string problem =
                             foreign_result_problem(task, record ? &*record : nullptr);
                         !problem.empty()) {
                ledger_.violation(Broken::completed_twice, id,
                                  what + " is completed but " + problem);
              }
            }
            check_lease_deadline(ledger_, task, page.at.sent_wall, ready_wall_);
          });
    }
  }
  for (const auto& [seq, ids] : ids_by_seq) {
    if (ids.size() < 2) continue;
    std::optional<SentCreate> sent = ledger_.sent_create(seq);
    std::string names;
    for (const auto& id : ids) names += " " + id;
    ledger_.violation(Broken::create_duplicated, seq_text(seq),
                      seq_text(seq) +
                          (sent && !sent->idempotency_key.empty()
                               ? " (idempotency key " + sent->idempotency_key + ")"
                               : "") +
                          " made " + std::to_string(ids.size()) + " tasks:" + names);
  }
  for (const std::string& id : ledger_.known_ids()) {
    if (listed.contains(id)) continue;
    std::optional<TaskRecord> record = ledger_.record(id);
    ledger_.violation(Broken::create_lost, id,
                      "task " + id +
                          (record && record->create_acked ? ", acknowledged as created,"
                                                          : ", acknowledged in a claim,") +
                          " is missing from its account's listing");
  }
}

}  // namespace baton::crash
