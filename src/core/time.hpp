#pragma once
// Wall-clock time in milliseconds since the Unix epoch, and its RFC 3339 form.
// Every persisted time in Baton is absolute wall-clock milliseconds; 0 means "none".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace baton {

using Millis = std::int64_t;

Millis wall_now_ms();
std::int64_t wall_now_us();

// "2026-11-22T10:00:00.000Z"
std::string format_rfc3339(Millis ms);
// The same 24 characters written at `out` (room for kRfc3339Size); returns the end.
inline constexpr std::size_t kRfc3339Size = 24;
char* write_rfc3339(char* out, Millis ms);

// Accepts RFC 3339 with a 'Z' or numeric offset, optional fractional seconds.
std::optional<Millis> parse_rfc3339(std::string_view text);

}  // namespace baton
