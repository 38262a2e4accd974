// PgEngine's links between tasks (docs/workflows.md): dependencies (depends_on) and
// parents (parent_task_id), as rows of baton_links.
//
// A create key-share-locks its dependencies and reads its parent in its own transaction:
// each must exist in the account; a finished dependency counts at once; the new task waits
// (blocked) on the others, each a link row committed with it. A task that finishes reads
// its dependents' links in the transaction that finishes it, and once that has committed
// tells each one: a transaction that locks the dependent's row, deletes the link and
// applies DependencyDoneCmd, so a dependency is told once, whichever node tells it. A node
// that dies between the two leaves the link behind, and any node's sweeper tells it from
// there.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <map>

#include "core/failures.hpp"
#include "engine/linked_create.hpp"
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

ErrorCode resolve_links(const Result* dependencies, const Result* parent, CreateRequest& request) {
  if (parent && parent->rows() == 0) return ErrorCode::dependency_not_found;
  std::map<std::string, TaskStatus> found;
  for (int row = 0; dependencies && row < dependencies->rows(); ++row) {
    found[dependencies->text(row, 0)] = static_cast<TaskStatus>(dependencies->integer(row, 1));
  }
  for (const std::string& id : request.depends_on) {
    auto status = found.find(id);
    if (status == found.end()) return ErrorCode::dependency_not_found;
    count_dependency(request, id, status->second);
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
    try {
      co_await tell_dependent(thread, notice, notices);
    } catch (const std::exception& failure) {
      // Its link stays (the transaction rolled back): the sweeper tries it again. The
      // others go on.
      note_failure(Failure::dependency_release, "postgres dependency release",
                   notice.dependency + " -> " + notice.dependent + ": " + failure.what());
    }
  }
}

asio::awaitable<void> PgEngine::tell_dependent(Thread& thread, const DependencyNotice& notice,
                                               std::vector<DependencyNotice>& more) {
  Lease connection = co_await thread.pool->acquire();
  // The dependent's row first, then its link: the order every transaction that changes a
  // task and its links takes (a cancel locks the row, then drops the links).
  Params lock = Params().text(notice.dependent);
  Params unlink = Params().text(notice.dependency).text(notice.dependent);
  std::vector<Step> opening{Step{"BEGIN"}, Step{"lock_task", &lock}, Step{"unlink_dependency", &unlink}};
  std::vector<Result> opened = require(co_await connection->pipeline(std::move(opening)));
  if (opened[2].rows() == 0) {
    // Told already (by another node's sweeper, meanwhile).
    require(co_await connection->exec("ROLLBACK"));
    co_return;
  }
  if (opened[1].rows() == 0) {
    // The dependent is gone: the link goes too.
    require(co_await connection->exec("COMMIT"));
    co_return;
  }
  Millis now = wall_now_ms();
  Task task = task_of(opened[1], 0);
  Transition next = baton::apply(task, DependencyDoneCmd{notice.dependency, notice.failed},
                                 context_at(thread, now));
  if (!next.ok() || next.unchanged) {
    // Nothing to change (the dependent was cancelled meanwhile): the link goes.
    require(co_await connection->exec("COMMIT"));
    co_return;
  }
  Params row = update_params(next.task);
  std::vector<Step> writes{Step{"update_task", &row}};
  Params usage;
  if (usage_params(usage, &task, next.task, now)) writes.push_back(Step{"add_usage", &usage});
  bool ready = next.task.status == TaskStatus::pending;
  Params ready_params;
  if (ready && options_.notify) {
    ready_params.text(ready_notice(next.task.account_id, next.task.type));
    writes.push_back(Step{"notify_ready", &ready_params});
  }
  // Cancelled: it waits for nothing more, and its own dependents are told.
  bool finished = is_terminal(next.task.status);
  Params of = Params().text(next.task.id);
  if (finished) {
    writes.push_back(Step{"unlink_dependent", &of});  // its other dependencies' links
    writes.push_back(Step{"dependents_of", &of});
  }
  writes.push_back(Step{"COMMIT"});
  std::vector<Result> written = co_await commit(*connection, std::move(writes), 1);
  require_updated(written.front(), next.task);
  written = require(std::move(written));
  if (ready) wake(next.task.account_id, next.task.type);
  if (finished) {
    for (DependencyNotice& notice_of_it : dependents_told(next.task, written[written.size() - 2])) {
      more.push_back(std::move(notice_of_it));
    }
  }
  after_change(thread, &task, next.task);
}

asio::awaitable<void> PgEngine::tell_unfinished_links(Thread& thread) {
  constexpr int kBatch = 100;
  // From the last link looked at on: one that cannot be told now does not hide the rest.
  std::string after_dependency, after_dependent;
  for (bool more = true; more;) {
    std::vector<DependencyNotice> notices;
    {
      Lease connection = co_await thread.pool->acquire();
      Result links = require(co_await connection->run(
          "finished_links", Params().integer(kBatch).text(after_dependency).text(after_dependent)));
      for (int row = 0; row < links.rows(); ++row) {
        bool failed = static_cast<TaskStatus>(links.integer(row, 2)) != TaskStatus::completed;
        notices.push_back({links.text(row, 0), links.text(row, 1), failed});
      }
      more = links.rows() == kBatch;
    }
    if (!notices.empty()) {
      after_dependency = notices.back().dependency;
      after_dependent = notices.back().dependent;
    }
    co_await tell_dependents(std::move(notices));
  }
}

}  // namespace baton::pg
