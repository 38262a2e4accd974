#include "store/storage_log.hpp"

#include <rocksdb/env.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace baton {

namespace {

std::atomic<StorageLogSink> sink{nullptr};

class StorageLogger final : public rocksdb::Logger {
 public:
  StorageLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list arguments) override {
    write(rocksdb::InfoLogLevel::WARN_LEVEL, format, arguments);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list arguments) override {
    if (level < GetInfoLogLevel()) return;
    write(level, format, arguments);
  }

 private:
  static void write(rocksdb::InfoLogLevel level, const char* format, va_list arguments) {
    char line[2048];
    int n = std::vsnprintf(line, sizeof line, format, arguments);
    if (n < 0) return;
    std::string_view text(line, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof line - 1));
    bool error = level >= rocksdb::InfoLogLevel::ERROR_LEVEL;
    if (StorageLogSink to = sink.load()) {
      to(error, text);
    } else {
      std::fprintf(stderr, "rocksdb %s: %.*s\n", error ? "error" : "warning",
                   static_cast<int>(text.size()), text.data());
    }
  }
};

}  // namespace

void set_storage_log(StorageLogSink to) { sink.store(to); }

std::shared_ptr<rocksdb::Logger> make_storage_logger() {
  return std::make_shared<StorageLogger>();
}

}  // namespace baton
