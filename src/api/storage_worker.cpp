#include "api/storage_worker.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <pthread.h>

#include <exception>

namespace baton::api {

namespace asio = boost::asio;

StorageWorker::StorageWorker(const char* thread_name)
    : pool_(std::make_unique<asio::thread_pool>(1)) {
  asio::post(*pool_, [thread_name] { pthread_setname_np(pthread_self(), thread_name); });
}

StorageWorker::~StorageWorker() { pool_->join(); }

asio::awaitable<StorageStatus> StorageWorker::run(std::function<StorageStatus()> work) {
  auto home = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(StorageStatus)>(
      [this, &work, home](auto handler) {
        asio::post(*pool_, [work = std::move(work), home, handler = std::move(handler)]() mutable {
          StorageStatus result = work();
          asio::post(home, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable);
}

asio::awaitable<void> StorageWorker::run(std::function<void()> work) {
  auto home = co_await asio::this_coro::executor;
  // What `work` throws is rethrown in the caller (use_awaitable does that with an
  // exception_ptr first argument), not out of the worker thread, which it would end.
  co_await asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr)>(
      [this, &work, home](auto handler) {
        asio::post(*pool_, [work = std::move(work), home, handler = std::move(handler)]() mutable {
          std::exception_ptr thrown;
          try {
            work();
          } catch (...) {
            thrown = std::current_exception();
          }
          asio::post(home, [handler = std::move(handler), thrown]() mutable {
            std::move(handler)(thrown);
          });
        });
      },
      asio::use_awaitable);
}

}  // namespace baton::api
