#pragma once
// Failures no request answers for: an exception that ends a coroutine spawned detached,
// a lease expiry whose write failed and is retried, a storage rebuild cut short, an
// exception a handler did not expect, a schedule firing that could not be decided. Each one is logged (through the sink serve
// installs) and counted (/health "failures"), never dropped.
#include <array>
#include <cstdint>
#include <exception>
#include <string_view>

namespace baton {

enum class Failure : std::uint8_t {
  detached_coroutine,  // an exception ended a coroutine spawned detached
  expiry_write,        // a lease expiry could not be written; retried in a second
  storage_rebuild,     // a rebuild after a storage fault failed; retried in a second
  handler_exception,   // an operation threw something unexpected: answered 500
  storage_answer,      // an operation met a storage fault: answered 503
  schedule_firing,     // a schedule's firing could not be decided; it fires again next time
  dependency_release,  // a dependent could not be told its dependency ended; told again later
};
inline constexpr std::array kFailureKinds{Failure::detached_coroutine, Failure::expiry_write,
                                          Failure::storage_rebuild, Failure::handler_exception,
                                          Failure::storage_answer, Failure::schedule_firing,
                                          Failure::dependency_release};

std::string_view to_string(Failure kind);

// Where failures are logged; without one they go to stderr. Set once, before serving.
using FailureLog = void (*)(Failure kind, std::string_view where, std::string_view detail);
void set_failure_log(FailureLog log);

void note_failure(Failure kind, std::string_view where, std::string_view detail);
std::uint64_t failure_count(Failure kind);

// The completion of a coroutine spawned detached: an exception it ends with is noted as
// detached_coroutine, naming `where`.
struct NoteFailure {
  std::string_view where;
  void operator()(std::exception_ptr failure) const;
};

}  // namespace baton
