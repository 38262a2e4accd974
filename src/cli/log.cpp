#include "cli/log.hpp"

#include <cstdio>
#include <mutex>

#include "core/time.hpp"

namespace baton {

namespace {

LogLevel g_threshold = LogLevel::info;
bool g_json = true;
std::mutex g_mutex;  // start-up, shutdown and faults: never on a healthy request's path

const char* name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
      out.append(buffer);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void configure_log(std::string_view level, std::string_view format) {
  g_json = format != "text";
  if (level == "debug") g_threshold = LogLevel::debug;
  else if (level == "warn") g_threshold = LogLevel::warn;
  else if (level == "error") g_threshold = LogLevel::error;
  else g_threshold = LogLevel::info;
}

void log(LogLevel level, std::string_view message, std::string_view detail) {
  if (level < g_threshold) return;
  std::lock_guard lock(g_mutex);
  std::string time = format_rfc3339(wall_now_ms());
  if (g_json) {
    std::fprintf(stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"%s%s%s}\n", time.c_str(),
                 name(level), escape(message).c_str(), detail.empty() ? "" : ",\"detail\":\"",
                 escape(detail).c_str(), detail.empty() ? "" : "\"");
  } else {
    std::fprintf(stderr, "%s %s %.*s%s%.*s\n", time.c_str(), name(level),
                 static_cast<int>(message.size()), message.data(), detail.empty() ? "" : ": ",
                 static_cast<int>(detail.size()), detail.data());
  }
  std::fflush(stderr);
}

}  // namespace baton
