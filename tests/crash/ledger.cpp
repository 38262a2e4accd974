#include "crash/ledger.hpp"

#include <algorithm>
#include <iostream>

namespace baton::crash {

namespace {

std::string at_text(WallClock::time_point t) { return test::format_time(t); }

std::string attempt_text(std::int64_t attempt) { return "attempt " + std::to_string(attempt); }

std::string seq_text(std::int64_t seq) { return "seq " + std::to_string(seq); }

}  // namespace

std::string_view broken_name(Broken kind) {
  switch (kind) {
    case Broken::create_lost:
      return "acked_create_lost";
    case Broken::outcome_lost:
      return "acked_completion_or_dead_letter_lost";
    case Broken::completed_twice:
      return "completed_twice";
    case Broken::lease_overdue:
      return "claimed_past_lease_plus_1s";
    case Broken::attempts_back:
      return "attempts_went_back";
    case Broken::create_duplicated:
      return "create_made_two_tasks";
    case Broken::idempotent_retry_refused:
      return "idempotent_retry_answered_otherwise";
    case Broken::claim_lost:
      return "acked_claim_lost";
    case Broken::foreign_task:
      return "foreign_task";
    case Broken::tool_error:
      return "tool_error";
  }
  return "?";
}

Ledger::Ledger(std::vector<std::string> account_keys, std::vector<std::string> types,
               std::uint64_t seed)
    : account_keys_(std::move(account_keys)), types_(std::move(types)), seed_(seed) {}

void Ledger::begin_cycle(int cycle) {
  cycle_ = cycle;
  cycle_backlog_ = 0;
}

TaskRecord& Ledger::task_locked(const std::string& id) {
  auto [it, inserted] = tasks_.try_emplace(id);
  if (inserted) {
    it->second.id = id;
    all_ids_.push_back(id);
  }
  to_check_.insert(id);
  return it->second;
}

void Ledger::create_sent(SentCreate create) {
  std::lock_guard lock(mutex_);
  if (!create.idempotency_key.empty()) unanswered_idempotent_.insert(create.seq);
  creates_.emplace(create.seq, std::move(create));
}

void Ledger::create_acked(std::int64_t seq, const std::string& id, const std::string& body,
                          const Exchange& at) {
  std::lock_guard lock(mutex_);
  auto it = creates_.find(seq);
  if (it == creates_.end()) {
    violation_locked(Broken::tool_error, seq_text(seq),
                     "create of seq " + std::to_string(seq) + " answered 201 (" + id +
                         ") but never sent: the tool is broken");
    return;
  }
  SentCreate& sent = it->second;
  const std::string key_text = "idempotent create (key " + sent.idempotency_key + ")";
  if (!sent.acked_id.empty()) {
    // Only idempotent creates are sent more than once.
    figures_.idempotent_replayed++;
    if (sent.acked_id != id) {
      violation_locked(Broken::create_duplicated, seq_text(seq),
                       key_text + " answered 201 with two tasks: " + sent.acked_id + ", then " +
                           id + " (answered " + at_text(at.answered_wall) + ")");
    } else if (sent.acked_body != body) {
      violation_locked(Broken::idempotent_retry_refused, seq_text(seq),
                       key_text + " replay answered a body other than the stored 201's: first " +
                           sent.acked_body.substr(0, 400) + " then " + body.substr(0, 400));
    }
    return;
  }
  sent.acked_id = id;
  sent.acked_body = body;
  if (!sent.idempotency_key.empty()) {
    unanswered_idempotent_.erase(seq);
    acked_idempotent_.push_back(seq);
    figures_.idempotent_acked++;
  }
  figures_.creates_acked++;
  cycle_backlog_++;
  TaskRecord& task = task_locked(id);
  if (task.seq != -1 && task.seq != seq) {
    violation_locked(Broken::create_duplicated, id,
                     "task " + id + " was answered for two creates: seq " +
                         std::to_string(task.seq) + " and seq " + std::to_string(seq));
  }
  task.seq = seq;
  task.create_acked = true;
}

std::vector<SentCreate> Ledger::unanswered_idempotent_creates() const {
  std::lock_guard lock(mutex_);
  std::vector<SentCreate> out;
  for (std::int64_t seq : unanswered_idempotent_) out.push_back(creates_.at(seq));
  return out;
}

std::vector<SentCreate> Ledger::acked_idempotent_creates(std::size_t count,
                                                         std::mt19937_64& rng) const {
  std::lock_guard lock(mutex_);
  std::vector<SentCreate> out;
  if (count >= acked_idempotent_.size()) {
    for (std::int64_t seq : acked_idempotent_) out.push_back(creates_.at(seq));
    return out;
  }
  std::uniform_int_distribution<std::size_t> pick(0, acked_idempotent_.size() - 1);
  for (std::size_t i = 0; i < count; ++i) out.push_back(creates_.at(acked_idempotent_[pick(rng)]));
  return out;
}

std::optional<SentCreate> Ledger::sent_create(std::int64_t seq) const {
  std::lock_guard lock(mutex_);
  auto it = creates_.find(seq);
  if (it == creates_.end()) return std::nullopt;
  return it->second;
}

void Ledger::claim_acked(int account, const std::string& id, std::int64_t seq, const Claim& claim,
                         const Exchange& at) {
  std::lock_guard lock(mutex_);
  figures_.claims_acked++;
  const std::string what = "task " + id + " (seq " + std::to_string(seq) + ")";
  auto sent = creates_.find(seq);
  if (sent == creates_.end()) {
    violation_locked(Broken::foreign_task, id,
                     "a claim answered " + what + ", which no producer sent");
  } else {
    if (sent->second.account != account) {
      violation_locked(Broken::foreign_task, id,
                       "account " + std::to_string(account) + "'s key claimed " + what +
                           " of account " + std::to_string(sent->second.account));
    }
    if (!sent->second.acked_id.empty() && sent->second.acked_id != id) {
      violation_locked(Broken::create_duplicated, seq_text(seq),
                       "seq " + std::to_string(seq) + " was acknowledged as " +
                           sent->second.acked_id + " but a claim answered " + id +
                           " with the same payload: one create made two tasks");
    }
  }
  TaskRecord& task = task_locked(id);
  if (task.seq == -1) task.seq = seq;
  if (task.seq != seq) {
    violation_locked(Broken::create_lost, id,
                     "task " + id + " was seq " + std::to_string(task.seq) +
                         " and a claim shows seq " + std::to_string(seq));
  }
  if (task.completion &&
      (claim.attempt > task.completion->attempt ||
       (claim.attempt == task.completion->attempt && claim.token != task.completion->token))) {
    violation_locked(Broken::completed_twice, id,
                     what + " was claimed (" + attempt_text(claim.attempt) +
                         ") after its completion (" + attempt_text(task.completion->attempt) +
                         ") was acknowledged");
  }
  if (task.dead_letter_attempt && claim.attempt > *task.dead_letter_attempt) {
    violation_locked(Broken::outcome_lost, id,
                     what + " was claimed (" + attempt_text(claim.attempt) +
                         ") after a fail acknowledged it dead-lettered");
  }
  for (const Claim& other : task.claims) {
    if (other.attempt == claim.attempt) {
      violation_locked(Broken::claim_lost, id,
                       what + " was claimed twice with " + attempt_text(claim.attempt) +
                           " (answers at " + at_text(other.answered_wall) + " and " +
                           at_text(claim.answered_wall) + "): an acknowledged claim was forgotten");
    } else if (other.attempt < claim.attempt) {
      check_claim_pair_locked(task, other, claim);
    } else {
      check_claim_pair_locked(task, claim, other);
    }
  }
  task.claims.push_back(claim);
  observe_locked(task, Observation{claim.attempt, at.sent, at.answered, "claim answer"});
}

void Ledger::check_claim_pair_locked(const TaskRecord& task, const Claim& earlier,
                                     const Claim& later) {
  // The later claim was decided before its answer arrived; if that was before the
  // earlier lease's end and nothing had released that lease, a live lease was handed out.
  const bool released = earlier.released && *earlier.released < later.answered;
  if (!released && later.answered_wall < earlier.lease_end) {
    violation_locked(Broken::claim_lost, task.id,
                     "task " + task.id + ": a claim (" + attempt_text(later.attempt) +
                         ") was answered at " + at_text(later.answered_wall) +
                         " while the acknowledged lease of " + attempt_text(earlier.attempt) +
                         " ran until " + at_text(earlier.lease_end) +
                         " and no complete or fail was sent with its token");
  }
}

void Ledger::release_sent(const std::string& id, const std::string& token, bool complete) {
  std::lock_guard lock(mutex_);
  TaskRecord& task = task_locked(id);
  for (Claim& claim : task.claims) {
    if (claim.token == token && !claim.released) claim.released = SteadyClock::now();
  }
  if (complete) task.complete_tokens_sent.insert(token);
}

void Ledger::heartbeat_acked(const std::string& id, const std::string& token, std::int64_t attempt,
                             WallClock::time_point lease_end, const Exchange& at) {
  std::lock_guard lock(mutex_);
  figures_.heartbeats_acked++;
  TaskRecord& task = task_locked(id);
  for (Claim& claim : task.claims) {
    if (claim.token != token) continue;
    claim.lease_end = std::max(claim.lease_end, lease_end);
    for (const Claim& other : task.claims) {
      if (other.attempt > claim.attempt) check_claim_pair_locked(task, claim, other);
    }
  }
  observe_locked(task, Observation{attempt, at.sent, at.answered, "heartbeat answer"});
}

void Ledger::complete_acked(const std::string& id, const std::string& token, std::int64_t attempt,
                            const json::value& result, const Exchange& at, const std::string& how) {
  std::lock_guard lock(mutex_);
  figures_.completes_acked++;
  TaskRecord& task = task_locked(id);
  if (task.completion) {
    if (task.completion->token != token) {
      violation_locked(Broken::completed_twice, task.id,
                       "task " + task.id + " was completed twice: acknowledged with lease " +
                           task.completion->token + " (" + attempt_text(task.completion->attempt) +
                           "), then with lease " + token + " (" + attempt_text(attempt) + ")");
    } else if (task.completion->how != how) {
      task.completion->how = "sent twice at once, both answered 200";
    }
    if (task.completion->token == token && task.completion->result != result) {
      violation_locked(Broken::completed_twice, task.id,
                       "task " + task.id + ": one completion acknowledged with two results: " +
                           test::js(task.completion->result) + " and " + test::js(result));
    }
  } else {
    task.completion = Completion{token, attempt, result, how};
    cycle_backlog_--;
  }
  for (const Claim& claim : task.claims) {
    if (claim.attempt > attempt) {
      violation_locked(Broken::completed_twice, task.id,
                       "task " + task.id + " was claimed (" + attempt_text(claim.attempt) +
                           ") after its completion (" + attempt_text(attempt) +
                           ") was acknowledged");
    }
  }
  for (std::int64_t failed : task.fail_attempts) {
    if (failed >= attempt) {
      violation_locked(Broken::completed_twice, task.id,
                       "task " + task.id + ": a fail (" + attempt_text(failed) +
                           ") was acknowledged, and its completion (" + attempt_text(attempt) +
                           ")");
    }
  }
  // Dead letter is terminal here (this tool never requeues): no completion can follow it,
  // and none can precede it either.
  if (task.dead_letter_attempt) {
    violation_locked(Broken::completed_twice, task.id,
                     "task " + task.id + " was acknowledged both dead-lettered and completed");
  }
  observe_locked(task, Observation{attempt, at.sent, at.answered, "complete answer"});
}

void Ledger::fail_acked(const std::string& id, const std::string& /*token*/, std::int64_t attempt,
                        bool dead_letter, const Exchange& at) {
  std::lock_guard lock(mutex_);
  figures_.fails_acked++;
  TaskRecord& task = task_locked(id);
  // Answers are recorded in the order their threads get to it, not the server's: a fail
  // of an earlier claim may be recorded after the completion of a later one. A fail of the
  // completing claim, or of a later one, is what cannot happen.
  if (task.completion && attempt >= task.completion->attempt) {
    violation_locked(Broken::completed_twice, task.id,
                     "task " + task.id + ": a fail (" + attempt_text(attempt) +
                         ") was acknowledged, and its completion (" +
                         attempt_text(task.completion->attempt) + ")");
  }
  task.fail_attempts.push_back(attempt);
  if (dead_letter && task.completion) {
    violation_locked(Broken::completed_twice, task.id,
                     "task " + task.id + " was acknowledged both completed and dead-lettered");
  }
  if (dead_letter) {
    figures_.dead_letters_acked++;
    if (!task.dead_letter_attempt) cycle_backlog_--;
    task.dead_letter_attempt = attempt;
  }
  observe_locked(task, Observation{attempt, at.sent, at.answered, "fail answer"});
}

void Ledger::observed(const std::string& id, std::int64_t attempt, const Exchange& at,
                      const std::string& what) {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  observe_locked(it->second, Observation{attempt, at.sent, at.answered, what});
}

void Ledger::observe_locked(TaskRecord& task, Observation o) {
  // Only a claim raises attemptCount (this tool never requeues): a request sent after
  // another's answer arrived must not show a lower count.
  for (const Observation& p : task.observations) {
    const Observation* first = nullptr;
    const Observation* then = nullptr;
    if (p.answered < o.sent && o.attempt < p.attempt) {
      first = &p;
      then = &o;
    } else if (o.answered < p.sent && p.attempt < o.attempt) {
      first = &o;
      then = &p;
    }
    if (first) {
      violation_locked(Broken::attempts_back, task.id,
                       "task " + task.id + ": attemptCount went back from " +
                           std::to_string(first->attempt) + " (" + first->what + ") to " +
                           std::to_string(then->attempt) + " (" + then->what + ", sent later)");
    }
  }
  task.observations.push_back(std::move(o));
}

std::optional<TaskRecord> Ledger::record(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Ledger::ids_to_check(std::size_t older, std::mt19937_64& rng) {
  std::lock_guard lock(mutex_);
  if (older == SIZE_MAX) {
    to_check_.clear();
    return all_ids_;
  }
  std::vector<std::string> ids(to_check_.begin(), to_check_.end());
  to_check_.clear();
  if (!all_ids_.empty()) {
    std::uniform_int_distribution<std::size_t> pick(0, all_ids_.size() - 1);
    for (std::size_t i = 0; i < older; ++i) ids.push_back(all_ids_[pick(rng)]);
  }
  return ids;
}

std::vector<std::string> Ledger::known_ids() const {
  std::lock_guard lock(mutex_);
  return all_ids_;
}

void Ledger::violation(Broken kind, const std::string& subject, const std::string& what) {
  std::lock_guard lock(mutex_);
  violation_locked(kind, subject, what);
}

void Ledger::violation_locked(Broken kind, const std::string& subject, const std::string& what) {
  if (!violated_.emplace(kind, subject).second) return;
  violations_by_kind_[static_cast<int>(kind)]++;
  std::string message = "cycle " + std::to_string(cycle_.load()) + ", " +
                        std::string(broken_name(kind)) + ": " + what;
  std::cerr << "[crash_loop] VIOLATION (seed " << seed_ << ") " << message << std::endl;
  violations_.push_back(std::move(message));
}

std::int64_t Ledger::violations() const {
  std::lock_guard lock(mutex_);
  return static_cast<std::int64_t>(violations_.size());
}

std::int64_t Ledger::violations(Broken kind) const {
  std::lock_guard lock(mutex_);
  return violations_by_kind_[static_cast<int>(kind)];
}

std::vector<std::string> Ledger::violation_messages() const {
  std::lock_guard lock(mutex_);
  return violations_;
}

}  // namespace baton::crash
