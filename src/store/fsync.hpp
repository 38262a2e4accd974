#pragma once
// fsync by path, for files and directories the store writes outside RocksDB (the format
// file, snapshots): a rename or a new file is durable only once its directory is synced.
#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace baton {

enum class PathKind : bool { file, directory };

// False when the path cannot be opened or the sync fails (errno says why).
inline bool fsync_path(const std::string& path, PathKind kind) {
  int flags = O_RDONLY | O_CLOEXEC | (kind == PathKind::directory ? O_DIRECTORY : 0);
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace baton
