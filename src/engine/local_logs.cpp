// Task logs across shards: each call goes to the shard that owns the task (its vnode),
// where its lines, counters and subscribers live (shard_logs.cpp).
#include <boost/asio/post.hpp>

#include "engine/cross_shard.hpp"
#include "engine/local_engine.hpp"
#include "engine/routing.hpp"
#include "engine/shard.hpp"

namespace baton {

namespace asio = boost::asio;

asio::awaitable<LogAppendOutcome> LocalEngine::append_logs(LogAppendRequest request) {
  auto id = parse_task_id(request.task_id);
  if (!id) {
    LogAppendOutcome missing;
    missing.error = ErrorCode::task_not_found;
    co_return missing;
  }
  Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*id), shard_count())];
  co_return co_await on_shard(owner.context(), [&]() -> asio::awaitable<LogAppendOutcome> {
    return owner.append_logs(*id, std::move(request));
  });
}

asio::awaitable<LogPage> LocalEngine::read_logs(std::string account, std::string task_id,
                                                std::int64_t after, int limit) {
  auto id = parse_task_id(task_id);
  if (!id) {
    LogPage missing;
    missing.error = ErrorCode::task_not_found;
    co_return missing;
  }
  Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*id), shard_count())];
  co_return co_await on_shard(owner.context(), [&]() -> asio::awaitable<LogPage> {
    return owner.read_logs(account, *id, after, limit);
  });
}

asio::awaitable<LogSubscription> LocalEngine::subscribe_logs(
    std::string account, std::string task_id, std::shared_ptr<LogSubscriber> subscriber) {
  auto id = parse_task_id(task_id);
  if (!id) {
    LogSubscription missing;
    missing.error = ErrorCode::task_not_found;
    co_return missing;
  }
  Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*id), shard_count())];
  co_return co_await on_shard(owner.context(), [&]() -> asio::awaitable<LogSubscription> {
    co_return owner.subscribe_logs(account, *id, std::move(subscriber));
  });
}

void LocalEngine::unsubscribe_logs(const std::string& task_id,
                                   std::shared_ptr<LogSubscriber> subscriber) {
  auto id = parse_task_id(task_id);
  if (!id) return;
  Shard& owner = *shards_[shard_of_vnode(ulid_vnode(*id), shard_count())];
  asio::post(owner.context(), [&owner, id = *id, subscriber = std::move(subscriber)] {
    owner.unsubscribe_logs(id, subscriber);
  });
}

}  // namespace baton
