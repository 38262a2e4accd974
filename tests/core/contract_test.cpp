#define BOOST_TEST_MODULE contract
#include <boost/test/unit_test.hpp>

#include "support/spec_errors.hpp"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/contract.hpp"
#include "core/errors.hpp"
#include "core/task.hpp"

// The agent_contract (spec section 7) and the error catalog (spec section 8).

using namespace baton;

namespace {

constexpr Millis kNow = 1'767'225'600'000;  // 2026-01-01T00:00:00.000Z
const std::string kId = "tsk_01KDXK4M000000000000000000";

Task task_in(TaskStatus status) {
  Task t;
  t.id = kId;
  t.account_id = "acct_01KDXK4M000000000000000000";
  t.type = "render";
  t.payload_json = "{}";
  t.status = status;
  t.created_at = kNow - 60'000;
  t.updated_at = kNow - 60'000;
  if (status != TaskStatus::pending) {
    t.attempt_count = 1;
    t.claimed_by = "w1";
    t.lease_token = "lse_1";
  }
  if (status == TaskStatus::claimed) t.lease_expires_at = kNow + 300'000;
  if (status == TaskStatus::completed) t.completed_at = kNow - 1'000;
  return t;
}

std::string name(ActionCode code) { return std::string(to_string(code)); }

int recommended_count(const Contract& c) {
  int n = 0;
  for (const NextAction& a : c.next_actions) n += a.recommended ? 1 : 0;
  return n;
}

// The action code of the single recommended action ("" when there is not exactly one).
std::string recommended(const Contract& c) {
  if (recommended_count(c) != 1) return "";
  for (const NextAction& a : c.next_actions) {
    if (a.recommended) return name(a.action);
  }
  return "";
}

const NextAction* find_action(const Contract& c, ActionCode code) {
  for (const NextAction& a : c.next_actions) {
    if (a.action == code) return &a;
  }
  return nullptr;
}

bool offers(const Contract& c, ActionCode code) { return find_action(c, code) != nullptr; }

// Invariants every contract keeps: at least one action, exactly one recommended, every
// retry_after_wait carries whole seconds >= 1 (and only it and the claim_task of a task
// scheduled later carry any), only download_artifact carries output_id.
void check_invariants(const Contract& c) {
  BOOST_TEST(!c.next_actions.empty());
  BOOST_TEST(recommended_count(c) == 1);
  for (const NextAction& a : c.next_actions) {
    BOOST_TEST_CONTEXT("action " << name(a.action)) {
      if (a.action == ActionCode::retry_after_wait) {
        BOOST_TEST(a.retry_after_seconds.has_value());
        BOOST_TEST(a.retry_after_seconds.value_or(0) >= 1);
      } else if (a.action == ActionCode::claim_task && a.retry_after_seconds) {
        BOOST_TEST(*a.retry_after_seconds >= 1);
      } else {
        BOOST_TEST(!a.retry_after_seconds.has_value());
      }
      if (a.action != ActionCode::download_artifact) BOOST_TEST(!a.output_id.has_value());
      BOOST_TEST(a.method.empty() == a.endpoint.empty());
    }
  }
}

}  // namespace

// ---- contract_for_task ---------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(task_contracts)

BOOST_AUTO_TEST_CASE(pending_due_task_recommends_claim_task) {
  for (ContractSite site : {ContractSite::claim, ContractSite::other}) {
    Contract c = contract_for_task(task_in(TaskStatus::pending), kNow, site);
    BOOST_TEST(recommended(c) == "claim_task");
    const NextAction* claim = find_action(c, ActionCode::claim_task);
    BOOST_REQUIRE(claim);
    BOOST_TEST(claim->method == "POST");
    BOOST_TEST(claim->endpoint == "/v1/tasks/" + kId + "/claim");
    BOOST_TEST(!c.lease_valid.has_value());
    BOOST_TEST(!c.lease_expires_in_seconds.has_value());
    BOOST_TEST(!c.recommended_heartbeat_interval_seconds.has_value());
    BOOST_TEST(!c.retryable);
  }
}

