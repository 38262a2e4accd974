// LocalEngine's side of dependencies and parents (docs/workflows.md). A task created with
// depends_on starts blocked on the dependencies not finished yet; each of their shards
// watches its own and, once one finishes durably, tells the dependent's shard through the
// one cross-shard call (on_shard), as a DependencyDoneCmd the state machine decides.
// Telling twice releases once (the command strikes a dependency off waiting_on only
// once), so a notice may be sent again whenever it might have been lost: after a restart
// or a storage recovery every blocked task's dependencies are watched again from its
// record.
#include <boost/asio/co_spawn.hpp>

#include "core/failures.hpp"
#include "engine/cross_shard.hpp"
#include "engine/engine_outcomes.hpp"
#include "engine/linked_create.hpp"
#include "engine/local_engine.hpp"
#include "engine/routing.hpp"
#include "engine/shard.hpp"
#include "engine/verification.hpp"
#include "store/db.hpp"
#include "store/keys.hpp"
#include "store/records.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<Outcome> LocalEngine::find(const std::string& account,
                                           const std::string& task_id) {
  auto id = parse_task_id(task_id);
  if (!id) co_return error_outcome(ErrorCode::task_not_found);
  Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*id), shard_count())];
  co_return co_await on_shard(owner.context(), [&]() -> asio::awaitable<Outcome> {
    return owner.get_durable(account, *id);
  });
}

asio::awaitable<Outcome> LocalEngine::create_linked(CreateRequest request,
                                                    const IdempotencyRequest* idempotency,
                                                    Shard& owner) {
  // Each dependency exists now and so is older than the new task: no cycle can form.
  if (!request.parent_task_id.empty()) {
    Outcome parent = co_await find(request.account, request.parent_task_id);
    if (parent.error == ErrorCode::task_not_found) co_return error_outcome(ErrorCode::dependency_not_found);
    if (!parent.ok()) co_return parent;
  }
  for (const std::string& id : request.depends_on) {
    Outcome dependency = co_await find(request.account, id);
    if (dependency.error == ErrorCode::task_not_found) {
      co_return error_outcome(ErrorCode::dependency_not_found);
    }
    if (!dependency.ok()) co_return dependency;
    count_dependency(request, id, dependency.task->status);
  }
  Outcome outcome = co_await on_shard(owner.context(), [&]() -> asio::awaitable<Outcome> {
    return owner.create(std::move(request), idempotency);
  });
  // Watched before the answer: a dependency that finished since it was looked at is
  // struck off at once.
  if (outcome.ok() && outcome.task && outcome.task->status == TaskStatus::blocked) {
    if (auto id = parse_task_id(outcome.task->id)) {
      co_await watch_dependencies(*id, outcome.task->waiting_on);
    }
  }
  co_return outcome;
}

asio::awaitable<void> LocalEngine::watch_dependencies(Ulid dependent,
                                                      std::vector<std::string> waiting_on) {
  for (const std::string& text : waiting_on) {
    std::optional<bool> finished = true;  // an id that names no task cannot finish
    if (auto dependency = parse_task_id(text)) {
      Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*dependency), shard_count())];
      finished = co_await on_shard(owner.context(),
                                   [&]() -> asio::awaitable<std::optional<bool>> {
                                     co_return owner.watch_dependency(*dependency, dependent);
                                   });
    }
    if (finished) co_await tell_dependent(dependent, text, *finished);
  }
}

asio::awaitable<void> LocalEngine::tell_dependent(Ulid dependent, std::string dependency,
                                                  bool failed, std::int64_t finished_us) {
  Command done = DependencyDoneCmd{std::move(dependency), failed};
  // No account: the engine's own command, as a lease expiry. A failed write is not
  // retried here: storage recovery watches every blocked task again.
  Outcome outcome =
      co_await apply(std::string(), task_id_string(dependent), std::move(done), nullptr);
  if (finished_us > 0 && outcome.ok() && outcome.task &&
      outcome.task->status == TaskStatus::pending && outcome.task->waiting_on.empty() &&
      outcome.task->updated_at == outcome.now) {
    release_latency_.add(wall_now_us() - finished_us);
  }
}

void LocalEngine::rewatch_restored() {
  for (auto& shard : shards_) {
    Shard* owner = shard.get();
    asio::post(owner->context(), [this, owner] {
      for (const Ulid& id : owner->take_restored_links()) {
        auto bytes = db_.get(Cf::tasks, keys::task_key(id));
        if (!bytes) continue;
        auto task = records::decode_task(*bytes);
        if (!task) continue;
        if (task->status == TaskStatus::blocked) {
          asio::co_spawn(owner->context(), watch_dependencies(id, std::move(task->waiting_on)),
                         NoteFailure{"dependency watch"});
        } else if (task->status == TaskStatus::awaiting_acceptance &&
                   task->verification == Verification::pending) {
          asio::co_spawn(owner->context(), resume_verification(*this, share(std::move(*task))),
                         NoteFailure{"verification"});
        }
      }
    });
  }
}

}  // namespace baton
