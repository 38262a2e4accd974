#include "store/format.hpp"

#include <rocksdb/db.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "store/db.hpp"
#include "store/fsync.hpp"

namespace baton {

namespace {

namespace fs = std::filesystem;

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// The directory's format: 0 when it records none, -1 (and `problem`) when unreadable.
int recorded_format(const std::string& path, std::string& problem) {
  std::string file = path + "/" + kDataFormatFile;
  std::error_code error;
  if (!fs::exists(file, error)) {
    if (error) problem = "cannot read " + file + ": " + error.message();
    return error ? -1 : 0;
  }
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  std::string value = text.str();
  if (!in) {
    problem = "cannot read " + file;
    return -1;
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  int format = 0;
  auto [stop, failed] = std::from_chars(value.data(), value.data() + value.size(), format);
  if (failed != std::errc() || stop != value.data() + value.size() || format < 1) {
    problem = file + " does not hold a format number (\"" + value.substr(0, 32) +
              "\"): not a Baton data directory, or a damaged one";
    return -1;
  }
  return format;
}

}  // namespace

std::string check_data_directory(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return error ? "cannot read " + path + ": " + error.message() : "";
  std::string problem;
  int format = recorded_format(path, problem);
  if (format < 0) return problem;
  if (format > kDataFormat) {
    return "the data directory is in format " + std::to_string(format) +
           ", written by a newer Baton; this binary reads format " +
           std::to_string(kDataFormat) + ". Run the newer binary, or restore a backup taken "
           "before the upgrade (docs/operations.md, Upgrade)";
  }
  if (!fs::exists(path + "/CURRENT", error)) {
    if (error) return "cannot read " + path + "/CURRENT: " + error.message();
    return "";  // no database in it yet
  }

  std::vector<std::string> families;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families);
  if (!listed.ok()) return "cannot read the database's column families: " + listed.ToString();
  std::vector<std::string> unknown, missing;
  for (const auto& name : families) {
    bool ours = name == rocksdb::kDefaultColumnFamilyName;
    for (int i = 0; i < kCfCount && !ours; ++i) ours = name == cf_name(static_cast<Cf>(i));
    if (!ours) unknown.push_back(name);
  }
  for (int i = 0; i < kCfCount; ++i) {
    // Added after the first release: a data directory written before it gets it on open.
    if (static_cast<Cf>(i) == Cf::logs) continue;
    std::string name = cf_name(static_cast<Cf>(i));
    if (std::find(families.begin(), families.end(), name) == families.end()) missing.push_back(name);
  }
  if (!unknown.empty()) {
    return "the data directory holds column families this binary does not know (" +
           joined(unknown) + "): written by another build of Baton, with no migration to "
           "format " + std::to_string(kDataFormat) + ". Restore a backup taken with this version";
  }
  if (!missing.empty()) {
    return "not a Baton data directory: its RocksDB database lacks the column families " +
           joined(missing);
  }
  return "";
}

std::string record_data_format(const std::string& path) {
  std::string problem;
  int format = recorded_format(path, problem);
  if (format < 0) return problem;
  if (format > 0) return "";
  // Written whole, then renamed: a crash leaves either no file or the complete one.
  std::string file = path + "/" + kDataFormatFile, partial = file + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << kDataFormat << '\n';
    out.flush();
    if (!out) return "cannot write " + partial;
  }
  if (!fsync_path(partial, PathKind::file) || std::rename(partial.c_str(), file.c_str()) != 0 ||
      !fsync_path(path, PathKind::directory)) {
    return "cannot record the data format in " + file + ": " + std::strerror(errno);
  }
  return "";
}

}  // namespace baton
