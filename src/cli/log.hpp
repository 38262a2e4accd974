#pragma once
// Start-up and shutdown messages on stderr, as JSON lines or plain text (log.format).
#include <string>
#include <string_view>

namespace baton {

enum class LogLevel { debug, info, warn, error };

void configure_log(std::string_view level, std::string_view format);
void log(LogLevel level, std::string_view message, std::string_view detail = {});

}  // namespace baton
