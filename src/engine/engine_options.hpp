#pragma once
// What the local engine takes from the configuration, so engine/ does not depend on
// config/ (cli/serve.cpp fills it from config.storage, config.tasks and config.server).
#include "core/sync_mode.hpp"

namespace baton {

struct EngineOptions {
  SyncMode sync = SyncMode::batch;
  int group_commit_max_batch = 1024;  // transitions per RocksDB write, at most
  int retry_backoff_base_seconds = 2;  // first retry delay after a failure, doubling
  int retry_backoff_max_seconds = 300;
  int task_history_kept = 50;  // events a task's history keeps, the latest
  bool pin_shards = true;  // shard i runs on core i mod cores
  // The retention purge: how often it looks for terminal tasks past their account's
  // retention, and how many one shard removes per write (a turn of its thread).
  int purge_interval_seconds = 60;
  int purge_batch = 1000;
};

}  // namespace baton
