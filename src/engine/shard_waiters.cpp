// Long polls and idempotency keys on one shard: the parts of Shard that wait for
// something else to happen.
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "engine/shard.hpp"
#include "store/db.hpp"
#include "store/records.hpp"

namespace baton {

namespace {

constexpr std::uint32_t kWaiterDeadlineKind = 2;

using WaiterList = std::deque<std::shared_ptr<Waiter>>;

void drop_taken_front(WaiterList* list) {
  while (list && !list->empty() && list->front()->taken()) list->pop_front();
}

WaiterList* find_list(std::unordered_map<std::string, WaiterList>& lists, const std::string& key) {
  auto it = lists.find(key);
  return it == lists.end() ? nullptr : &it->second;
}

}  // namespace

void Shard::on_claimable(ReadyQueues::Queue& queue) {
  // A claim decided now could not be written, or the queue is paused: parked claims keep
  // waiting (and time out).
  if (!db_.writable() || queue.paused) return;
  // A pinned queue's typed list is its worker's (register_waiter); of the claims for any
  // type, only that worker's may take from it.
  std::string_view pinned = queue.pinned_worker();
  WaiterList* typed = find_list(typed_waiters_, queue_key(queue.account, queue.type));
  WaiterList* any = find_list(any_waiters_, queue.account);
  auto first_any = [&]() -> WaiterList::iterator {
    drop_taken_front(any);
    if (!any) return {};
    if (pinned.empty()) return any->begin();
    return std::find_if(any->begin(), any->end(), [&](const std::shared_ptr<Waiter>& waiter) {
      return !waiter->taken() && waiter->worker_id == pinned;
    });
  };
  while (!queue.entries.empty()) {
    drop_taken_front(typed);
    WaiterList::iterator any_it = first_any();
    bool has_typed = typed && !typed->empty();
    bool has_any = any && any_it != any->end();
    if (!has_typed && !has_any) return;
    // The longest-waiting claimer first, whether it asked for this type or for any.
    bool from_typed = !has_any || (has_typed && typed->front()->arrival <= (*any_it)->arrival);
    std::shared_ptr<Waiter> waiter;
    if (from_typed) {
      waiter = std::move(typed->front());
      typed->pop_front();
    } else {
      waiter = std::move(*any_it);
      any->erase(any_it);
    }
    if (!waiter->try_take()) continue;
    WaitResult result;
    result.now = wall_now_ms();
    Claimed claimed = claim_from(queue, {waiter->worker_id, waiter->max_leases}, result.now);
    result.task = std::move(claimed.task);
    result.generation = claimed.generation;
    result.at_lease_limit = claimed.at_lease_limit;
    if (claimed.previous) {
      result.previous_claimed_by = claimed.previous->claimed_by;
      result.previous_lease_token = claimed.previous->lease_token;
    }
    result.kind = WaitResult::Kind::served;
    result.shard = index_;
    waiter->result.set(std::move(result));
  }
}

void Shard::register_waiter(const std::shared_ptr<Waiter>& waiter) {
  if (stopping_) {
    if (waiter->try_take()) waiter->result.set(WaitResult::ended(WaitResult::Kind::timed_out));
    return;
  }
  ReadyQueues::Queue* queue = nullptr;
  if (waiter->type) {
    typed_waiters_[queue_key(waiter->account, *waiter->type)].push_back(waiter);
    // Also woken by tasks assigned to its worker.
    if (!waiter->worker_id.empty()) {
      typed_waiters_[queue_key(waiter->account, pinned_type(*waiter->type, waiter->worker_id))]
          .push_back(waiter);
    }
    queue = queue_for(waiter->account, *waiter->type, waiter->worker_id);
  } else {
    any_waiters_[waiter->account].push_back(waiter);
    queue = ready_.best_queue_of_account(waiter->account, waiter->worker_id);
  }
  // A task may have become claimable between the caller's first try and now.
  if (queue && !queue->entries.empty()) on_claimable(*queue);
}

void Shard::forget_waiter(const std::shared_ptr<Waiter>& waiter) {
  auto& lists = waiter->type ? typed_waiters_ : any_waiters_;
  auto forget = [&](const std::string& key) {
    auto it = lists.find(key);
    if (it == lists.end()) return;
    std::erase(it->second, waiter);
    if (it->second.empty()) lists.erase(it);
  };
  if (!waiter->type) return forget(waiter->account);
  forget(queue_key(waiter->account, *waiter->type));
  if (!waiter->worker_id.empty()) {
    forget(queue_key(waiter->account, pinned_type(*waiter->type, waiter->worker_id)));
  }
}

void Shard::arm_deadline(Waiter& waiter, Millis due) {
  waiter.deadline.kind = kWaiterDeadlineKind;
  waiter.deadline.owner = &waiter;
  wheel_.schedule(waiter.deadline, due);
}

void Shard::disarm_deadline(Waiter& waiter) { wheel_.cancel(waiter.deadline); }

void Shard::shut_down() {
  stopping_ = true;
  ticker_.cancel();
  end_waits();
  end_log_streams("shutting_down", false);
}

void Shard::end_waits() {
  for (auto* lists : {&typed_waiters_, &any_waiters_}) {
    for (auto& [key, list] : *lists) {
      for (auto& waiter : list) {
        if (waiter->try_take()) waiter->result.set(WaitResult::ended(WaitResult::Kind::timed_out));
      }
    }
    lists->clear();
  }
}

Shard::IdempotencyCheck Shard::begin_idempotent(const IdempotencyRequest& request) {
  IdempotencyCheck check;
  if (idempotency_in_flight_.contains(request.scope_key)) {
    check.kind = IdempotencyCheck::Kind::in_flight;
    return check;
  }
  check = stored_response(request);
  if (check.kind == IdempotencyCheck::Kind::proceed) {
    idempotency_in_flight_.insert(request.scope_key);
  }
  return check;
}

Shard::IdempotencyCheck Shard::stored_response(const IdempotencyRequest& request) {
  IdempotencyCheck check;
  if (auto bytes = db_.get(Cf::idempotency, request.scope_key)) {
    auto stored = records::decode_response(*bytes);
    if (stored && stored->expires_at > wall_now_ms()) {
      if (stored->request_hash != request.request_hash) {
        check.kind = IdempotencyCheck::Kind::conflict;
      } else {
        check.kind = IdempotencyCheck::Kind::replay;
        check.status = stored->status;
        check.body = std::move(stored->body);
      }
      return check;
    }
  }
  return check;
}

void Shard::end_idempotent(const IdempotencyRequest& request) {
  idempotency_in_flight_.erase(request.scope_key);
}

bool Shard::quiescent() const {
  return dirty_.empty() && idempotency_in_flight_.empty() && committer_.quiescent();
}

}  // namespace baton
