#include "core/limits.hpp"

namespace baton {

namespace {

std::string range_message(const char* field, std::int64_t low, std::int64_t high) {
  return std::string(field) + " must be an integer from " + std::to_string(low) + " to " +
         std::to_string(high);
}

std::string check_range(const char* field, std::int64_t value, std::int64_t low,
                        std::int64_t high) {
  if (value < low || value > high) return range_message(field, low, high);
  return {};
}

}  // namespace

std::string check_type(std::string_view type) {
  if (type.empty() || type.size() > 100) return "type must be 1 to 100 characters";
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return "type may only contain letters, digits, '_' and '-'";
  }
  return {};
}

std::string check_priority(std::int64_t priority) {
  return check_range("priority", priority, 0, 100);
}

std::string check_max_attempts(std::int64_t value, const TaskLimits& limits) {
  return check_range("maxAttempts", value, limits.min_max_attempts, limits.max_max_attempts);
}

std::string check_lease_seconds(std::int64_t value, const TaskLimits& limits) {
  return check_range("leaseDurationSeconds", value, limits.lease_min_seconds,
                     limits.lease_max_seconds);
}

std::string check_wait_seconds(std::int64_t value, const TaskLimits& limits) {
  return check_range("wait_seconds", value, 0, limits.max_wait_seconds);
}

std::string check_delay_seconds(std::int64_t value, const TaskLimits& limits) {
  return check_range("delaySeconds", value, 0, limits.max_schedule_ahead_seconds);
}

std::string check_retry_after_seconds(std::int64_t value, const TaskLimits& limits) {
  return check_range("retry_after_seconds", value, 0, limits.max_retry_after_seconds);
}

std::string check_worker_id(std::string_view worker_id, const TaskLimits& limits) {
  if (utf8_length(worker_id) > static_cast<std::size_t>(limits.max_worker_id_chars)) {
    return "worker_id must be at most " + std::to_string(limits.max_worker_id_chars) +
           " characters";
  }
  return {};
}

std::string check_reason(std::string_view reason, const TaskLimits& limits) {
  if (utf8_length(reason) > static_cast<std::size_t>(limits.max_reason_chars)) {
    return "reason must be at most " + std::to_string(limits.max_reason_chars) + " characters";
  }
  return {};
}

std::string check_idempotency_key(std::string_view key, const TaskLimits& limits) {
  if (key.empty() || key.size() > static_cast<std::size_t>(limits.max_idempotency_key_chars) ||
      !is_printable_ascii(key)) {
    return "Idempotency-Key must be 1 to " + std::to_string(limits.max_idempotency_key_chars) +
           " printable ASCII characters";
  }
  return {};
}

bool is_printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

}  // namespace baton
