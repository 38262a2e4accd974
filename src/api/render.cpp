#include "api/render.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace baton::api {

namespace {

// True when one of the 8 bytes is a control character, '"' or '\\' (SWAR: a byte below
// 0x20, or equal to either, sets its high bit; bytes >= 0x80 never do, except as a
// borrow above a real hit, and a false alarm only sends the chunk to the slow path).
bool needs_escape(std::uint64_t chunk) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  std::uint64_t below_space = (chunk - 0x20 * kOnes) & ~chunk & kHigh;
  return (below_space | has_zero(chunk ^ ('"' * kOnes)) | has_zero(chunk ^ ('\\' * kOnes))) != 0;
}

}  // namespace

// Every string of every answer goes through here, so it writes in place rather than
// through boost::json::serialize (a temporary string per call), and skips clean 8-byte
// runs at once. Input is valid UTF-8 (it came through Boost.JSON's parser or from Baton
// itself); only '"', '\\' and control characters need escaping.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t clean_from = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      std::uint64_t chunk;
      std::memcpy(&chunk, text.data() + i, 8);
      if (!needs_escape(chunk)) {
        i += 8;
        continue;
      }
    }
    unsigned char c = static_cast<unsigned char>(text[i++]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + clean_from, i - 1 - clean_from);
    clean_from = i;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(text.data() + clean_from, text.size() - clean_from);
  out.push_back('"');
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  return out;
}

namespace {

// Names are literals: their length is known at compile time, so no strlen per key.
void key(std::string& out, std::string_view name) {
  out.push_back('"');
  out.append(name);
  out.append("\":");
}

// Integers without std::to_string's temporary string.
void append_int(std::string& out, long long value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

void time_or_null(std::string& out, Millis ms) {
  if (ms == 0) {
    out.append("null");
  } else {
    out.push_back('"');
    out.append(format_rfc3339(ms));
    out.push_back('"');
  }
}

void string_or_null(std::string& out, const std::optional<std::string>& text) {
  if (text) {
    append_json_string(out, *text);
  } else {
    out.append("null");
  }
}

}  // namespace

void append_task(std::string& out, const Task& t, TaskView view) {
  out.push_back('{');
  key(out, "id"); append_json_string(out, t.id); out.push_back(',');
  key(out, "type"); append_json_string(out, t.type); out.push_back(',');
  key(out, "status"); append_json_string(out, to_string(t.status)); out.push_back(',');
  key(out, "payload"); out.append(t.payload_json); out.push_back(',');
  key(out, "result"); out.append(t.result_json ? *t.result_json : "null"); out.push_back(',');
  key(out, "outputId"); string_or_null(out, t.output_id); out.push_back(',');
  key(out, "priority"); append_int(out, t.priority); out.push_back(',');
  key(out, "maxAttempts"); append_int(out, t.max_attempts); out.push_back(',');
  key(out, "attemptCount"); append_int(out, t.attempt_count); out.push_back(',');
  key(out, "leaseDurationSeconds"); append_int(out, t.lease_duration_seconds);
  out.push_back(',');
  bool claimed = t.status == TaskStatus::claimed;
  key(out, "leaseExpiresAt"); time_or_null(out, claimed ? t.lease_expires_at : 0); out.push_back(',');
  key(out, "claimedBy");
  string_or_null(out, t.claimed_by.empty() ? std::nullopt : std::optional<std::string>(t.claimed_by));
  out.push_back(',');
  if (view.with_lease_token) {
    key(out, "leaseToken"); append_json_string(out, t.lease_token); out.push_back(',');
  }
  key(out, "scheduledAt"); time_or_null(out, t.scheduled_at); out.push_back(',');
  key(out, "failureReason"); string_or_null(out, t.failure_reason); out.push_back(',');
  key(out, "createdAt"); time_or_null(out, t.created_at); out.push_back(',');
  key(out, "updatedAt"); time_or_null(out, t.updated_at); out.push_back(',');
  key(out, "completedAt"); time_or_null(out, t.completed_at);
  out.push_back('}');
}

void append_contract(std::string& out, const Contract& c) {
  out.append("{\"version\":\"1\",\"retryable\":");
  out.append(c.retryable ? "true" : "false");
  out.append(",\"next_actions\":[");
  bool first = true;
  for (const NextAction& a : c.next_actions) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('{');
    key(out, "action"); append_json_string(out, to_string(a.action));
    out.append(",\"available\":true,\"recommended\":");
    out.append(a.recommended ? "true" : "false");
    if (!a.description.empty()) {
      out.push_back(',');
      key(out, "description"); append_json_string(out, a.description);
    }
    if (!a.method.empty()) {
      out.push_back(',');
      key(out, "method"); append_json_string(out, a.method);
      out.push_back(',');
      key(out, "endpoint"); append_json_string(out, a.endpoint);
    }
    if (a.retry_after_seconds) {
      out.push_back(',');
      key(out, "retry_after_seconds"); append_int(out, *a.retry_after_seconds);
    }
    if (a.output_id) {
      out.push_back(',');
      key(out, "output_id"); append_json_string(out, *a.output_id);
    }
    out.push_back('}');
  }
  out.push_back(']');
  if (c.task_claimable) {
    out.push_back(',');
    key(out, "task_claimable"); out.append(*c.task_claimable ? "true" : "false");
  }
  if (c.lease_valid) {
    out.push_back(',');
    key(out, "lease_valid"); out.append(*c.lease_valid ? "true" : "false");
  }
  if (c.lease_expires_in_seconds) {
    out.push_back(',');
    key(out, "lease_expires_in_seconds"); append_int(out, *c.lease_expires_in_seconds);
  }
  if (c.recommended_heartbeat_interval_seconds) {
    out.push_back(',');
    key(out, "recommended_heartbeat_interval_seconds");
    append_int(out, *c.recommended_heartbeat_interval_seconds);
  }
  out.push_back('}');
}

std::string task_body(const Task& task, Millis now, ContractSite site, TaskView view) {
  std::string out;
  out.reserve(512 + task.payload_json.size() + (task.result_json ? task.result_json->size() : 0));
  out.append("{\"task\":");
  append_task(out, task, view);
  out.append(",\"agent_contract\":");
  append_contract(out, contract_for_task(task, now, site));
  out.push_back('}');
  return out;
}

std::string empty_claim_body(int retry_after_seconds) {
  std::string out = "{\"task\":null,\"agent_contract\":";
  append_contract(out, contract_for_empty_claim(retry_after_seconds));
  out.push_back('}');
  return out;
}

std::string error_body(std::string_view code, std::string_view message,
                       std::string_view request_id, const Contract& contract) {
  std::string out = "{\"error\":";
  append_json_string(out, code);
  out.append(",\"message\":");
  append_json_string(out, message);
  out.append(",\"request_id\":");
  append_json_string(out, request_id);
  out.append(",\"agent_contract\":");
  append_contract(out, contract);
  out.push_back('}');
  return out;
}

std::string error_body(ErrorCode code, std::string_view message, std::string_view request_id,
                       const std::string& task_id, int retry_after_seconds) {
  return error_body(error_info(code).name, message, request_id,
                    contract_for_error(code, task_id, retry_after_seconds));
}

}  // namespace baton::api
