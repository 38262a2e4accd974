// A shard's side of the links between tasks (docs/workflows.md): which blocked tasks wait
// for a task it owns, and the verifications its tasks start and end. Every notice is sent
// once the write that caused it is durable. What is watched lives in memory only: every
// blocked task names what it still waits for (waiting_on), and every task at its
// acceptance gate its verifier, so after a restart or a storage recovery the engine looks
// again from those records, and a notice lost to a crash is sent again then.
#include "engine/shard.hpp"

#include <algorithm>
#include <utility>

#include "engine/verification.hpp"

namespace baton {

std::optional<bool> Shard::watch_dependency(const Ulid& dependency, const Ulid& dependent) {
  std::shared_ptr<const Task> task = load(dependency);
  if (!task) return true;  // it cannot finish: the dependent must not wait forever
  bool failed = task->status != TaskStatus::completed;
  if (!is_terminal(task->status)) {
    std::vector<Ulid>& waiting = dependents_[dependency];
    if (std::find(waiting.begin(), waiting.end(), dependent) == waiting.end()) {
      waiting.push_back(dependent);
    }
    return std::nullopt;
  }
  // Finished in a write not durable yet: the notice waits for that write.
  if (auto dirty = dirty_.find(dependency); dirty != dirty_.end()) {
    releases_.push_back(
        Release{dirty->second.generation, task->id, failed, {dependent}, task->updated_at * 1000});
    return std::nullopt;
  }
  return failed;
}

void Shard::note_finished(const Ulid& id, const Task& task, std::uint64_t generation) {
  auto waiting = dependents_.find(id);
  if (waiting == dependents_.end()) return;
  releases_.push_back(Release{generation, task.id, task.status != TaskStatus::completed,
                              std::move(waiting->second), wall_now_us()});
  dependents_.erase(waiting);
}

void Shard::note_verification(const Task* before, const Task& after,
                              const std::shared_ptr<const Task>& shared,
                              std::uint64_t generation, bool finished) {
  if (reaches_verification(before, after) && on_verification_needed_) {
    after_durable_.emplace_back(generation, [this, shared] { on_verification_needed_(shared); });
  }
  if (finished && ends_verifier(before, after) && on_verifier_finished_) {
    after_durable_.emplace_back(generation, [this, shared] { on_verifier_finished_(shared); });
  }
}

void Shard::deliver_releases(std::uint64_t generation, bool ok) {
  while (!after_durable_.empty() && after_durable_.front().first <= generation) {
    auto notice = std::move(after_durable_.front().second);
    after_durable_.pop_front();
    if (ok) notice();
  }
  if (releases_.empty()) return;
  // Mostly in generation order, but a watch of a task finished in an earlier write that
  // is still in flight queues behind later ones: look at them all. Taken out first: a
  // notice may run its release at once, on this thread, and that release may queue one
  // of its own (a chain of failures).
  std::deque<Release> due = std::exchange(releases_, {});
  for (Release& release : due) {
    if (release.generation > generation) {
      releases_.push_back(std::move(release));
      continue;
    }
    // A failed write finished nothing: the recovery that follows watches again.
    if (!ok || !on_dependency_done_) continue;
    for (const Ulid& dependent : release.dependents) {
      on_dependency_done_(dependent, release.dependency, release.failed, release.finished_us);
    }
  }
}

}  // namespace baton
