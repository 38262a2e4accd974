#include "log_streams.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace bench {

namespace {

using Clock = std::chrono::steady_clock;

int connect_to(const StreamTarget& target) {
  bool v6 = target.host.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<std::uint16_t>(target.port));
    ::inet_pton(AF_INET6, target.host.c_str(), &a.sin6_addr);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(target.port));
    ::inet_pton(AF_INET, target.host.c_str(), &a.sin_addr);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) {
    ::close(fd);
    throw std::runtime_error("connect() to the server failed");
  }
  return fd;
}

// Sends the stream request and reads until its head and the first event field arrived.
void open_stream(int fd, const StreamTarget& target, const std::string& task_id) {
  std::string request = "GET " + target.prefix + "/v1/tasks/" + task_id +
                        "/logs/stream HTTP/1.1\r\nHost: " + target.host_header +
                        "\r\nAuthorization: " + target.auth + "\r\nAccept: text/event-stream\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    throw std::runtime_error("sending a stream request failed");
  }
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\nretry:") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) throw std::runtime_error("a stream closed before its head: " + head.substr(0, 200));
    head.append(buf, static_cast<std::size_t>(n));
    if (head.starts_with("HTTP/1.1 ") && !head.starts_with("HTTP/1.1 200")) {
      throw std::runtime_error("a stream was refused: " + head.substr(0, 300));
    }
  }
}

}  // namespace

IdleStreams::IdleStreams(const StreamTarget& target, const std::string& task_id, int count) {
  fds_.reserve(static_cast<std::size_t>(count));
  try {
    for (int i = 0; i < count; ++i) {
      fds_.push_back(connect_to(target));
      open_stream(fds_.back(), target, task_id);
    }
  } catch (...) {
    for (int fd : fds_) ::close(fd);
    throw;
  }
}

IdleStreams::~IdleStreams() {
  for (int fd : fds_) ::close(fd);
}

FanOut measure_fan_out(const StreamTarget& target, const std::string& task_id, int subscribers,
                       int lines, const std::function<bool()>& append) {
  FanOut out;
  out.subscribers = subscribers;
  std::vector<int> fds;
  for (int i = 0; i < subscribers; ++i) {
    fds.push_back(connect_to(target));
    open_stream(fds.back(), target, task_id);
  }
  // seq -> when each subscriber read it; the reader thread parses "id: N" lines.
  std::mutex mutex;
  std::map<long, std::vector<Clock::time_point>> seen;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    std::vector<std::string> partial(fds.size());
    std::vector<pollfd> polls;
    for (int fd : fds) polls.push_back(pollfd{fd, POLLIN, 0});
    char buf[65536];
    while (!done) {
      if (::poll(polls.data(), polls.size(), 50) <= 0) continue;
      auto now = Clock::now();
      for (std::size_t i = 0; i < polls.size(); ++i) {
        if (!(polls[i].revents & POLLIN)) continue;
        ssize_t n = ::recv(polls[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          polls[i].fd = -1;
          continue;
        }
        partial[i].append(buf, static_cast<std::size_t>(n));
        // Line by line: an event's "id: N" line names the seq it carries.
        std::size_t from = 0, newline;
        while ((newline = partial[i].find('\n', from)) != std::string::npos) {
          std::string_view line(partial[i].data() + from, newline - from);
          if (line.starts_with("id: ")) {
            long seq = std::stol(std::string(line.substr(4)));
            std::lock_guard lock(mutex);
            seen[seq].push_back(now);
          }
          from = newline + 1;
        }
        partial[i].erase(0, from);
      }
    }
  });
  // Lines get seqs 1, 2, …: the task is fresh.
  std::vector<Clock::time_point> sent;
  for (int i = 0; i < lines; ++i) {
    sent.push_back(Clock::now());
    if (!append()) break;
  }
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    std::lock_guard lock(mutex);
    auto it = seen.find(static_cast<long>(sent.size()));
    if (it != seen.end() && static_cast<int>(it->second.size()) >= subscribers) break;
  }
  done = true;
  reader.join();
  for (int fd : fds) ::close(fd);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    auto it = seen.find(static_cast<long>(i + 1));
    int got = it == seen.end() ? 0 : static_cast<int>(it->second.size());
    out.missing += subscribers - got;
    if (got == 0) continue;
    Clock::time_point last = sent[i];
    for (auto at : it->second) {
      out.each_us.push_back(std::chrono::duration<double, std::micro>(at - sent[i]).count());
      last = std::max(last, at);
    }
    if (got == subscribers) {
      out.all_us.push_back(std::chrono::duration<double, std::micro>(last - sent[i]).count());
    }
  }
  return out;
}

}  // namespace bench
