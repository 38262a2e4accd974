#pragma once
// Baton's tables in PostgreSQL, versioned like the RocksDB format file: a start creates
// them in an empty database, migrates an older version, and refuses a newer one (a node
// of an older release must not write rows it does not understand). Nodes starting at once
// take an advisory lock, so one of them migrates and the others find it done.
#include <string>

namespace baton::pg {

inline constexpr int kSchemaVersion = 4;

// "" once the schema is at kSchemaVersion; else why it is not (the server cannot be
// reached, the schema is newer, a statement failed). Blocking: called once at start.
std::string migrate(const std::string& url);

}  // namespace baton::pg
