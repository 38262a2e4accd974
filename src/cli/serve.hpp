#pragma once
// `baton serve`: opens storage, recovers, starts one shard per core with its listener,
// and runs until SIGTERM / SIGINT, then shuts down gracefully. Returns the exit code.
#include "config/config.hpp"

namespace baton {

// `config_path` ("" when none) is read again on SIGHUP for the plans and rate limits.
int serve(const Config& config, const std::string& config_path = {});

}  // namespace baton
