#include "core/limits.hpp"

namespace baton {

std::string check_type(std::string_view type) {
  if (type.empty() || type.size() > 100) return "type must be 1 to 100 characters";
  for (char c : type) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return "type may only contain letters, digits, '_' and '-'";
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
