#include "core/failures.hpp"

#include <atomic>
#include <cstdio>
#include <string>

namespace baton {

namespace {

std::array<std::atomic<std::uint64_t>, kFailureKinds.size()> counts{};
std::atomic<FailureLog> sink{nullptr};

}  // namespace

std::string_view to_string(Failure kind) {
  switch (kind) {
    case Failure::detached_coroutine: return "detached_coroutine";
    case Failure::expiry_write: return "expiry_write";
    case Failure::storage_rebuild: return "storage_rebuild";
    case Failure::handler_exception: return "handler_exception";
    case Failure::storage_answer: return "storage_answer";
    case Failure::schedule_firing: return "schedule_firing";
    case Failure::dependency_release: return "dependency_release";
  }
  return "unknown";
}

void set_failure_log(FailureLog log) { sink.store(log); }

void note_failure(Failure kind, std::string_view where, std::string_view detail) {
  counts[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  if (FailureLog log = sink.load()) {
    log(kind, where, detail);
    return;
  }
  std::fprintf(stderr, "failure %.*s in %.*s: %.*s\n", static_cast<int>(to_string(kind).size()),
               to_string(kind).data(), static_cast<int>(where.size()), where.data(),
               static_cast<int>(detail.size()), detail.data());
}

std::uint64_t failure_count(Failure kind) {
  return counts[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
}

void NoteFailure::operator()(std::exception_ptr failure) const {
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    note_failure(Failure::detached_coroutine, where, e.what());
  } catch (...) {
    note_failure(Failure::detached_coroutine, where, "an exception not derived from std::exception");
  }
}

}  // namespace baton
