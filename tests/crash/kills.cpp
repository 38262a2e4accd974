#include "crash/kills.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace baton::crash {

namespace {

std::uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code error;
  std::uintmax_t size = std::filesystem::file_size(path, error);
  return error ? 0 : size;
}

std::string read_from(const std::string& path, std::uintmax_t offset) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

StartStage kill_while_starting(test::TestServer& server, std::chrono::microseconds delay) {
  const std::uintmax_t log_offset = file_size_or_zero(server.log_path());
  server.start_unready();
  std::this_thread::sleep_for(delay);
  server.kill9();
  // The server writes each log line with one write and flushes it (src/cli/log.cpp), so
  // what the log holds is what it had done when the kill came.
  const std::string log = read_from(server.log_path(), log_offset);
  if (log.find("\"msg\":\"listening\"") != std::string::npos) return StartStage::listening;
  if (log.find("\"msg\":\"storage opened and recovered\"") != std::string::npos)
    return StartStage::recovered;
  return StartStage::opening_storage;
}

}  // namespace baton::crash
