#pragma once
// The one door between shards: run `work` (a function returning awaitable<R>) on the
// shard that owns the data, and resume the caller on its own shard with the result.
// Exceptions travel back to the caller. Nothing else in Baton crosses threads, except
// the long-poll hand-off (engine/waiter.hpp) and the group-commit thread.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace baton {

template <typename Work>
auto on_shard(boost::asio::io_context& owner, Work work) -> decltype(work()) {
  auto here = co_await boost::asio::this_coro::executor;
  if (here == owner.get_executor()) co_return co_await work();
  co_return co_await boost::asio::co_spawn(owner, std::move(work), boost::asio::use_awaitable);
}

}  // namespace baton
