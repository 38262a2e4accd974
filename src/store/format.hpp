#pragma once
// The data directory's format: which key layout and record encodings it holds. It is kept
// in a small file beside RocksDB's (`BATON_FORMAT`, as PostgreSQL keeps PG_VERSION), so it
// can be read before the database is opened: a binary that cannot serve a directory
// refuses it without writing anything there, and the build that wrote it can still open
// it. A later layout change raises the format and migrates older directories at start.
#include <string>

namespace baton {

// The format this binary writes. Raise it with any change to keys.hpp's layout, the
// column families, or a record encoding that an older binary would misread. A directory
// without the file is taken for format 1, so a later format must also be recognizable
// without it (by its column families, say) before it migrates anything.
inline constexpr int kDataFormat = 1;

inline constexpr const char* kDataFormatFile = "BATON_FORMAT";

// Looks at `path` without opening the database and without writing: "" when it can be
// served (missing, holding no database yet, or a Baton database in a format this binary
// reads), else why not. A database without a format file is format 1 (every directory
// written before the file existed); it must hold exactly Baton's column families.
std::string check_data_directory(const std::string& path);

// Once the database is open: writes the format file when it is missing (a new directory,
// or one from before the file existed), durably. "" or the error.
std::string record_data_format(const std::string& path);

}  // namespace baton
