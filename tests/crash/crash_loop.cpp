// crash_loop: producers and workers against the real server; SIGKILL at random moments,
// also while it recovers; restart; check from the clients' own records that nothing
// acknowledged was lost. docs/reliability.md#crash-loop shows how to run it and a run's
// figures.
//
// What the server promises, and so what is checked (docs/operations.md#durability):
//
//  - sync batch (the default): a change, claims included, is answered once the group write
//    holding it is fsynced; sync always fsyncs each change's own write; sync none fsyncs
//    nothing, and still loses nothing to a kill -9 (the writes are in the OS page cache).
//    So under kill -9, in every mode: NOTHING ACKNOWLEDGED IS LOST, claims and heartbeats
//    included. With --power-loss each kill also drops every byte not fsynced
//    (store/sync_journal.hpp), the clean cut of a power loss: the same holds for batch and
//    always.
//  - A change that was never answered is applied whole or not at all; its client cannot
//    know which. Sent again with the same Idempotency-Key and body it gets the stored
//    answer if it was applied, and a new task is made only if it was not.
//  - Leases run while the server is down; the spec expires a lease within 1 s of its end,
//    so one that ended during the downtime is expired within 1 s of the restart.
//  - A GET may show a change decided but not yet committed, which a crash can lose. Reads
//    are therefore only taken as evidence while no client runs (the audit after a restart),
//    except for check 4 below: a task shown claimed past its deadline is wrong either way.
//  - Long polls and in-flight idempotency marks are not kept across a restart.
//
// Checked (a 2xx received is an acknowledgement; a request whose answer the kill cut is an
// unknown outcome and proves nothing):
//  1. every acknowledged create exists after every restart, with its payload and type, and
//     is in its account's listing at the end;
//  2. every acknowledged completion stays completed with its result; an acknowledged dead
//     letter stays dead_letter;
//  3. no task is completed twice: no two acknowledged completions with different lease
//     tokens, no claim of a task after its acknowledged completion, no completed task whose
//     result no complete request of this tool carried;
//  4. no task is claimed more than 1 s past its lease end (or past the restart, for a lease
//     that ended while the server was down): after each restart, every 50 ms while the
//     traffic runs (one cycle in ten runs long enough for leases to end), and at the end
//     after waiting for every lease to end;
//  5. attemptCount never goes back: between acknowledgements and quiet reads ordered in
//     real time (one sent after the other's answer arrived), the later shows no lower
//     count (this tool never requeues);
//  6. an idempotent create whose answer was lost is sent again (same key, same body) until
//     answered, during the traffic or after the restart; every answer for one key names
//     the same task with the same body (also replays of a sample after each restart, and of
//     all at the end); and no create, idempotent or not, made two tasks (final listing);
//  7. an acknowledged claim is kept: no two acknowledged claims with the same attempt, no
//     claim answered while an earlier acknowledged lease still ran and had not been
//     released by a complete or fail, and a read during such a lease shows it in force,
//     renewed as far as acknowledged heartbeats renewed it.
// Also: a claim only returns the claiming account's tasks, and every task listed was made
// by a create this tool sent.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

#include "crash/audit.hpp"
#include "crash/kills.hpp"
#include "crash/leases.hpp"
#include "crash/ledger.hpp"
#include "crash/options.hpp"
#include "crash/summary.hpp"
#include "crash/traffic.hpp"
#include "integration/harness.hpp"
#include "store/sync_journal.hpp"
#include "support/temp_dir.hpp"

using namespace baton;
using namespace baton::crash;
using namespace std::chrono_literals;

