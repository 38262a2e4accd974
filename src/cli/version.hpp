#pragma once
namespace baton {
inline constexpr const char* kBatonVersion = "0.1.0";
}
