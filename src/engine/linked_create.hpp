#pragma once
// What every engine decides alike for a create that links to other tasks (depends_on,
// parent_task_id, docs/workflows.md): what each dependency's state means for it, and the
// state the new task starts in. The engines differ only in how they find the dependencies
// and tell the dependent when one ends.
#include <string>

#include "core/task.hpp"
#include "engine/task_engine.hpp"

namespace baton {

// A dependency of `request`, found in `status`: a completed one counts at once; a
// dead-lettered or cancelled one fails the create (dependency_failed) unless it runs on a
// dependency's failure; any other is waited for (waiting_on).
void count_dependency(CreateRequest& request, const std::string& id, TaskStatus status);

// The new task's links, taken from `request`, and its first state: cancelled with reason
// dependency_failed, blocked while it waits on a dependency, else as it was.
void start_linked(Task& task, CreateRequest& request);

}  // namespace baton
