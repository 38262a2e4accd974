#include "store/format.hpp"

#include <rocksdb/write_batch.h>

#include <charconv>
#include <optional>

#include "store/db.hpp"
#include "store/keys.hpp"

namespace baton {

std::string check_format(Db& db) {
  std::optional<std::string> stored;
  try {
    stored = db.get(Cf::meta, keys::kMetaFormatVersion);
  } catch (const StorageError& failure) {
    return std::string("cannot read the data format: ") + failure.what();
  }
  int format = 0;  // 0: none recorded
  if (stored) {
    const char* end = stored->data() + stored->size();
    auto [stop, problem] = std::from_chars(stored->data(), end, format);
    if (problem != std::errc() || stop != end || format < 1) {
      return "the data format recorded in the meta family is not a format number (\"" +
             stored->substr(0, 32) + "\"): not a Baton data directory, or a damaged one";
    }
  }
  if (format > kDataFormat) {
    return "the data directory is in format " + std::to_string(format) +
           ", written by a newer Baton; this binary reads format " +
           std::to_string(kDataFormat) + ". Run the newer binary, or restore a backup taken "
           "before the upgrade (docs/operations.md, Upgrade)";
  }
  if (!db.unknown_families().empty()) {
    std::string names;
    for (const auto& name : db.unknown_families()) names += (names.empty() ? "" : ", ") + name;
    return "the data directory holds column families this binary does not know (" + names +
           "): written by another build of Baton, with no migration to this one. Restore "
           "a backup taken with this version";
  }
  if (format == 0) {
    // Every directory from before the format was recorded holds format 1.
    rocksdb::WriteBatch batch;
    std::string value = std::to_string(kDataFormat);
    batch.Put(db.cf(Cf::meta), keys::kMetaFormatVersion, value);
    std::string error = db.write(batch, true);
    if (!error.empty()) return "cannot record the data format: " + error;
  }
  return "";
}

}  // namespace baton
