#pragma once
// The data directory's format: which key layout and record encodings it holds, kept
// under the `meta` family's "format_version" key. A binary opens only formats it knows,
// so an older binary never reads (and rewrites) data whose layout it does not
// understand, and a later layout change knows what it has to migrate from.
#include <string>

namespace baton {

class Db;

// The format this binary writes. Raise it with any change to keys.hpp's layout or to a
// record encoding that an older binary would misread, and migrate in check_format().
inline constexpr int kDataFormat = 1;

// Checks the format of an opened database: records kDataFormat (synced) when none is
// stored (a new directory, or one written before the format was recorded, which is
// format 1). Returns "" when the directory can be served, else why it cannot.
std::string check_format(Db& db);

}  // namespace baton
