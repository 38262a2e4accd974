// PgEngine's links between tasks (docs/workflows.md): dependencies (depends_on) and
// parents (parent_task_id), as rows of baton_links.
//
// A create shares-locks the tasks it names in its own transaction: each must exist in the
// account; a finished dependency counts at once; the new task waits (blocked) on the
// others, each a link row committed with it. A task that finishes reads its dependents'
// links in the transaction that finishes it, and once that has committed tells each one:
// a transaction that deletes the link and applies DependencyDoneCmd to the dependent's
// row, so a dependency is told once, whichever node tells it. A node that dies between
// the two leaves the link behind, and any node's sweeper tells it from there.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>

#include "core/failures.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"

namespace baton::pg {

namespace asio = boost::asio;

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::vector<std::string> linked_ids(const CreateRequest& request) {
  std::vector<std::string> ids = request.depends_on;
  if (!request.parent_task_id.empty()) ids.push_back(request.parent_task_id);
  return ids;
}

ErrorCode resolve_links(const Result& locked, CreateRequest& request) {
  std::map<std::string, std::pair<std::string, TaskStatus>> found;  // id: account, status
  for (int row = 0; row < locked.rows(); ++row) {
    found[locked.text(row, 0)] = {locked.text(row, 1), static_cast<TaskStatus>(locked.integer(row, 2))};
  }
  auto status_of = [&](const std::string& id) -> const TaskStatus* {
    auto it = found.find(id);
    return it != found.end() && it->second.first == request.account ? &it->second.second : nullptr;
  };
  if (!request.parent_task_id.empty() && !status_of(request.parent_task_id)) {
    return ErrorCode::dependency_not_found;
  }
  for (const std::string& id : request.depends_on) {
    const TaskStatus* status = status_of(id);
    if (!status) return ErrorCode::dependency_not_found;
    switch (*status) {
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
  return ErrorCode::none;
}

std::vector<PgEngine::DependencyNotice> dependents_told(const Task& finished, const Result& dependents) {
  std::vector<PgEngine::DependencyNotice> notices;
  bool failed = finished.status != TaskStatus::completed;
  for (int row = 0; row < dependents.rows(); ++row) {
    notices.push_back({finished.id, dependents.text(row, 0), failed});
  }
  return notices;
}

std::shared_ptr<const TaskChildren> children_of(const Result& rows) {
  if (rows.rows() == 0) return nullptr;
  TaskChildren children;
  for (int row = 0; row < rows.rows(); ++row) {
    Task child = task_of(rows, row);
    ++children.count;
    ++children.by_status[static_cast<int>(child.status)];
    children.cost.add(child.cost);
    if (static_cast<int>(children.ids.size()) < TaskChildren::kShownChildren) {
      children.ids.push_back(std::move(child.id));
    }
  }
  return std::make_shared<const TaskChildren>(std::move(children));
}

void PgEngine::tell_later(Thread& thread, std::vector<DependencyNotice> notices) {
  if (notices.empty()) return;
  asio::co_spawn(thread.io, tell_dependents(std::move(notices)), log_exit("postgres dependency release"));
}

asio::awaitable<void> PgEngine::tell_dependents(std::vector<DependencyNotice> notices) {
  Thread& thread = here();
  // A dependent cancelled by a failed dependency fails its own dependents in turn.
  while (!notices.empty()) {
    DependencyNotice notice = std::move(notices.back());
    notices.pop_back();
    Lease connection = co_await thread.pool->acquire();
    Params unlink = Params().text(notice.dependency).text(notice.dependent);
    Params lock = Params().text(notice.dependent);
    std::vector<Step> opening{Step{"BEGIN"}, Step{"unlink_dependency", &unlink}, Step{"lock_task", &lock}};
    std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
    if (opened[1].rows() == 0 || opened[2].rows() == 0) {
      // Told already (by another node's sweeper), or the dependent is gone.
      require(co_await connection->exec("ROLLBACK"));
      continue;
    }
    Millis now = wall_now_ms();
    Task task = task_of(opened[2], 0);
    Transition next = baton::apply(task, DependencyDoneCmd{notice.dependency, notice.failed},
                                   context_at(thread, now));
    if (!next.ok() || next.unchanged) {
      // Nothing to change (the dependent was cancelled meanwhile): the link goes.
      require(co_await connection->exec("COMMIT"));
      continue;
    }
    Params row = update_params(next.task);
    std::vector<Step> writes{Step{"update_task", &row}};
    bool ready = next.task.status == TaskStatus::pending;
    Params ready_params;
    if (ready && options_.notify) {
      ready_params.text(ready_notice(next.task.account_id, next.task.type));
      writes.push_back(Step{"notify_ready", &ready_params});
    }
    bool finished = is_terminal(next.task.status);
    Params of = Params().text(next.task.id);
    if (finished) writes.push_back(Step{"dependents_of", &of});
    writes.push_back(Step{"COMMIT"});
    std::vector<Result> written = co_await connection->pipeline(std::move(writes));
    require_updated(written.front(), next.task);
    written = require(std::move(written));
    if (ready) wake(next.task.account_id, next.task.type);
    if (finished) {
      for (DependencyNotice& more : dependents_told(next.task, written[written.size() - 2])) {
        notices.push_back(std::move(more));
      }
    }
  }
}

asio::awaitable<void> PgEngine::tell_unfinished_links(Thread& thread) {
  constexpr int kBatch = 100;
  for (bool more = true; more;) {
    std::vector<DependencyNotice> notices;
    {
      Lease connection = co_await thread.pool->acquire();
      Result links = require(co_await connection->run("finished_links", Params().integer(kBatch)));
      for (int row = 0; row < links.rows(); ++row) {
        bool failed = static_cast<TaskStatus>(links.integer(row, 2)) != TaskStatus::completed;
        notices.push_back({links.text(row, 0), links.text(row, 1), failed});
      }
      more = links.rows() == kBatch;
    }
    co_await tell_dependents(std::move(notices));
  }
}

}  // namespace baton::pg
