#include "api/log_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "api/log_lines.hpp"
#include "api/render.hpp"

namespace baton::api {

namespace asio = boost::asio;

namespace {

// What a queued line is counted as against the buffer: its text and the JSON around it.
constexpr std::int64_t kLineOverhead = 160;
constexpr int kBacklogPage = 1000;

}  // namespace

LogStream::LogStream(asio::any_io_executor executor, TaskEngine& engine, std::string account,
                     std::string task_id, std::int64_t after, LogStreamOptions options,
                     std::unique_ptr<StreamSlots::Slot> slot)
    : executor_(executor),
      engine_(engine),
      account_(std::move(account)),
      task_id_(std::move(task_id)),
      options_(options),
      slot_(std::move(slot)),
      wake_(executor),
      after_(after) {}

void LogStream::begin(const LogSubscription& subscription) {
  subscribed_ = !subscription.terminal;
  if (subscription.terminal) {
    ended_ = true;
    end_status_ = subscription.task ? subscription.task->status : TaskStatus::completed;
  }
}

void LogStream::deliver(std::shared_ptr<const std::vector<LogLine>> lines) {
  asio::post(executor_, [self = shared_from_this(), lines = std::move(lines)] { self->on_lines(lines); });
}

void LogStream::end(std::string_view reason, TaskStatus status) {
  asio::post(executor_, [self = shared_from_this(), reason = std::string(reason), status] {
    self->on_end(reason, status);
  });
}

void LogStream::on_lines(const std::shared_ptr<const std::vector<LogLine>>& lines) {
  if (ended_ || stopped_) return;
  pending_.push_back(lines);
  for (const LogLine& line : *lines) pending_bytes_ += line.bytes() + kLineOverhead;
  if (pending_bytes_ > options_.buffer_bytes) {
    // Too far behind: what is queued is dropped, and so is the stream; the client
    // resumes from the last line it got (Last-Event-ID) when it can keep up.
    pending_.clear();
    pending_bytes_ = 0;
    leave();  // before on_end, which takes the stream as let go
    on_end("slow_reader", TaskStatus::pending);
    return;
  }
  wake_.cancel();
}

void LogStream::on_end(std::string reason, TaskStatus status) {
  if (ended_) return;
  ended_ = true;
  subscribed_ = false;  // the engine let it go
  end_reason_ = std::move(reason);
  end_status_ = status;
  wake_.cancel();
}

void LogStream::fail_backlog(std::string reason) {
  // Lines queued meanwhile come after the ones the backlog could not read: sending them
  // would leave a gap the client could not see. The stream ends here, with why, whatever
  // end it had before (a task over, a drain), so the client resumes from its last line.
  backlog_done_ = true;
  pending_.clear();
  pending_bytes_ = 0;
  leave();
  ended_ = true;
  end_reason_ = std::move(reason);
  wake_.cancel();
}

void LogStream::stop() {
  if (stopped_) return;
  stopped_ = true;
  leave();
  wake_.cancel();
}

void LogStream::drain() {
  leave();
  on_end("shutting_down", TaskStatus::pending);
}

void LogStream::leave() {
  if (!subscribed_) return;
  subscribed_ = false;
  engine_.unsubscribe_logs(task_id_, shared_from_this());
}

asio::awaitable<std::optional<std::string>> LogStream::backlog_page() {
  LogPage page = co_await engine_.read_logs(account_, task_id_, last_sent_, kBacklogPage);
  if (page.error != ErrorCode::none) {
    fail_backlog(page.error == ErrorCode::task_not_found ? "task_gone" : "unavailable");
    co_return std::nullopt;
  }
  if (static_cast<int>(page.lines.size()) < kBacklogPage) backlog_done_ = true;
  if (page.lines.empty()) co_return std::nullopt;
  last_sent_ = page.lines.back().seq;
  std::vector<const LogLine*> shown;
  for (const LogLine& line : page.lines) shown.push_back(&line);
  if (options_.framing == StreamFraming::sse) co_return frame(shown);
  // WebSocket: the whole backlog is the first message (seed 004); it is at most what the
  // task keeps (task_logs.max_task_bytes).
  for (const LogLine* line : shown) {
    if (!websocket_backlog_.empty()) websocket_backlog_.push_back(',');
    append_log_line(websocket_backlog_, *line, task_id_);
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<std::string>> LogStream::next() {
  // The backlog, a page per piece (SSE) or as one first message (WebSocket). A storage
  // fault ends the stream with a reason instead of escaping to the connection.
  if (!backlog_started_) {
    backlog_started_ = true;
    last_sent_ = after_;
  }
  // Once ended with a reason (a slow reader, a drain), the rest of the backlog is not read.
  while (!backlog_done_ && !stopped_ && (!ended_ || end_reason_.empty())) {
    std::optional<std::string> page;
    try {
      page = co_await backlog_page();
    } catch (const std::exception&) {
      fail_backlog("unavailable");
    }
    if (page) co_return page;
  }
  if (!backlog_done_) {
    // Cut short (a slow reader, a drain): live lines would come after a gap.
    pending_.clear();
    pending_bytes_ = 0;
  }
  if (options_.framing == StreamFraming::websocket && !websocket_backlog_sent_) {
    websocket_backlog_sent_ = true;
    co_return "{\"type\":\"logs\",\"data\":[" + std::exchange(websocket_backlog_, {}) + "]}";
  }
  for (;;) {
    if (stopped_) co_return std::nullopt;
    if (!pending_.empty()) {
      auto queued = std::exchange(pending_, {});
      pending_bytes_ = 0;
      std::vector<const LogLine*> shown;
      for (const auto& batch : queued) {
        for (const LogLine& line : *batch) {
          if (line.seq > last_sent_) shown.push_back(&line);
        }
      }
      if (!shown.empty()) {
        last_sent_ = shown.back()->seq;
        std::string piece = frame(shown);
        co_return piece;
      }
      continue;
    }
    if (ended_) {
      if (end_sent_) co_return std::nullopt;
      end_sent_ = true;
      co_return end_piece();
    }
    wake_.expires_after(std::chrono::seconds(options_.heartbeat_seconds));
    auto [error] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!error) co_return heartbeat_piece();  // idle for a whole interval
  }
}

std::string LogStream::frame(const std::vector<const LogLine*>& lines) const {
  std::string out;
  if (options_.framing == StreamFraming::websocket) {
    out = "{\"type\":\"logs\",\"data\":[";
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (i) out.push_back(',');
      append_log_line(out, *lines[i], task_id_);
    }
    out.append("]}");
    return out;
  }
  for (const LogLine* line : lines) {
    out.append("id: ").append(std::to_string(line->seq)).append("\ndata: ");
    append_log_line(out, *line, task_id_);
    out.append("\n\n");
  }
  return out;
}

std::string LogStream::end_piece() const {
  std::string data = "{\"taskId\":";
  append_json_string(data, task_id_);
  if (end_reason_.empty()) {
    data.append(",\"status\":\"").append(to_string(end_status_)).append("\"}");
  } else {
    data.append(",\"reason\":");
    append_json_string(data, end_reason_);
    data.push_back('}');
  }
  const char* kind = end_reason_.empty() ? "end" : "dropped";
  if (options_.framing == StreamFraming::websocket) {
    return "{\"type\":\"" + std::string(kind) + "\",\"data\":" + data + "}";
  }
  return "event: " + std::string(kind) + "\ndata: " + data + "\n\n";
}

std::string LogStream::heartbeat_piece() const {
  if (options_.framing == StreamFraming::websocket) return {};  // a ping
  return ": keep-alive\n\n";
}

}  // namespace baton::api
