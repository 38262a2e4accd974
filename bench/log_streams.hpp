#pragma once
// baton-bench's live log stream tools (--streams): idle Server-Sent Event streams held
// open while other phases run, and the fan-out of appended lines to a task's subscribers.
// Plain blocking POSIX sockets on threads of their own: the streams are not the load
// being measured, and a stream is one request and then only reading.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bench {

struct StreamTarget {
  std::string host;     // for connect(): a loopback IPv4 or IPv6 address
  int port = 0;
  std::string host_header, prefix, auth;  // the request's Host, path prefix, Authorization
};

// N connections, each an open stream of `task_id` that has answered its head. The
// destructor closes them.
class IdleStreams {
 public:
  IdleStreams(const StreamTarget& target, const std::string& task_id, int count);
  ~IdleStreams();
  IdleStreams(const IdleStreams&) = delete;
  IdleStreams& operator=(const IdleStreams&) = delete;
  int open() const { return static_cast<int>(fds_.size()); }

 private:
  std::vector<int> fds_;
};

// Per appended line: microseconds from the append's request until the last of the
// subscribers read it (`all_us`), and per subscriber and line (`each_us`).
struct FanOut {
  std::vector<double> all_us;
  std::vector<double> each_us;
  int subscribers = 0;
  int missing = 0;  // (subscriber, line) pairs never read within the timeout
};

// Opens `subscribers` streams of the task, then appends `lines` lines one request at a
// time with `append` (which sends one line and returns when it is answered), and times
// each line to every subscriber.
FanOut measure_fan_out(const StreamTarget& target, const std::string& task_id, int subscribers,
                       int lines, const std::function<bool()>& append);

}  // namespace bench
