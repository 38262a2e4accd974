// PgEngine's acceptance gates (docs/workflows.md): the verifications a gate starts and
// the verdicts it waits for, as every engine runs them (engine/verification.hpp), and
// their recovery. A gate's timeout is a deadline the sweeper expires (engine.cpp).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/failures.hpp"
#include "engine/verification.hpp"
#include "pg/engine_thread.hpp"
#include "pg/task_rows.hpp"
#include "store/records.hpp"

namespace baton::pg {

namespace asio = boost::asio;

void PgEngine::after_change(Thread& thread, const Task* before, const Task& after) {
  // A stream ends with its task: its last lines, then the end.
  if (is_terminal(after.status)) pull_later(thread, after.id);
  if (reaches_verification(before, after)) {
    asio::co_spawn(
        thread.io,
        [this, task = share(after)]() -> asio::awaitable<void> {
          co_await start_verification(*this, task);
        },
        log_exit("postgres verification"));
  } else if (ends_verifier(before, after)) {
    asio::co_spawn(thread.io, report_verification(*this, share(after)),
                   log_exit("postgres verification"));
  }
}

asio::awaitable<void> PgEngine::resume_gates(Thread& thread, bool at_start) {
  constexpr int kBatch = 100;
  // A change this recent is its own node's to follow up: it has just been made durable.
  constexpr Millis kGrace = 2000;
  Millis changed_before = at_start ? wall_now_ms() : wall_now_ms() - kGrace;
  Millis after_deadline = -1;
  std::string after_id;
  for (bool more = true; more && !shutting_down_;) {
    std::vector<std::shared_ptr<const Task>> open;
    {
      Lease connection = co_await thread.pool->acquire();
      Result gates = require(co_await connection->run(
          "open_gates", Params().integer(after_deadline).text(after_id).integer(kBatch)));
      for (int row = 0; row < gates.rows(); ++row) {
        after_deadline = gates.integer(row, 1);
        after_id = gates.text(row, 2);
        // A record this release cannot read (a newer node's, during an upgrade) is that
        // node's to resume; the rest are not held back by it.
        std::optional<Task> task = records::decode_task(gates.bytes(row, 0));
        if (task && task->verification == Verification::pending && task->updated_at <= changed_before) {
          open.push_back(share(std::move(*task)));
        }
      }
      more = gates.rows() == kBatch;
    }
    for (auto& task : open) {
      // One that cannot be resumed now (its verifier's type refused, storage) does not
      // hold back the others; the next look tries it again.
      try {
        co_await resume_verification(*this, std::move(task));
      } catch (const std::exception& failure) {
        note_failure(Failure::detached_coroutine, "postgres verification recovery", failure.what());
      }
    }
  }
}

}  // namespace baton::pg
