#pragma once
// The crash loop's figures: a progress line on stderr now and then, and the summary at
// the end (a table, or one JSON line with --json).
#include <chrono>
#include <ostream>

#include "crash/ledger.hpp"
#include "crash/options.hpp"

namespace baton::crash {

void print_progress(std::ostream& out, const Options& options, const Ledger& ledger, int cycle,
                    std::chrono::steady_clock::duration elapsed);
void print_summary(std::ostream& out, const Options& options, const Ledger& ledger, int cycles_done,
                   std::chrono::steady_clock::duration elapsed);

}  // namespace baton::crash
