#pragma once
// A connection's bytes in memory: the client's whole input is there from the start and is
// read in pieces no larger than a network packet; what the server writes is kept. Reads
// and writes complete at once, so a connection served over it runs to its end without a
// socket, a timer or another thread.
#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <cstring>
#include <string>

#include "http/session.hpp"

namespace baton::fuzz {

class MemoryStream final : public http::StreamLayer {
 public:
  static constexpr std::size_t kPacketBytes = 1500;

  MemoryStream(std::string input, std::string& output)
      : input_(std::move(input)), output_(output) {}

  boost::asio::awaitable<http::IoResult> read_some(boost::asio::mutable_buffer into) override {
    if (aborted_) co_return http::IoResult{boost::asio::error::operation_aborted, 0};
    if (at_ == input_.size()) co_return http::IoResult{boost::asio::error::eof, 0};
    std::size_t n = std::min({into.size(), input_.size() - at_, kPacketBytes});
    std::memcpy(into.data(), input_.data() + at_, n);
    at_ += n;
    co_return http::IoResult{boost::system::error_code(), n};
  }

  boost::asio::awaitable<http::IoResult> write(http::AnswerBuffers pieces) override {
    if (aborted_ || send_shut_) co_return http::IoResult{boost::asio::error::broken_pipe, 0};
    std::size_t n = 0;
    for (const auto& piece : pieces) {
      output_.append(static_cast<const char*>(piece.data()), piece.size());
      n += piece.size();
    }
    co_return http::IoResult{boost::system::error_code(), n};
  }

  void shutdown_send() override { send_shut_ = true; }
  void abort() override { aborted_ = true; }
  bool peer_done() const override { return at_ == input_.size(); }

 private:
  std::string input_;
  std::size_t at_ = 0;
  std::string& output_;
  bool send_shut_ = false;
  bool aborted_ = false;
};

}  // namespace baton::fuzz
