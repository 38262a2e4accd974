#pragma once
// The release version, shown by `baton version` and GET /health.
namespace baton {
inline constexpr const char* kBatonVersion = "0.1.0";
}
