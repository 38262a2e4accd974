#pragma once
// The one door between shards: run `work` (a function returning awaitable<R>) on the
// shard that owns the data, and resume the caller on its own shard with the result.
// Exceptions travel back to the caller. on_shards() does the same on several shards at
// once. Nothing else in Baton crosses threads, except
// the long-poll hand-off (engine/waiter.hpp) and the group-commit thread.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "engine/one_shot.hpp"

namespace baton {

template <typename Work>
auto on_shard(boost::asio::io_context& owner, Work work) -> decltype(work()) {
  auto here = co_await boost::asio::this_coro::executor;
  if (here == owner.get_executor()) co_return co_await work();
  co_return co_await boost::asio::co_spawn(owner, std::move(work), boost::asio::use_awaitable);
}

// on_shard to several shards at once: work(i) runs on owners[i], all of them in parallel,
// and the caller resumes once every one has answered, with their results in order. The
// first exception, if any, travels back once all are done (none is left running on
// memory the caller owns).
template <typename Work>
auto on_shards(std::vector<boost::asio::io_context*> owners, Work work)
    -> boost::asio::awaitable<std::vector<typename decltype(work(std::size_t{}))::value_type>> {
  using R = typename decltype(work(std::size_t{}))::value_type;
  struct Gather {
    std::mutex mutex;
    std::size_t left = 0;
    std::vector<std::optional<R>> results;
    std::exception_ptr failure;
    OneShot<bool> done;
  };
  auto gather = std::make_shared<Gather>();
  gather->left = owners.size();
  gather->results.resize(owners.size());
  if (owners.empty()) gather->done.set(true);
  std::size_t spawned = 0;
  try {
    for (; spawned < owners.size(); ++spawned) {
      std::size_t i = spawned;
      boost::asio::co_spawn(
          *owners[i], [&work, i] { return work(i); },
          [gather, i](std::exception_ptr failure, R result) {
            std::lock_guard lock(gather->mutex);
            if (failure && !gather->failure) gather->failure = failure;
            if (!failure) gather->results[i].emplace(std::move(result));
            if (--gather->left == 0) gather->done.set(true);
          });
    }
  } catch (...) {
    // Those spawned run on `work`, which lives in this frame: wait for them, then fail.
    std::lock_guard lock(gather->mutex);
    if (!gather->failure) gather->failure = std::current_exception();
    gather->left -= owners.size() - spawned;
    if (gather->left == 0) gather->done.set(true);
  }
  co_await gather->done.wait();
  if (gather->failure) std::rethrow_exception(gather->failure);
  std::vector<R> results;
  results.reserve(owners.size());
  for (auto& result : gather->results) results.push_back(std::move(*result));
  co_return results;
}

}  // namespace baton
