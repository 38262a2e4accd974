#pragma once
// One live stream of a task's log lines, to one client: the lines stored after its resume
// point first, then each line once durable, keep-alives while idle, and an end when the
// task reaches a terminal state. Framed as Server-Sent Events (one event per line, `id:`
// its seq) or as WebSocket messages (seed 004's {"type":"logs","data":[…]}, the backlog
// as the first).
//
// The engine calls deliver() and end() on the task's shard; they hand the news to the
// connection's thread, where everything else runs. Unsent lines are bounded by bytes: a
// client that reads slower than lines come is dropped with a reason, without holding up
// the task's shard or its other streams. Idle, a stream is a timer waiting for its next
// keep-alive.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "api/stream_access.hpp"
#include "engine/task_engine.hpp"
#include "http/message.hpp"

namespace baton::api {

enum class StreamFraming { sse, websocket };

struct LogStreamOptions {
  StreamFraming framing = StreamFraming::sse;
  std::int64_t buffer_bytes = 1 << 20;
  int heartbeat_seconds = 15;
};

class LogStream final : public http::BodyStream,
                        public LogSubscriber,
                        public std::enable_shared_from_this<LogStream> {
 public:
  LogStream(boost::asio::any_io_executor executor, TaskEngine& engine, std::string account,
            std::string task_id, std::int64_t after, LogStreamOptions options,
            std::unique_ptr<StreamSlots::Slot> slot);

  // Once subscribed: where the delivered lines start, and whether the task is over.
  void begin(const LogSubscription& subscription);

  // BodyStream, on the connection's thread. WebSocket framing: each piece is one text
  // message, and an empty piece asks for a ping.
  boost::asio::awaitable<std::optional<std::string>> next() override;
  void stop() override;
  void drain() override;

  // LogSubscriber, on the task's shard.
  void deliver(std::shared_ptr<const std::vector<LogLine>> lines) override;
  void end(std::string_view reason, TaskStatus status) override;

 private:
  // One page of the stored lines after last_sent_: an SSE piece, or (WebSocket) gathered
  // into the first message; nullopt when there is nothing to send yet.
  boost::asio::awaitable<std::optional<std::string>> backlog_page();
  void on_lines(const std::shared_ptr<const std::vector<LogLine>>& lines);
  void on_end(std::string reason, TaskStatus status);
  void leave();  // unsubscribes, once
  void fail_backlog(std::string reason);
  std::string frame(const std::vector<const LogLine*>& lines) const;
  std::string end_piece() const;
  std::string heartbeat_piece() const;

  boost::asio::any_io_executor executor_;
  TaskEngine& engine_;
  std::string account_;
  std::string task_id_;
  LogStreamOptions options_;
  std::unique_ptr<StreamSlots::Slot> slot_;
  boost::asio::steady_timer wake_;
  std::int64_t after_;          // the client's resume point
  std::int64_t last_sent_ = 0;  // the largest seq queued or sent
  std::deque<std::shared_ptr<const std::vector<LogLine>>> pending_;
  std::int64_t pending_bytes_ = 0;
  bool backlog_started_ = false;
  bool backlog_done_ = false;
  bool websocket_backlog_sent_ = false;
  std::string websocket_backlog_;  // the lines of the first WebSocket message, joined
  bool ended_ = false;        // no more lines will come
  bool end_sent_ = false;
  bool stopped_ = false;      // the client left, or the server drains
  bool subscribed_ = false;
  std::string end_reason_;    // "" when the task ended; else why the stream was dropped
  TaskStatus end_status_ = TaskStatus::pending;
};

}  // namespace baton::api
