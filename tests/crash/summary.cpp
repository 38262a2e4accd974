#include "crash/summary.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace baton::crash {

namespace {

using Rows = std::vector<std::pair<std::string, std::int64_t>>;

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// What was done, in the order the table and the JSON show it.
Rows activity(const Figures& f, int cycles_done) {
  return {
      {"cycles", cycles_done},
      {"kills", f.kills},
      {"kills_during_recovery", f.kills_opening_storage + f.kills_recovered_not_listening},
      {"kills_opening_storage", f.kills_opening_storage},
      {"kills_recovered_not_listening", f.kills_recovered_not_listening},
      {"kills_just_listening", f.kills_just_listening},
      {"power_loss_bytes_dropped", f.power_loss_bytes_dropped},
      {"power_loss_files_missing", f.power_loss_files_missing},
      {"creates_sent", f.creates_sent},
      {"creates_acked", f.creates_acked},
      {"creates_unknown", f.creates_unknown},
      {"idempotent_acked", f.idempotent_acked},
      {"idempotent_answers_lost", f.idempotent_answers_lost},
      {"idempotent_sent_after_restart", f.idempotent_sent_after_restart},
      {"idempotent_replayed", f.idempotent_replayed},
      {"creates_sent_twice_at_once", f.concurrent_creates},
      {"claims_acked", f.claims_acked},
      {"claims_empty", f.claims_empty},
      {"claims_unknown", f.claims_unknown},
      {"long_polls_cut", f.long_polls_cut},
      {"completes_acked", f.completes_acked},
      {"completes_unknown", f.completes_unknown},
      {"completes_sent_twice_at_once", f.concurrent_completes},
      {"fails_acked", f.fails_acked},
      {"dead_letters_acked", f.dead_letters_acked},
      {"heartbeats_acked", f.heartbeats_acked},
      {"claims_abandoned", f.abandoned},
      {"answers_refused", f.answers_refused},
      {"claimed_past_lease_max_ms", f.claimed_past_lease_max_ms},
      {"reads_checked", f.reads_checked},
      {"listed_checked", f.listed_checked},
  };
}

Rows violations_by_kind(const Ledger& ledger) {
  Rows rows;
  for (int kind = 0; kind < kBrokenKinds; ++kind) {
    const Broken broken = static_cast<Broken>(kind);
    rows.emplace_back(std::string(broken_name(broken)), ledger.violations(broken));
  }
  return rows;
}

void print_row(std::ostream& out, std::string name, const std::string& value) {
  name.resize(40, ' ');
  out << "  " << name << value << "\n";
}

}  // namespace

void print_progress(std::ostream& out, const Options& options, const Ledger& ledger, int cycle,
                    std::chrono::steady_clock::duration elapsed) {
  const int step = options.cycles >= 100 ? options.cycles / 20 : 1;
  if (cycle % step != 0 && cycle != options.cycles) return;
  const Figures& f = ledger.figures();
  out << "crash_loop: cycle " << cycle << "/" << options.cycles << ": " << f.kills << " kills, "
      << f.creates_acked << " creates and " << f.completes_acked << " completions acknowledged, "
      << ledger.violations() << " violations, " << fixed(seconds(elapsed), 1) << " s" << std::endl;
}

void print_summary(std::ostream& out, const Options& options, const Ledger& ledger, int cycles_done,
                   std::chrono::steady_clock::duration elapsed) {
  const Rows done = activity(ledger.figures(), cycles_done);
  const Rows broken = violations_by_kind(ledger);
  if (options.json) {
    boost::json::object line{{"seed", options.seed},           {"sync", options.sync},
                             {"power_loss", options.power_loss},
                             {"accounts", options.accounts},   {"types", options.types},
                             {"producers", options.producers}, {"workers", options.workers}};
    for (const auto& [name, value] : done) line[name] = value;
    line["violations"] = ledger.violations();
    boost::json::object by_kind;
    for (const auto& [name, value] : broken) by_kind[name] = value;
    line["violations_by_kind"] = std::move(by_kind);
    line["elapsed_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    out << boost::json::serialize(line) << std::endl;
    return;
  }
  out << "crash_loop: seed " << options.seed << ", sync " << options.sync
      << (options.power_loss ? " with power loss" : "") << ", "
      << options.accounts << " accounts x " << options.types << " types, " << options.producers
      << " producers, " << options.workers << " workers\n";
  for (const auto& [name, value] : done) print_row(out, name, std::to_string(value));
  print_row(out, "violations", std::to_string(ledger.violations()));
  for (const auto& [name, value] : broken) print_row(out, "  " + name, std::to_string(value));
  print_row(out, "elapsed_seconds", fixed(seconds(elapsed), 1));
  for (const auto& message : ledger.violation_messages()) out << "VIOLATION " << message << "\n";
  out << std::flush;
}

}  // namespace baton::crash