// Spec section 7: pending -> claim_task, scheduled or not; the claim action of a task
// scheduled later also says how long until it is claimable.
BOOST_AUTO_TEST_CASE(pending_scheduled_later_recommends_claim_task_with_the_wait) {
  Task t = task_in(TaskStatus::pending);
  t.scheduled_at = kNow + 42'300;  // 42.3 s
  Contract c = contract_for_task(t, kNow, ContractSite::other);
  BOOST_TEST(recommended(c) == "claim_task");
  const NextAction* claim = find_action(c, ActionCode::claim_task);
  BOOST_REQUIRE(claim);
  BOOST_TEST(claim->retry_after_seconds.value_or(-1) == 43);  // rounded up: never early
  BOOST_TEST(claim->endpoint == "/v1/tasks/" + kId + "/claim");
  check_invariants(c);

  t.scheduled_at = kNow + 1;
  c = contract_for_task(t, kNow, ContractSite::other);
  BOOST_TEST(find_action(c, ActionCode::claim_task)->retry_after_seconds.value_or(-1) == 1);
}

BOOST_AUTO_TEST_CASE(pending_task_scheduled_in_the_past_recommends_claim_task) {
  Task t = task_in(TaskStatus::pending);
  t.scheduled_at = kNow - 1;
  BOOST_TEST(recommended(contract_for_task(t, kNow, ContractSite::other)) == "claim_task");
  t.scheduled_at = kNow;
  BOOST_TEST(recommended(contract_for_task(t, kNow, ContractSite::other)) == "claim_task");
}

BOOST_AUTO_TEST_CASE(claim_answer_recommends_heartbeat_and_offers_complete_and_fail) {
  Contract c = contract_for_task(task_in(TaskStatus::claimed), kNow, ContractSite::claim);
  BOOST_TEST(recommended(c) == "heartbeat");
  BOOST_TEST(offers(c, ActionCode::complete_task));
  BOOST_TEST(offers(c, ActionCode::fail_task));
  BOOST_TEST(c.task_claimable.value_or(false));
  BOOST_TEST(c.lease_valid.value_or(false));
  const NextAction* hb = find_action(c, ActionCode::heartbeat);
  BOOST_REQUIRE(hb);
  BOOST_TEST(hb->method == "POST");
  BOOST_TEST(hb->endpoint == "/v1/tasks/" + kId + "/heartbeat");
  BOOST_TEST(find_action(c, ActionCode::complete_task)->endpoint == "/v1/tasks/" + kId + "/complete");
  BOOST_TEST(find_action(c, ActionCode::fail_task)->endpoint == "/v1/tasks/" + kId + "/fail");
  check_invariants(c);
}

BOOST_AUTO_TEST_CASE(later_answers_about_a_live_claim_recommend_complete_task) {
  Contract c = contract_for_task(task_in(TaskStatus::claimed), kNow, ContractSite::other);
  BOOST_TEST(recommended(c) == "complete_task");
  BOOST_TEST(offers(c, ActionCode::heartbeat));
  BOOST_TEST(offers(c, ActionCode::fail_task));
  BOOST_TEST(!c.task_claimable.has_value());
  BOOST_TEST(c.lease_valid.value_or(false));
  check_invariants(c);
}

BOOST_AUTO_TEST_CASE(only_claim_answers_carry_task_claimable) {
  for (int s = 0; s < kTaskStatusCount; ++s) {
    Task t = task_in(static_cast<TaskStatus>(s));
    BOOST_TEST(contract_for_task(t, kNow, ContractSite::claim).task_claimable.value_or(false));
    BOOST_TEST(!contract_for_task(t, kNow, ContractSite::other).task_claimable.has_value());
  }
}

