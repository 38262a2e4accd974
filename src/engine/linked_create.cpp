#include "engine/linked_create.hpp"

namespace baton {

void count_dependency(CreateRequest& request, const std::string& id, TaskStatus status) {
  switch (status) {
    case TaskStatus::completed:
      break;
    case TaskStatus::dead_letter:
    case TaskStatus::cancelled:
      request.dependency_failed = request.dependency_failed || !request.run_on_dependency_failure;
      break;
    default:
      request.waiting_on.push_back(id);
      break;
  }
}

void start_linked(Task& task, CreateRequest& request) {
  task.depends_on = std::move(request.depends_on);
  task.run_on_dependency_failure = request.run_on_dependency_failure;
  task.parent_task_id = std::move(request.parent_task_id);
  if (request.dependency_failed) {
    task.status = TaskStatus::cancelled;
    task.failure_reason = "dependency_failed";
  } else if (!request.waiting_on.empty()) {
    task.status = TaskStatus::blocked;
    task.waiting_on = std::move(request.waiting_on);
  }
}

}  // namespace baton
