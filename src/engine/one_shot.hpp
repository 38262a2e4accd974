#pragma once
// A value delivered once to one waiting coroutine, possibly from another shard's thread.
// Used for long-poll hand-offs and commit completions. set() may come before or after
// wait(); the waiting coroutine always resumes on its own executor.
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <optional>

namespace baton {

template <typename T>
class OneShot {
 public:
  boost::asio::awaitable<T> wait() {
    return boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(T)>(
        [this](auto handler) {
          std::unique_lock lock(mutex_);
          if (value_) {
            T value = std::move(*value_);
            lock.unlock();
            auto executor = boost::asio::get_associated_executor(handler);
            boost::asio::post(executor, [handler = std::move(handler), value = std::move(value)]() mutable {
              std::move(handler)(std::move(value));
            });
            return;
          }
          executor_ = boost::asio::get_associated_executor(handler);
          handler_.emplace(std::move(handler));
        },
        boost::asio::use_awaitable);
  }

  // The first set() wins; later ones are ignored. Returns whether this one won.
  bool set(T value) {
    std::unique_lock lock(mutex_);
    if (done_) return false;
    done_ = true;
    if (handler_) {
      auto handler = std::move(*handler_);
      handler_.reset();
      lock.unlock();
      boost::asio::post(executor_, [handler = std::move(handler), value = std::move(value)]() mutable {
        std::move(handler)(std::move(value));
      });
    } else {
      value_ = std::move(value);
    }
    return true;
  }

  bool is_set() const {
    std::lock_guard lock(mutex_);
    return done_;
  }

 private:
  mutable std::mutex mutex_;  // only contended when a hand-off crosses shards
  bool done_ = false;
  std::optional<T> value_;
  boost::asio::any_io_executor executor_;  // the waiting coroutine's, where it resumes
  std::optional<boost::asio::any_completion_handler<void(T)>> handler_;
};

}  // namespace baton
