#pragma once
// `baton backup` and `baton restore` (docs/operations.md, Backup and restore). Each
// prints what it did on stdout, or why not on stderr, and returns the exit code: 0 done,
// 1 refused or failed.
#include <string>

namespace baton {

// Asks the server at `url` (its admin API, with `admin_key`) for a snapshot at `to`, an
// absolute path on the server's machine; the server goes on serving meanwhile.
int backup(const std::string& url, const std::string& admin_key, const std::string& to);

// Copies the snapshot `from` into `data` (new or empty), for a server started on it
// afterwards. Run it with no server on `data`.
int restore(const std::string& from, const std::string& data);

}  // namespace baton
