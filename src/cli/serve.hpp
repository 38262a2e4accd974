#pragma once
// `baton serve`: opens storage, recovers, starts one shard per core with its listener,
// and runs until SIGTERM / SIGINT, then shuts down gracefully. Returns the exit code.
#include "config/config.hpp"

namespace baton {

int serve(const Config& config);

}  // namespace baton
