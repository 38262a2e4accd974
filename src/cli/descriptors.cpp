#include "cli/descriptors.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <limits>

namespace baton {

DescriptorBudget split_descriptors(std::uint64_t limit, int wanted, int table_files, int shards) {
  DescriptorBudget budget;
  budget.limit = limit;
  budget.reserved = static_cast<std::uint64_t>(std::max(table_files, 0)) + kStorageFixedDescriptors +
                    kShardDescriptors * static_cast<std::uint64_t>(std::max(shards, 1)) +
                    kSpareDescriptors;
  std::uint64_t room = limit > budget.reserved ? limit - budget.reserved : 0;
  budget.connections = static_cast<int>(std::min<std::uint64_t>(room, static_cast<std::uint64_t>(wanted)));
  return budget;
}

DescriptorBudget plan_descriptors(int wanted, int table_files, int shards) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return split_descriptors(std::numeric_limits<std::uint64_t>::max(), wanted, table_files, shards);
  }
  if (limit.rlim_cur != limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    // Linux caps the soft limit at fs.nr_open even when the hard limit is unlimited.
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0 && limit.rlim_max == RLIM_INFINITY) {
      raised.rlim_cur = 1 << 20;
      ::setrlimit(RLIMIT_NOFILE, &raised);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  std::uint64_t in_force = limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max()
                                                           : static_cast<std::uint64_t>(limit.rlim_cur);
  return split_descriptors(in_force, wanted, table_files, shards);
}

}  // namespace baton
