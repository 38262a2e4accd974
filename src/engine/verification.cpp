// Independent verification as every engine runs it (engine/verification.hpp).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "engine/verification.hpp"

namespace baton {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// What the verifier works from.
std::string verifier_payload(const Task& task) {
  auto stored = [](const std::optional<std::string>& text) -> json::value {
    if (!text) return nullptr;
    boost::system::error_code error;
    json::value value = json::parse(*text, error);
    return error ? json::value(nullptr) : value;
  };
  json::object payload{{"task_id", task.id},
                       {"type", task.type},
                       {"attempt", task.attempt_count},
                       {"payload", stored(task.payload_json)},
                       {"result", stored(task.result_json)}};
  payload["definition_of_done"] =
      task.definition_of_done ? json::value(*task.definition_of_done) : json::value(nullptr);
  return json::serialize(payload);
}

// {passed, notes} from a verifier's task: passed only when it completed with
// "passed": true.
std::pair<bool, std::optional<std::string>> verdict_of(const Task& verifier) {
  if (verifier.status != TaskStatus::completed) {
    return {false, "the verification task ended " + std::string(to_string(verifier.status))};
  }
  bool passed = false;
  std::optional<std::string> notes;
  if (verifier.result_json) {
    boost::system::error_code error;
    json::value result = json::parse(*verifier.result_json, error);
    if (!error && result.is_object()) {
      const json::value* flag = result.get_object().if_contains("passed");
      passed = flag && flag->is_bool() && flag->get_bool();
      const json::value* text = result.get_object().if_contains("notes");
      if (text && text->is_string()) notes = std::string(text->get_string());
    }
  }
  return {passed, notes};
}

}  // namespace

bool reaches_verification(const Task* before, const Task& after) {
  return after.status == TaskStatus::awaiting_acceptance &&
         after.verification == Verification::pending && after.verification_task_id.empty() &&
         (!before || before->status != TaskStatus::awaiting_acceptance);
}

bool ends_verifier(const Task* before, const Task& after) {
  return !after.verifies_task_id.empty() && is_terminal(after.status) &&
         !(before && is_terminal(before->status));
}

asio::awaitable<std::string> start_verification(TaskEngine& engine,
                                                std::shared_ptr<const Task> task) {
  CreateRequest request;
  request.account = task->account_id;
  request.type = task->verification_type;
  request.payload_json = verifier_payload(*task);
  request.verifies_task_id = task->id;
  request.verifies_attempt = task->attempt_count;
  // One verifier per round, whoever asks: a key no client can send (control character).
  IdempotencyRequest once;
  once.method = "POST";
  once.path = "/v1/tasks";
  once.key = "\x1fverify:" + task->id + ":" + std::to_string(task->attempt_count);
  once.request_hash = once.key;
  once.success_status = 201;
  // Kept as long as a gate can wait: a round must never get a second verifier.
  once.ttl_seconds = 10 * 365 * 24 * 3600;
  once.render = [](const Task& created, Millis) { return created.id; };
  Outcome outcome = co_await engine.create(std::move(request), &once);
  std::string verifier_id = outcome.status != 0 ? outcome.body
                            : outcome.task      ? outcome.task->id
                                                : std::string();
  if (verifier_id.empty()) co_return verifier_id;  // storage failed: recovery starts it again
  Command link = LinkVerificationCmd{verifier_id};
  co_await engine.apply(std::string(), task->id, std::move(link), nullptr);
  co_return verifier_id;
}

asio::awaitable<void> report_verification(TaskEngine& engine,
                                          std::shared_ptr<const Task> verifier) {
  auto [passed, notes] = verdict_of(*verifier);
  Command done = VerificationDoneCmd{verifier->id, verifier->verifies_attempt, passed, notes};
  co_await engine.apply(std::string(), verifier->verifies_task_id, std::move(done), nullptr);
}

asio::awaitable<void> resume_verification(TaskEngine& engine, std::shared_ptr<const Task> task) {
  // Not linked yet: create (or find again) and link the verifier; it may have finished
  // meanwhile, its verdict lost with the crash, so look at it either way.
  std::string verifier_id = task->verification_task_id;
  if (verifier_id.empty()) verifier_id = co_await start_verification(engine, task);
  if (verifier_id.empty()) co_return;
  Outcome verifier = co_await engine.get(task->account_id, verifier_id);
  if (verifier.error == ErrorCode::task_not_found) {
    // The verifier's task is gone (purged past its retention, its verdict lost with a
    // crash): the verification failed, so the gate does not wait for ever.
    if (!task->verification_task_id.empty()) {
      Command failed = VerificationDoneCmd{verifier_id, task->attempt_count, false,
                                           "the verifier's task no longer exists"};
      co_await engine.apply(std::string(), task->id, std::move(failed), nullptr);
    }
    co_return;
  }
  if (verifier.task && is_terminal(verifier.task->status)) {
    co_await report_verification(engine, std::move(verifier.task));
  }
}

}  // namespace baton
