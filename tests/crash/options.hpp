#pragma once
// The crash loop's command line (see crash_loop.cpp for what the tool checks).
#include <cstdint>
#include <optional>
#include <string>

namespace baton::crash {

struct Options {
  int cycles = 10;
  std::uint64_t seed = 0;  // drawn at start (and printed) when not given
  bool seed_given = false;
  std::string sync = "batch";  // batch | always | none
  int accounts = 3;
  int types = 3;
  int producers = 3;
  int workers = 5;
  // Each cycle's traffic runs this long before the kill (a uniform draw, in ms).
  int min_run_ms = 50;
  int max_run_ms = 400;
  // The chance that a cycle runs 1.5 to 3 s instead: long enough for leases taken in it to
  // end and be expired while that server runs (a restart moves the expiry deadline of a
  // lease that ended meanwhile to 1 s after it, so short cycles never reach one).
  double long_run_chance = 0.1;
  // Each cycle, the chance of one more kill while the restarted server recovers (drawn
  // again after each such kill, at most 3 in a row).
  double recovery_kill_chance = 0.4;
  // Each kill is a power loss: the data directory keeps only what was fsynced
  // (store/sync_journal.hpp) before the restart. Not with sync none, which fsyncs nothing.
  bool power_loss = false;
  bool json = false;  // one JSON line of figures at the end instead of the table
  bool keep = false;  // keep the server's directory (data, config, log)
};

// The options, or nullopt with the reason in `error` (also for --help, with error "").
std::optional<Options> parse_options(int argc, char** argv, std::string& error);
std::string usage();

}  // namespace baton::crash
