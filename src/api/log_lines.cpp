#include "api/log_lines.hpp"

#include "api/render.hpp"

namespace baton::api {

void append_log_line(std::string& out, const LogLine& line, std::string_view task_id) {
  out.append("{\"seq\":").append(std::to_string(line.seq));
  out.append(",\"timestamp\":\"").append(format_rfc3339(line.at)).append("\",\"level\":");
  append_json_string(out, line.level);
  out.append(",\"message\":");
  append_json_string(out, line.message);
  if (!line.data_json.empty()) out.append(",\"data\":").append(line.data_json);
  out.append(",\"workerId\":");
  append_json_string_or_null(out, line.worker_id);
  out.append(",\"taskId\":");
  append_json_string(out, task_id);
  out.push_back('}');
}

}  // namespace baton::api
