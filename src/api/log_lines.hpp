#pragma once
// A task's log line as JSON, for reads and for live streams alike:
// {"seq", "timestamp" (RFC 3339), "level", "message", "data"?, "workerId", "taskId"}.
#include <string>
#include <string_view>

#include "core/log_line.hpp"

namespace baton::api {

void append_log_line(std::string& out, const LogLine& line, std::string_view task_id);

}  // namespace baton::api
