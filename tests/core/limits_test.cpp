#define BOOST_TEST_MODULE limits
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/limits.hpp"

// Field validators (spec sections 3-5): each at its bounds, just inside and just outside.
// A validator returns "" when the value is fine, else a message naming the field.

using namespace baton;

namespace {

const TaskLimits kDefaults{};

bool ok(const std::string& message) { return message.empty(); }

// A rejection must name the field so the 400 tells the agent what to fix.
bool names(const std::string& message, std::string_view field) {
  return message.find(field) != std::string::npos;
}

constexpr std::int64_t kMin64 = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax64 = std::numeric_limits<std::int64_t>::max();

}  // namespace

BOOST_AUTO_TEST_CASE(default_limits_are_the_spec_values) {
  BOOST_TEST(kDefaults.max_payload_bytes == 65536);
  BOOST_TEST(kDefaults.max_depth == 32);
  BOOST_TEST(kDefaults.default_max_attempts == 3);
  BOOST_TEST(kDefaults.min_max_attempts == 1);
  BOOST_TEST(kDefaults.max_max_attempts == 100);
  BOOST_TEST(kDefaults.lease_min_seconds == 30);
  BOOST_TEST(kDefaults.lease_max_seconds == 3600);
  BOOST_TEST(kDefaults.lease_default_seconds == 300);
  BOOST_TEST(kDefaults.max_schedule_ahead_seconds == 30LL * 24 * 3600);
  BOOST_TEST(kDefaults.max_wait_seconds == 30);
  BOOST_TEST(kDefaults.max_reason_chars == 500);
  BOOST_TEST(kDefaults.max_idempotency_key_chars == 255);
}

// ---- type ------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(type)

BOOST_AUTO_TEST_CASE(type_of_1_to_100_chars_is_accepted) {
  BOOST_TEST(ok(check_type("a")));
  BOOST_TEST(ok(check_type(std::string(100, 'x'))));
  BOOST_TEST(ok(check_type(std::string(99, 'x'))));
  BOOST_TEST(ok(check_type("process_document")));
}

BOOST_AUTO_TEST_CASE(empty_type_or_101_chars_is_rejected) {
  BOOST_TEST(names(check_type(""), "type"));
  BOOST_TEST(names(check_type(std::string(101, 'x')), "type"));
  BOOST_TEST(!ok(check_type(std::string(1000, 'x'))));
}

BOOST_AUTO_TEST_CASE(type_accepts_exactly_letters_digits_underscore_and_dash) {
  for (int c = 0; c < 256; ++c) {
    char ch = static_cast<char>(c);
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-';
    std::string type = std::string("ab") + ch + "cd";
    BOOST_TEST_CONTEXT("byte " << c) { BOOST_TEST(ok(check_type(type)) == allowed); }
  }
  BOOST_TEST(ok(check_type("AZaz09_-")));
  BOOST_TEST(ok(check_type("-")));
  BOOST_TEST(ok(check_type("_")));
}

BOOST_AUTO_TEST_CASE(type_rejects_spaces_dots_slashes_and_unicode) {
  for (std::string_view bad : {"a b", "a.b", "a/b", "caf\xc3\xa9", "a:b", " a", "a\n", "tab\t"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(names(check_type(bad), "type")); }
  }
}

BOOST_AUTO_TEST_CASE(type_length_counts_bytes_not_just_allowed_ones) {
  // 100 valid chars plus one invalid one is too long or invalid: rejected either way.
  BOOST_TEST(!ok(check_type(std::string(100, 'x') + ".")));
}

BOOST_AUTO_TEST_SUITE_END()

// Field bounds are checked by api/input.cpp against the operation table: tests/api/input_test.

BOOST_AUTO_TEST_SUITE(strings)

BOOST_AUTO_TEST_CASE(utf8_length_counts_code_points) {
  BOOST_TEST(utf8_length("") == 0U);
  BOOST_TEST(utf8_length("abc") == 3U);
  BOOST_TEST(utf8_length("\xc3\xa9") == 1U);          // é
  BOOST_TEST(utf8_length("\xe2\x82\xac") == 1U);      // €
  BOOST_TEST(utf8_length("\xf0\x9f\x98\x80") == 1U);  // 😀
  BOOST_TEST(utf8_length("a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80") == 6U);
  BOOST_TEST(utf8_length(std::string_view("a\0b", 3)) == 3U);
  BOOST_TEST(utf8_length("\x7f") == 1U);
}

BOOST_AUTO_TEST_SUITE_END()

// ---- idempotency keys ----------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(idempotency_key)

BOOST_AUTO_TEST_CASE(idempotency_key_of_1_to_255_printable_chars_is_accepted) {
  BOOST_TEST(ok(check_idempotency_key("k", kDefaults)));
  BOOST_TEST(ok(check_idempotency_key(std::string(255, 'k'), kDefaults)));
  BOOST_TEST(ok(check_idempotency_key(std::string(254, 'k'), kDefaults)));
  BOOST_TEST(ok(check_idempotency_key("order-42 retry #1 {x:y}", kDefaults)));
  BOOST_TEST(ok(check_idempotency_key("~!@#$%^&*()_+`-=[]\\;',./{}|:\"<>?", kDefaults)));
}

BOOST_AUTO_TEST_CASE(idempotency_key_empty_or_256_chars_is_rejected) {
  BOOST_TEST(names(check_idempotency_key("", kDefaults), "Idempotency-Key"));
  BOOST_TEST(names(check_idempotency_key(std::string(256, 'k'), kDefaults), "Idempotency-Key"));
  BOOST_TEST(!ok(check_idempotency_key(std::string(10'000, 'k'), kDefaults)));
}

BOOST_AUTO_TEST_CASE(idempotency_key_accepts_exactly_printable_ascii) {
  for (int c = 0; c < 256; ++c) {
    bool printable = c >= 0x20 && c <= 0x7e;
    std::string key = std::string("key") + static_cast<char>(c) + "x";
    BOOST_TEST_CONTEXT("byte " << c) {
      BOOST_TEST(ok(check_idempotency_key(key, kDefaults)) == printable);
      BOOST_TEST(is_printable_ascii(key) == printable);
    }
  }
}

BOOST_AUTO_TEST_CASE(idempotency_key_rejects_utf8_control_and_delete) {
  BOOST_TEST(!ok(check_idempotency_key("caf\xc3\xa9", kDefaults)));
  BOOST_TEST(!ok(check_idempotency_key("a\tb", kDefaults)));
  BOOST_TEST(!ok(check_idempotency_key("a\r\nb", kDefaults)));
  BOOST_TEST(!ok(check_idempotency_key("a\x7f", kDefaults)));
  BOOST_TEST(!ok(check_idempotency_key(std::string_view("a\0b", 3), kDefaults)));
}

BOOST_AUTO_TEST_CASE(idempotency_key_length_follows_the_config) {
  TaskLimits limits;
  limits.max_idempotency_key_chars = 8;
  BOOST_TEST(ok(check_idempotency_key("12345678", limits)));
  BOOST_TEST(!ok(check_idempotency_key("123456789", limits)));
}

BOOST_AUTO_TEST_CASE(printable_ascii_of_empty_text_is_true) {
  BOOST_TEST(is_printable_ascii(""));
  BOOST_TEST(is_printable_ascii(" "));
  BOOST_TEST(is_printable_ascii("~"));
}

BOOST_AUTO_TEST_SUITE_END()
