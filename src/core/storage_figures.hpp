#pragma once
// What the storage engine reports of its own work for /metrics: syncs, stalls and
// compactions, cumulative since the process started unless a gauge.
#include <cstdint>

namespace baton {

struct StorageFigures {
  std::uint64_t wal_syncs = 0;              // fsyncs of the write-ahead log
  std::uint64_t wal_bytes = 0;              // bytes written to it
  std::uint64_t write_stall_micros = 0;     // time writes were delayed or stopped
  std::uint64_t compactions = 0;            // compactions finished, all column families
  std::uint64_t compaction_read_bytes = 0;
  std::uint64_t compaction_write_bytes = 0;
  // Gauges.
  std::uint64_t compactions_running = 0;
  std::uint64_t compaction_pending_bytes = 0;  // estimated bytes compaction still has to rewrite
  std::uint64_t delayed_write_rate = 0;        // bytes/s writes are held to; 0: not delayed
  bool write_stopped = false;
  std::uint64_t memtable_bytes = 0;
  std::uint64_t live_data_bytes = 0;           // table files, all column families
};

}  // namespace baton
