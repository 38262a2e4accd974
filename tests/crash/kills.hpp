#pragma once
// Kills that land while the server starts: it is started without waiting for /health and
// SIGKILLed after a delay; its log since that start tells how far it had got.
#include <chrono>

#include "integration/harness.hpp"

namespace baton::crash {

enum class StartStage {
  // Before "storage opened and recovered": RocksDB replaying its WAL, the engine rebuilding.
  opening_storage,
  recovered,  // recovered, not yet "listening"
  listening,  // listening: requests may have been answered
};

// The server must not be running. Afterwards it is not running either.
StartStage kill_while_starting(test::TestServer& server, std::chrono::microseconds delay);

}  // namespace baton::crash
