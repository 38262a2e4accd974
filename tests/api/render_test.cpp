#define BOOST_TEST_MODULE render
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>

#include <iterator>
#include <string>
#include <string_view>

#include "api/render.hpp"

using namespace baton;
using namespace baton::api;

namespace {

std::string quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(plain_text_is_only_quoted) {
  BOOST_TEST(quoted("abc") == "\"abc\"");
  BOOST_TEST(quoted("") == "\"\"");
}

BOOST_AUTO_TEST_CASE(quotes_backslashes_and_controls_are_escaped) {
  BOOST_TEST(quoted("a\"b") == "\"a\\\"b\"");
  BOOST_TEST(quoted("a\\b") == "\"a\\\\b\"");
  BOOST_TEST(quoted("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
  BOOST_TEST(quoted(std::string_view("\x01\x1f\0", 3)) == "\"\\u0001\\u001f\\u0000\"");
}

BOOST_AUTO_TEST_CASE(every_string_round_trips_through_a_json_parser) {
  std::string all;
  for (int c = 1; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80";  // UTF-8 passes through untouched
  auto value = boost::json::parse(quoted(all));
  BOOST_TEST(std::string(value.as_string()) == all);
}

BOOST_AUTO_TEST_CASE(escapes_are_found_at_every_position_of_long_strings) {
  // Clean 8-byte runs are skipped at once: put each special byte at every position of
  // strings around that width, among UTF-8 sequences and bytes just above the specials.
  const std::string_view units[] = {"a", "\xC3\xA9", "#", "\x7f", "\xE2\x82\xAC", "]", " ", "z"};
  for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\0'}) {
    for (std::size_t count = 1; count <= 40; ++count) {
      for (std::size_t at = 0; at < count; ++at) {
        std::string text;
        for (std::size_t u = 0; u < count; ++u) {
          if (u == at) {
            text.push_back(special);
          } else {
            text += units[u % std::size(units)];
          }
        }
        BOOST_TEST_CONTEXT("byte " << int(special) << " at unit " << at << " of " << count) {
          auto value = boost::json::parse(quoted(text));
          BOOST_TEST(std::string(value.as_string()) == text);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(task_body_is_json_and_hides_the_lease_token_unless_asked) {
  Task task;
  task.id = "tsk_01KDXK4M000000000000000000";
  task.account_id = "acct_x";
  task.type = "t";
  task.payload_json = "{\"k\":[1,\"two\"]}";
  task.status = TaskStatus::claimed;
  task.lease_token = "lse_abc";
  task.claimed_by = "w\"1";
  task.lease_expires_at = 10'000;
  task.created_at = task.updated_at = 1'000;
  auto hidden = boost::json::parse(task_body(task, 1'000, ContractSite::other, TaskView{}));
  BOOST_TEST(!hidden.at("task").as_object().contains("leaseToken"));
  BOOST_TEST(hidden.at("task").at("payload").at("k").at(1).as_string() == "two");
  BOOST_TEST(hidden.at("task").at("claimedBy").as_string() == "w\"1");
  BOOST_TEST(hidden.at("agent_contract").at("lease_expires_in_seconds").as_int64() == 9);
  auto shown = boost::json::parse(task_body(task, 1'000, ContractSite::claim, TaskView{true}));
  BOOST_TEST(shown.at("task").at("leaseToken").as_string() == "lse_abc");
  BOOST_TEST(shown.at("task").at("leaseExpiresAt").as_string() == "1970-01-01T00:00:10.000Z");
}

BOOST_AUTO_TEST_CASE(error_body_carries_code_message_request_id_and_contract) {
  auto body = boost::json::parse(
      error_body(ErrorCode::lease_expired, "gone \"now\"", "req_1", "tsk_1"));
  BOOST_TEST(body.at("error").as_string() == "lease_expired");
  BOOST_TEST(body.at("message").as_string() == "gone \"now\"");
  BOOST_TEST(body.at("request_id").as_string() == "req_1");
  BOOST_TEST(body.at("agent_contract").at("next_actions").as_array().size() >= 1u);
}

// Answers are written into room sized from an upper bound: the worst case (every byte of
// every string escaped as \u00XX) and bodies larger than the per-thread scratch buffer
// must come out whole and parse back to what went in.
BOOST_AUTO_TEST_CASE(worst_case_escaping_and_large_bodies_fit_their_bound) {
  const std::string controls(300, '\x01');
  std::string big_payload = "[";
  for (int i = 0; i < 9000; ++i) big_payload += (i ? ",\"abcdef\"" : "\"abcdef\"");
  big_payload += "]";  // ~90 KB: past the 32 KB scratch buffer
  for (const std::string& payload : {std::string("{}"), big_payload}) {
    Task task;
    task.id = "tsk_" + controls;
    task.type = controls;
    task.payload_json = payload;
    task.result_json = payload;
    task.output_id = controls;
    task.status = TaskStatus::completed;
    task.claimed_by = controls;
    task.lease_token = controls;
    task.failure_reason = controls + "\"\\";
    task.created_at = task.updated_at = task.completed_at = 1'000;
    for (auto site : {ContractSite::claim, ContractSite::other}) {
      auto body = boost::json::parse(task_body(task, 2'000, site, TaskView{true}));
      const auto& t = body.at("task");
      BOOST_TEST(std::string(t.at("type").as_string()) == controls);
      BOOST_TEST(std::string(t.at("claimedBy").as_string()) == controls);
      BOOST_TEST(std::string(t.at("leaseToken").as_string()) == controls);
      BOOST_TEST(std::string(t.at("failureReason").as_string()) == controls + "\"\\");
      BOOST_TEST(t.at("payload").is_array() == (payload != "{}"));
      if (payload != "{}") BOOST_TEST(t.at("result").as_array().size() == 9000u);
      BOOST_TEST(t.at("completedAt").as_string() == "1970-01-01T00:00:01.000Z");
    }
  }
  std::string out = "prefix:";
  append_json_string(out, std::string(40000, '\n'));  // also past the scratch buffer
  BOOST_TEST(out.size() == 7 + 2 + 80000u);
  BOOST_TEST(out.compare(0, 10, "prefix:\"\\n") == 0);
}
