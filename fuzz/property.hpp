#pragma once
// A fuzz target's property check: a failure prints what broke and aborts, which libFuzzer
// records as a crash (with the input) and the replay test reports as a failure.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace baton::fuzz {

[[noreturn]] inline void broken(std::string_view property, std::string_view detail = {}) {
  std::fprintf(stderr, "property broken: %.*s\n%.*s\n", static_cast<int>(property.size()),
               property.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

inline void expect(bool holds, std::string_view property, std::string_view detail = {}) {
  if (!holds) broken(property, detail);
}

}  // namespace baton::fuzz
