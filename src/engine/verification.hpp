#pragma once
// Independent verification (docs/workflows.md), as every engine runs it. When a task with
// verification: {type} reaches its acceptance gate, a task of that type is created for a
// verifier, with the original's payload, result and definition of done; it carries
// verifiesTaskId, and the original gets verification.taskId. The verifier completes it
// with {passed, notes}; that verdict is recorded on the original (and accepts it when it
// asked for auto_accept). Each step is a command the state machine decides, sent through
// the engine's own interface once the write before it is durable; the verifier's task is
// created under an idempotency key of the original's round, so a step repeated after a
// crash, or by two nodes at once, changes nothing.
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

#include "core/task.hpp"
#include "engine/task_engine.hpp"

namespace baton {

// The transition before -> after (before null: a create) took the task to its gate with
// a verification still to start: start_verification is owed once it is durable.
bool reaches_verification(const Task* before, const Task& after);
// The transition finished a verifier's task: report_verification is owed.
bool ends_verifier(const Task* before, const Task& after);

// Creates (or finds again) the verifier's task of `task`'s round and links it. Returns its
// id ("" when storage failed: the engine's recovery starts it again).
boost::asio::awaitable<std::string> start_verification(TaskEngine& engine,
                                                       std::shared_ptr<const Task> task);
// Records a finished verifier's verdict on the task it verifies.
boost::asio::awaitable<void> report_verification(TaskEngine& engine,
                                                 std::shared_ptr<const Task> verifier);
// For a gated task whose verification is pending (after a restart, or a node's death):
// whichever of the two it still needs. A verifier that no longer exists fails it.
boost::asio::awaitable<void> resume_verification(TaskEngine& engine,
                                                 std::shared_ptr<const Task> task);

}  // namespace baton
