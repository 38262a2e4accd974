#pragma once
// The lifecycle's side of a task's history (core/task_history.hpp): the event each
// transition adds, decided as purely as the transition itself.
#include "core/lifecycle.hpp"

namespace baton {

// Adds to `after`'s history the event of the transition `before` -> `after` made by
// `command`: one per transition except a heartbeat's, a log append's and a verifier
// link's (they change no status and record no verdict); a release takes its claim's
// event back out. apply() calls it for every transition it makes.
void record_event(const Task& before, const Command& command, const TransitionContext& ctx,
                  Task& after);

// The first event of a task's history, when it is created (in `task.status`).
void record_creation(Task& task, Millis now);

}  // namespace baton