BOOST_AUTO_TEST_CASE(lease_expires_in_seconds_is_rounded_down) {
  struct Case {
    Millis remaining_ms;
    long long seconds;
    long long interval;
  } cases[] = {
      {300'000, 300, 100}, {298'999, 298, 99}, {299'999, 299, 99}, {9'000, 9, 3},
      {8'999, 8, 2},       {5'999, 5, 1},      {3'000, 3, 1},      {2'999, 2, 1},
      {1'000, 1, 1},       {999, 0, 1},        {1, 0, 1},          {3'600'000, 3600, 1200},
  };
  for (Case k : cases) {
    Task t = task_in(TaskStatus::claimed);
    t.lease_expires_at = kNow + k.remaining_ms;
    for (ContractSite site : {ContractSite::claim, ContractSite::other}) {
      Contract c = contract_for_task(t, kNow, site);
      BOOST_TEST_CONTEXT("remaining " << k.remaining_ms << " ms") {
        BOOST_TEST(c.lease_valid.value_or(false));
        BOOST_TEST(c.lease_expires_in_seconds.value_or(-1) == k.seconds);
        // max(1, floor(lease_expires_in_seconds / 3))
        BOOST_TEST(c.recommended_heartbeat_interval_seconds.value_or(-1) == k.interval);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(expired_lease_is_not_valid_and_recommends_check_task_status) {
  for (Millis expires : {kNow, kNow - 1, kNow - 60'000}) {
    Task t = task_in(TaskStatus::claimed);
    t.lease_expires_at = expires;
    for (ContractSite site : {ContractSite::claim, ContractSite::other}) {
      Contract c = contract_for_task(t, kNow, site);
      BOOST_TEST(c.lease_valid.has_value());
      BOOST_TEST(!c.lease_valid.value_or(true));
      BOOST_TEST(recommended(c) == "check_task_status");
      BOOST_TEST(!offers(c, ActionCode::heartbeat));
      BOOST_TEST(c.lease_expires_in_seconds.value_or(0) <= 0);
      const NextAction* status = find_action(c, ActionCode::check_task_status);
      BOOST_REQUIRE(status);
      BOOST_TEST(status->method == "GET");
      BOOST_TEST(status->endpoint == "/v1/tasks/" + kId);
      check_invariants(c);
    }
  }
}

BOOST_AUTO_TEST_CASE(completed_with_output_id_recommends_download_artifact_naming_it) {
  Task t = task_in(TaskStatus::completed);
  t.output_id = "s3://bucket/out-77";
  Contract c = contract_for_task(t, kNow, ContractSite::other);
  BOOST_TEST(recommended(c) == "download_artifact");
  const NextAction* download = find_action(c, ActionCode::download_artifact);
  BOOST_REQUIRE(download);
  BOOST_TEST(download->output_id.value_or("<none>") == "s3://bucket/out-77");
  BOOST_TEST(!c.lease_valid.has_value());
  check_invariants(c);
}

BOOST_AUTO_TEST_CASE(completed_without_output_id_recommends_create_task) {
  Contract c = contract_for_task(task_in(TaskStatus::completed), kNow, ContractSite::other);
  BOOST_TEST(recommended(c) == "create_task");
  BOOST_TEST(!offers(c, ActionCode::download_artifact));
  const NextAction* create = find_action(c, ActionCode::create_task);
  BOOST_TEST(create->method == "POST");
  BOOST_TEST(create->endpoint == "/v1/tasks");
}

BOOST_AUTO_TEST_CASE(dead_letter_recommends_requeue_task) {
  Contract c = contract_for_task(task_in(TaskStatus::dead_letter), kNow, ContractSite::other);
  BOOST_TEST(recommended(c) == "requeue_task");
  const NextAction* requeue = find_action(c, ActionCode::requeue_task);
  BOOST_REQUIRE(requeue);
  BOOST_TEST(requeue->method == "POST");
  BOOST_TEST(requeue->endpoint == "/v1/tasks/" + kId + "/requeue");
}

BOOST_AUTO_TEST_CASE(cancelled_recommends_create_task) {
  Task t = task_in(TaskStatus::cancelled);
  BOOST_TEST(recommended(contract_for_task(t, kNow, ContractSite::other)) == "create_task");
  t.cancelled_live_claim = true;
  BOOST_TEST(recommended(contract_for_task(t, kNow, ContractSite::other)) == "create_task");
}

BOOST_AUTO_TEST_CASE(lease_fields_appear_for_claimed_tasks_only) {
  for (TaskStatus s : {TaskStatus::pending, TaskStatus::completed, TaskStatus::dead_letter,
                       TaskStatus::cancelled}) {
    Contract c = contract_for_task(task_in(s), kNow, ContractSite::other);
    BOOST_TEST(!c.lease_valid.has_value());
    BOOST_TEST(!c.lease_expires_in_seconds.has_value());
    BOOST_TEST(!c.recommended_heartbeat_interval_seconds.has_value());
  }
}

BOOST_AUTO_TEST_CASE(every_task_contract_has_exactly_one_recommended_action) {
  Millis offsets[] = {-3'600'000, -1, 0, 1, 999, 1'000, 300'000};
  for (int s = 0; s < kTaskStatusCount; ++s) {
    for (Millis offset : offsets) {
      for (bool with_output : {false, true}) {
        Task t = task_in(static_cast<TaskStatus>(s));
        t.scheduled_at = offset > 0 ? kNow + offset : 0;
        if (t.status == TaskStatus::claimed) t.lease_expires_at = kNow + offset;
        if (with_output) t.output_id = "out";
        for (ContractSite site : {ContractSite::claim, ContractSite::other}) {
          BOOST_TEST_CONTEXT("status " << s << " offset " << offset << " output " << with_output
                                       << " site " << static_cast<int>(site)) {
            check_invariants(contract_for_task(t, kNow, site));
          }
        }
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Other contracts -----------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(other_contracts)

BOOST_AUTO_TEST_CASE(empty_claim_is_retryable_not_claimable_and_waits_the_given_seconds) {
  Contract c = contract_for_empty_claim(5);
  BOOST_TEST(c.retryable);
  BOOST_TEST(c.task_claimable.has_value());
  BOOST_TEST(!c.task_claimable.value_or(true));
  BOOST_TEST(recommended(c) == "retry_after_wait");
  BOOST_TEST(find_action(c, ActionCode::retry_after_wait)->retry_after_seconds.value_or(-1) == 5);
  BOOST_TEST(!c.lease_valid.has_value());
  check_invariants(c);
}

BOOST_AUTO_TEST_CASE(empty_claim_never_asks_to_wait_less_than_a_second) {
  for (int seconds : {0, -5, 1}) {
    Contract c = contract_for_empty_claim(seconds);
    BOOST_TEST(find_action(c, ActionCode::retry_after_wait)->retry_after_seconds.value_or(-1) == 1);
    check_invariants(c);
  }
}

BOOST_AUTO_TEST_CASE(registration_contract_recommends_create_task) {
  Contract c = contract_after_registration();
  BOOST_TEST(recommended(c) == "create_task");
  check_invariants(c);
}

BOOST_AUTO_TEST_CASE(list_contract_has_exactly_one_recommended_action) {
  check_invariants(contract_for_list());
}

BOOST_AUTO_TEST_SUITE_END()

// ---- contract_for_error --------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(error_contracts)

BOOST_AUTO_TEST_CASE(every_error_about_a_task_recommends_the_catalog_action) {
  for (const ErrorInfo& info : error_catalog()) {
    Contract c = contract_for_error(info.code, kId);
    BOOST_TEST_CONTEXT(info.name) {
      check_invariants(c);
      BOOST_TEST(recommended(c) == name(info.action));
      BOOST_TEST(c.retryable == info.retryable);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_error_without_a_task_has_one_recommended_action_and_catalog_retryable) {
  for (const ErrorInfo& info : error_catalog()) {
    Contract c = contract_for_error(info.code);
    BOOST_TEST_CONTEXT(info.name) {
      check_invariants(c);
      BOOST_TEST(c.retryable == info.retryable);
      // check_task_status needs a task to point at; every other action is the catalog's.
      if (info.action != ActionCode::check_task_status) {
        BOOST_TEST(recommended(c) == name(info.action));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_retry_after_wait_error_carries_retry_after_seconds) {
  for (const ErrorInfo& info : error_catalog()) {
    if (info.action != ActionCode::retry_after_wait) continue;
    for (const std::string& task : {std::string(), kId}) {
      Contract c = contract_for_error(info.code, task);
      const NextAction* wait = find_action(c, ActionCode::retry_after_wait);
      BOOST_TEST_CONTEXT(info.name << " task '" << task << "'") {
        BOOST_REQUIRE(wait);
        BOOST_TEST(wait->recommended);
        BOOST_TEST(wait->retry_after_seconds.value_or(0) >= 1);
        if (info.retry_after_seconds > 0) {
          BOOST_TEST(wait->retry_after_seconds.value_or(0) == info.retry_after_seconds);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(retry_after_seconds_of_the_request_overrides_the_catalog_default) {
  Contract c = contract_for_error(ErrorCode::task_currently_claimed, kId, 117);
  BOOST_TEST(find_action(c, ActionCode::retry_after_wait)->retry_after_seconds.value_or(-1) == 117);
  c = contract_for_error(ErrorCode::not_yet_claimable, kId, 9);
  BOOST_TEST(find_action(c, ActionCode::retry_after_wait)->retry_after_seconds.value_or(-1) == 9);
  c = contract_for_error(ErrorCode::rate_limited, "", 33);
  BOOST_TEST(find_action(c, ActionCode::retry_after_wait)->retry_after_seconds.value_or(-1) == 33);
}

BOOST_AUTO_TEST_CASE(waiting_for_a_lease_or_a_schedule_means_claiming_the_task_then) {
  for (ErrorCode code : {ErrorCode::task_currently_claimed, ErrorCode::not_yet_claimable}) {
    Contract c = contract_for_error(code, kId, 5);
    const NextAction* wait = find_action(c, ActionCode::retry_after_wait);
    BOOST_REQUIRE(wait);
    BOOST_TEST(std::string(wait->method) == "POST");
    BOOST_TEST(wait->endpoint == "/v1/tasks/" + kId + "/claim");
  }
  Contract overloaded = contract_for_error(ErrorCode::rate_limited, "", 3);
  const NextAction* resend = find_action(overloaded, ActionCode::retry_after_wait);
  BOOST_REQUIRE(resend);
  BOOST_TEST(resend->method.empty());
  BOOST_TEST(resend->endpoint.empty());
}

BOOST_AUTO_TEST_CASE(idempotency_in_flight_waits_two_seconds) {
  Contract c = contract_for_error(ErrorCode::idempotency_in_flight);
  BOOST_TEST(recommended(c) == "retry_after_wait");
  BOOST_TEST(find_action(c, ActionCode::retry_after_wait)->retry_after_seconds.value_or(-1) == 2);
  BOOST_TEST(c.retryable);
}

BOOST_AUTO_TEST_CASE(task_cancelled_error_tells_the_worker_to_stop_work) {
  Contract c = contract_for_error(ErrorCode::task_cancelled, kId);
  BOOST_TEST(recommended(c) == "stop_work");
  BOOST_TEST(!c.retryable);
}

BOOST_AUTO_TEST_CASE(lease_errors_point_check_task_status_at_the_task) {
  for (ErrorCode code : {ErrorCode::lease_expired, ErrorCode::invalid_transition}) {
    Contract c = contract_for_error(code, kId);
    const NextAction* status = find_action(c, ActionCode::check_task_status);
    BOOST_REQUIRE(status);
    BOOST_TEST(status->recommended);
    BOOST_TEST(status->method == "GET");
    BOOST_TEST(status->endpoint == "/v1/tasks/" + kId);
  }
}

BOOST_AUTO_TEST_CASE(task_not_found_recommends_list_tasks) {
  Contract c = contract_for_error(ErrorCode::task_not_found, kId);
  BOOST_TEST(recommended(c) == "list_tasks");
  BOOST_TEST(find_action(c, ActionCode::list_tasks)->endpoint == "/v1/tasks");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- The error catalog (spec section 8) ----------------------------------------------

BOOST_AUTO_TEST_SUITE(error_catalog_table)

namespace {

using SpecRow = baton::test::SpecErrorRow;
const auto& kSpecTable = baton::test::kSpecErrors;

}  // namespace

BOOST_AUTO_TEST_CASE(catalog_lists_every_code_but_none_in_enum_order) {
  auto catalog = error_catalog();
  BOOST_REQUIRE_EQUAL(catalog.size(), std::size(kSpecTable));
  for (std::size_t i = 0; i < catalog.size(); ++i) {
    BOOST_TEST_CONTEXT("index " << i) {
      BOOST_TEST(static_cast<int>(catalog[i].code) == static_cast<int>(i) + 1);
      BOOST_TEST(&error_info(catalog[i].code) == &catalog[i]);
    }
  }
  BOOST_TEST(static_cast<int>(catalog.back().code) ==
             static_cast<int>(ErrorCode::not_implemented));
}

BOOST_AUTO_TEST_CASE(catalog_matches_the_spec_table) {
  auto catalog = error_catalog();
  BOOST_REQUIRE_EQUAL(catalog.size(), std::size(kSpecTable));
  for (std::size_t i = 0; i < catalog.size(); ++i) {
    const SpecRow& spec = kSpecTable[i];
    const ErrorInfo& info = catalog[i];
    BOOST_TEST_CONTEXT(spec.code) {
      BOOST_TEST(info.name == spec.code);
      BOOST_TEST(info.http_status == spec.status);
      BOOST_TEST(info.retryable == spec.retryable);
      BOOST_TEST(to_string(info.action) == spec.action);
    }
  }
}

BOOST_AUTO_TEST_CASE(catalog_names_are_unique) {
  std::set<std::string_view> names;
  for (const ErrorInfo& info : error_catalog()) {
    BOOST_TEST_CONTEXT(info.name) { BOOST_TEST(names.insert(info.name).second); }
  }
}

BOOST_AUTO_TEST_CASE(only_retry_after_wait_errors_have_a_default_wait_and_those_are_retryable) {
  for (const ErrorInfo& info : error_catalog()) {
    BOOST_TEST_CONTEXT(info.name) {
      if (info.action != ActionCode::retry_after_wait) BOOST_TEST(info.retry_after_seconds == 0);
      if (info.action == ActionCode::retry_after_wait) BOOST_TEST(info.retryable);
      BOOST_TEST(info.retry_after_seconds >= 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(retry_after_statuses_429_and_503_have_a_default_wait) {
  // Every 429 and 503 carries Retry-After; these errors never know the wait per request.
  for (const ErrorInfo& info : error_catalog()) {
    if (info.http_status != 429 && info.http_status != 503) continue;
    BOOST_TEST_CONTEXT(info.name) { BOOST_TEST(info.retry_after_seconds >= 1); }
  }
}

BOOST_AUTO_TEST_CASE(error_info_of_none_is_not_an_error_status) {
  BOOST_TEST(error_info(ErrorCode::none).http_status < 400);
}

BOOST_AUTO_TEST_CASE(action_codes_have_the_spec_names) {
  const char* names[] = {"create_task",      "claim_task",   "complete_task",  "fail_task",
                         "heartbeat",        "check_task_status", "requeue_task", "retry_after_wait",
                         "authenticate",     "fix_request",  "download_artifact", "list_tasks",
                         "upgrade_plan",     "stop_work"};
  for (int i = 0; i < 14; ++i) {
    BOOST_TEST(to_string(static_cast<ActionCode>(i)) == names[i]);
  }
}

BOOST_AUTO_TEST_SUITE_END()