namespace {

// At most this many kills in a row while the server starts, each cycle.
constexpr int kMaxRecoveryKills = 3;

std::vector<std::string> register_accounts(test::TestServer& server, int count) {
  test::Client client = server.client();
  std::vector<std::string> keys;
  for (int i = 0; i < count; ++i) keys.push_back(client.register_key());
  return keys;
}

std::vector<std::string> type_names(int count) {
  std::vector<std::string> types;
  for (int i = 0; i < count; ++i) types.push_back("crash-type-" + std::to_string(i));
  return types;
}

void count_start_kill(Figures& figures, StartStage stage) {
  figures.kills++;
  switch (stage) {
    case StartStage::opening_storage:
      figures.kills_opening_storage++;
      break;
    case StartStage::recovered:
      figures.kills_recovered_not_listening++;
      break;
    case StartStage::listening:
      figures.kills_just_listening++;
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string error;
  std::optional<Options> parsed = parse_options(argc, argv, error);
  if (!parsed) {
    std::cerr << (error.empty() ? "" : "crash_loop: " + error + "\n") << usage();
    return error.empty() ? 0 : 2;
  }
  const Options options = *parsed;
  std::cerr << "crash_loop: seed " << options.seed << ", " << options.cycles << " cycles, sync "
            << options.sync << " (reproduce the plan with --seed " << options.seed << ")"
            << std::endl;

  const auto began = SteadyClock::now();
  std::mt19937_64 rng(options.seed);
  std::optional<Ledger> ledger;
  int cycles_done = 0;
  try {
    test::ServerOptions server_options;
    server_options.with("storage.sync", options.sync)
        .with("log.level", "info");  // kills.cpp reads how far a start had got
    server_options.keep = options.keep;
    std::optional<test::TempDir> journal_dir;
    std::string journal;
    if (options.power_loss) {
      journal_dir.emplace("baton-crash-journal");
      journal = (journal_dir->path / "sync-journal").string();
      server_options.env["BATON_TEST_SYNC_JOURNAL"] = journal;
    }
    // After each kill, before the next start: what a power loss would have left.
    auto lose_power = [&] {
      if (journal.empty()) return;
      PowerLossFigures image = apply_power_loss(journal);
      ledger->figures().power_loss_bytes_dropped += static_cast<std::int64_t>(image.bytes_dropped);
      ledger->figures().power_loss_files_missing += image.missing;
    };
    test::TestServer server(server_options);
    // A first estimate of how long a start takes, for aiming kills inside one.
    auto start_time = server.ready_at() - began;

    ledger.emplace(register_accounts(server, options.accounts), type_names(options.types),
                   options.seed);
    Figures& figures = ledger->figures();
    Audit audit(server.port(), *ledger, rng());

    for (int cycle = 1; cycle <= options.cycles; ++cycle) {
      ledger->begin_cycle(cycle);
      Traffic traffic(server.port(), *ledger, options, rng());
      LeaseWatch lease_watch(server.port(), *ledger, server.ready_at_wall());
      const bool long_run = std::bernoulli_distribution(options.long_run_chance)(rng);
      const int run_ms = long_run ? std::uniform_int_distribution<int>(1500, 3000)(rng)
                                  : std::uniform_int_distribution<int>(options.min_run_ms,
                                                                       options.max_run_ms)(rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(run_ms));
      lease_watch.stop();
      server.kill9();
      figures.kills++;
      lose_power();
      // The traffic keeps trying meanwhile, so requests also reach a server that has just
      // begun listening when the next kill comes.
      for (int k = 0;
           k < kMaxRecoveryKills && std::bernoulli_distribution(options.recovery_kill_chance)(rng);
           ++k) {
        const auto aim = std::chrono::duration_cast<std::chrono::microseconds>(start_time);
        const auto delay = std::chrono::microseconds(
            std::uniform_int_distribution<std::int64_t>(0, aim.count())(rng));
        count_start_kill(figures, kill_while_starting(server, delay));
        lose_power();
      }
      // Stopped before the restart: a long poll sent to the restarted server would hold
      // the check back for up to its wait.
      traffic.request_stop();
      const auto restarting = SteadyClock::now();
      server.restart();
      // A moving average: a start grows slower as the data grows, and varies with load.
      start_time = (start_time * 3 + (server.ready_at() - restarting)) / 4;
      traffic.stop();
      if (std::string failure = traffic.failure(); !failure.empty())
        throw std::runtime_error("the traffic stopped: " + failure);
      audit.after_restart(server.ready_at_wall());
      cycles_done = cycle;
      print_progress(std::cerr, options, *ledger, cycle, SteadyClock::now() - began);
    }
    audit.final(server.ready_at_wall());
    server.stop();  // SIGTERM; throws unless it exits 0
  } catch (const std::exception& e) {
    std::cerr << "crash_loop: run failed in cycle " << cycles_done + 1 << " (seed " << options.seed
              << "): " << e.what() << std::endl;
    if (ledger) print_summary(std::cout, options, *ledger, cycles_done, SteadyClock::now() - began);
    return 3;
  }
  print_summary(std::cout, options, *ledger, cycles_done, SteadyClock::now() - began);
  return ledger->violations() == 0 ? 0 : 1;
}
