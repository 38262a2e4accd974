#pragma once
// The listing query (spec section 6's GET /v1/tasks) and a parent's children: reads of the
// listing and active indexes and the records they name, each from one snapshot.
#include <optional>
#include <string>
#include <vector>

#include "core/task.hpp"
#include "core/ulid.hpp"
#include "store/db.hpp"

namespace baton::store {

struct ListQuery {
  std::string account;
  std::optional<std::string> type;
  std::optional<TaskStatus> status;
  int limit = 20;
  std::optional<Ulid> before;  // the cursor: list tasks older than this one
};
struct ListResult {
  std::vector<Task> tasks;
  std::optional<Ulid> next_before;  // set when at least one more readable task follows
};
// Newest first, from one snapshot. Reads the index entries of one page and their
// records, plus the next readable one to know that more follow: the cost grows with the
// page, not with the account's finished tasks (pending and claimed listings scan the
// account's live tasks only).
ListResult list_tasks(Db& db, const ListQuery& query);

// The children of `parent` (tasks created with it as parent_task_id), from one snapshot;
// empty when it has none. Reads every child's record: the cost grows with the children.
TaskChildren read_children(Db& db, const std::string& account, const Ulid& parent);

}  // namespace baton::store
