#pragma once
// RocksDB's own log lines (its "info log") go to Baton's log instead of a LOG file in the
// data directory: on a full disk RocksDB's file logger asserts on the line after one it
// could not write, which would take the server down with the disk (Debian's librocksdb
// keeps assertions on). Warnings and errors only: RocksDB's info lines (compaction
// statistics every few minutes) are for RocksDB's developers.
#include <memory>
#include <string_view>

namespace rocksdb {
class Logger;
}

namespace baton {

// Where RocksDB's lines go; without one, to stderr. Set once, before storage opens.
using StorageLogSink = void (*)(bool error, std::string_view line);
void set_storage_log(StorageLogSink sink);

std::shared_ptr<rocksdb::Logger> make_storage_logger();

}  // namespace baton
