#include "crash/traffic.hpp"

#include <chrono>
#include <exception>

#include "crash/exchange.hpp"

namespace baton::crash {

namespace {

using namespace std::chrono_literals;
using test::js;

// Producers pause while this cycle's acknowledged creates outnumber its acknowledged
// completions and dead letters by this much: the queues stay short, so the work a
// recovery does (and the window a kill during recovery hits) stays the same cycle after
// cycle instead of growing with a backlog.
constexpr std::int64_t kBacklogBound = 80;

// Long polls last up to 2 s; a client's own timeout must not cut them first.
constexpr auto kClientTimeout = 5s;

bool chance(std::mt19937_64& rng, double p) { return std::bernoulli_distribution(p)(rng); }

int pick(std::mt19937_64& rng, int count) {
  return std::uniform_int_distribution<int>(0, count - 1)(rng);
}

int between(std::mt19937_64& rng, int least, int most) {
  return std::uniform_int_distribution<int>(least, most)(rng);
}

}  // namespace

Traffic::Traffic(int port, Ledger& ledger, const Options& options, std::uint64_t seed)
    : port_(port), ledger_(ledger), options_(options) {
  std::mt19937_64 seeds(seed);
  for (int i = 0; i < options_.producers; ++i)
    threads_.emplace_back(
        [this, i, s = seeds()] { run_guarded("producer", i, &Traffic::produce, s); });
  for (int i = 0; i < options_.workers; ++i)
    threads_.emplace_back([this, i, s = seeds()] { run_guarded("worker", i, &Traffic::work, s); });
}

Traffic::~Traffic() { stop(); }

void Traffic::stop() {
  stopping_ = true;
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
}

std::string Traffic::failure() const {
  std::lock_guard lock(failure_mutex_);
  return failure_;
}

void Traffic::run_guarded(const char* role, int index, void (Traffic::*body)(int, std::uint64_t),
                          std::uint64_t seed) {
  try {
    (this->*body)(index, seed);
  } catch (const std::exception& e) {
    std::lock_guard lock(failure_mutex_);
    if (failure_.empty())
      failure_ = std::string(role) + " " + std::to_string(index) + ": " + e.what();
  }
}

void Traffic::pause_after_no_answer(std::mt19937_64& rng) const {
  std::this_thread::sleep_for(std::chrono::milliseconds(between(rng, 3, 12)));
}

// ---------------------------------------------------------------------------------------
// Producers

void Traffic::produce(int /*index*/, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  test::Client client(port_, kClientTimeout);
  Figures& figures = ledger_.figures();
  const auto& keys = ledger_.account_keys();
  const auto& types = ledger_.types();
  // Type i gets a share in proportion to 1/(i+1)^2: the last types' queues are often
  // empty, so workers that claim them park in long polls, which the kills then cut.
  std::vector<double> weights;
  for (std::size_t i = 0; i < types.size(); ++i) weights.push_back(1.0 / double((i + 1) * (i + 1)));
  std::discrete_distribution<int> type_pick(weights.begin(), weights.end());

  while (!stopping_) {
    if (ledger_.cycle_backlog() >= kBacklogBound) {
      std::this_thread::sleep_for(2ms);
      continue;
    }
    SentCreate create;
    create.seq = ledger_.next_seq();
    create.account = pick(rng, static_cast<int>(keys.size()));
    create.type = type_pick(rng);
    json::object payload{{"seq", create.seq}};
    if (chance(rng, 0.4)) {
      create.idempotency_key = "crash-" + std::to_string(create.seq);
      payload["idem"] = create.idempotency_key;
    }
    create.body = js(json::object{{"type", types[create.type]},
                                  {"payload", std::move(payload)},
                                  {"maxAttempts", between(rng, 1, 3)},
                                  {"leaseDurationSeconds", between(rng, 1, 2)},
                                  {"priority", between(rng, 0, 3)}});
    const std::string& key = keys[create.account];
    test::Headers headers;
    if (!create.idempotency_key.empty()) headers["Idempotency-Key"] = create.idempotency_key;
    ledger_.create_sent(create);
    figures.creates_sent++;

    // What an answer does to this create: settles it (a 201, or a refusal a resend cannot
    // change), leaves it unknown (sent, answer lost), or leaves it unsent (no connection).
    enum class Outcome { settled, unknown, not_sent };
    auto outcome_of = [&](const Answered& answer) {
      if (!answer.response) return answer.not_sent ? Outcome::not_sent : Outcome::unknown;
      const test::Response& r = *answer.response;
      if (r.status == 201) {
        ledger_.create_acked(create.seq, r.task_id(), r.body, answer.at);
        return Outcome::settled;
      }
      figures.answers_refused++;
      if (create.idempotency_key.empty()) return Outcome::settled;
      if (r.error() == "idempotency_conflict") {
        ledger_.violation(Broken::idempotent_retry_refused, "seq " + std::to_string(create.seq),
                          "idempotent create (key " + create.idempotency_key +
                              ") sent again with the same body got " + r.describe());
        return Outcome::settled;
      }
      // 503 (in flight, storage unavailable) and the like: the spec says send it again.
      return r.status == 503 ? Outcome::not_sent : Outcome::settled;
    };
    auto send = [&] { return client.create_task(key, create.body, headers); };

    Outcome outcome;
    if (!create.idempotency_key.empty() && chance(rng, 0.15)) {
      figures.concurrent_creates++;
      auto [first, second] =
          twice_at_once(port_, raw_http("POST", "/v1/tasks", key, create.body, headers), send);
      const Outcome a = outcome_of(first), b = outcome_of(second);
      outcome = a == Outcome::settled || b == Outcome::settled   ? Outcome::settled
                : a == Outcome::unknown || b == Outcome::unknown ? Outcome::unknown
                                                                 : Outcome::not_sent;
    } else {
      outcome = outcome_of(exchange(send));
    }
    // Sent again until settled: a create never sent, with or without a key, and one with a
    // key whose answer was lost (the retry the spec makes safe). One still unsettled at
    // stop() is sent by the audit after the restart if it has a key.
    bool answer_lost = false;
    while (outcome != Outcome::settled && !stopping_) {
      if (outcome == Outcome::unknown) {
        if (create.idempotency_key.empty()) {
          figures.creates_unknown++;
          break;
        }
        if (!answer_lost) figures.idempotent_answers_lost++;
        answer_lost = true;
      }
      pause_after_no_answer(rng);
      outcome = outcome_of(exchange(send));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Workers

void Traffic::work(int index, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  test::Client client(port_, kClientTimeout);
  Figures& figures = ledger_.figures();
  const auto& keys = ledger_.account_keys();
  const auto& types = ledger_.types();
  const std::string worker = "crash-worker-" + std::to_string(index);

  while (!stopping_) {
    const int account = pick(rng, static_cast<int>(keys.size()));
    const std::string& key = keys[account];
    json::object claim_body{{"worker_id", worker}};
    const int wait_seconds = std::vector<int>{0, 1, 1, 2}[pick(rng, 4)];
    if (wait_seconds > 0) claim_body["wait_seconds"] = wait_seconds;
    // Without a type the claim takes the best task of any of the account's types.
    if (chance(rng, 0.7)) claim_body["type"] = types[pick(rng, static_cast<int>(types.size()))];

    Answered claimed = exchange([&] { return client.claim(key, js(claim_body)); });
    if (!claimed.response && claimed.not_sent) {
      pause_after_no_answer(rng);
      continue;
    }
    if (!claimed.response) {
      figures.claims_unknown++;
      // Parked, not being handled: a claim is decided in microseconds.
      if (wait_seconds > 0 && claimed.at.answered - claimed.at.sent >= 20ms)
        figures.long_polls_cut++;
      pause_after_no_answer(rng);
      continue;
    }
    const test::Response& cr = *claimed.response;
    if (cr.status != 200) {
      figures.answers_refused++;
      continue;
    }
    if (cr.task_is_null()) {
      figures.claims_empty++;
      continue;
    }
    const std::string id = cr.task_id();
    Claim claim;
    claim.token = cr.task_str("leaseToken");
    claim.attempt = cr.task_int("attemptCount");
    claim.lease_end = test::parse_time(cr.task_str("leaseExpiresAt"));
    claim.answered = claimed.at.answered;
    claim.answered_wall = claimed.at.answered_wall;
    const std::int64_t seq =
        cr.task().at("payload").as_object().at("seq").to_number<std::int64_t>();
    ledger_.claim_acked(account, id, seq, claim, claimed.at);

    const double action = std::uniform_real_distribution<double>(0, 1)(rng);
    if (action < 0.05) {
      figures.abandoned++;  // the lease expires and the task goes back to the queue
      continue;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(between(rng, 0, 3000)));  // "work"

    if (action < 0.20) {
      const bool retryable = chance(rng, 0.7);
      const std::string body = js(json::object{{"lease_token", claim.token},
                                               {"reason", "crash loop says no"},
                                               {"retry_after_seconds", 0},
                                               {"retryable", retryable}});
      ledger_.release_sent(id, claim.token, false);
      Answered failed = exchange([&] { return client.fail(key, id, body); });
      if (!failed.response) continue;
      if (failed.response->status != 200) {
        figures.answers_refused++;
        continue;
      }
      const std::string status = failed.response->task_str("status");
      ledger_.fail_acked(id, claim.token, failed.response->task_int("attemptCount"),
                         status == "dead_letter", failed.at);
      continue;
    }

    if (action < 0.40) {
      const std::string body = js(json::object{{"lease_token", claim.token}});
      Answered beat = exchange([&] { return client.heartbeat(key, id, body); });
      if (beat.response && beat.response->status == 200) {
        ledger_.heartbeat_acked(id, claim.token, beat.response->task_int("attemptCount"),
                                test::parse_time(beat.response->task_str("leaseExpiresAt")),
                                beat.at);
      } else if (beat.response) {
        figures.answers_refused++;
      }
    }

    const json::object result{{"task", id}, {"token", claim.token}, {"worker", worker}};
    const std::string body = js(json::object{{"result", result}, {"lease_token", claim.token}});
    auto record = [&](const Answered& done, const std::string& how) {
      if (!done.response) {
        if (!done.not_sent) figures.completes_unknown++;
        return;
      }
      const test::Response& r = *done.response;
      if (r.status != 200) {
        figures.answers_refused++;
        return;
      }
      if (r.task_str("status") != "completed") {
        ledger_.violation(
            Broken::outcome_lost, id,
            "complete of " + id + " answered 200 without completing it: " + r.describe());
        return;
      }
      ledger_.complete_acked(id, claim.token, r.task_int("attemptCount"), r.task().at("result"),
                             done.at, how);
    };
    auto send = [&] { return client.complete(key, id, body); };
    ledger_.release_sent(id, claim.token, true);
    if (chance(rng, 0.15)) {
      figures.concurrent_completes++;
      auto [first, second] =
          twice_at_once(port_, raw_http("POST", "/v1/tasks/" + id + "/complete", key, body), send);
      record(first, "sent twice at once, first connection's answer");
      record(second, "sent twice at once, second connection's answer");
    } else {
      record(exchange(send), "sent once");
    }
  }
}

}  // namespace baton::crash
