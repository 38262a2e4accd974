#pragma once
// What PgEngine keeps per thread, and the helpers its files share.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "core/errors.hpp"
#include "core/usage.hpp"
#include "core/ulid.hpp"
#include "pg/engine.hpp"
#include "pg/pool.hpp"

namespace baton::pg {

struct PgEngine::Thread {
  explicit Thread(int i)
      : index(i), ulids(std::random_device{}()), random(std::random_device{}()) {}
  int index;
  // Before io: the pool outlives the coroutine frames io destroys, whose leases go back
  // to it (PgEngine's destructor abandons it first, so they are only closed).
  std::unique_ptr<Pool> pool;
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work =
      boost::asio::make_work_guard(io);
  UlidGenerator ulids;
  std::mt19937_64 random;
  std::thread thread;
};

// A parked claim. Listed node-wide (PgEngine::waiting_); its timer is its thread's, so a
// wake from another thread is posted there. woken and leaving are read and written under
// waiting_mutex_.
struct PgEngine::Waiter {
  Waiter(Thread& t, std::string a, std::optional<std::string> ty, std::uint64_t o,
         std::chrono::steady_clock::time_point until)
      : home(&t), account(std::move(a)), type(std::move(ty)), order(o), until(until), timer(t.io) {}
  Thread* home;
  std::string account;
  std::optional<std::string> type;  // nullopt: any type of the account
  std::uint64_t order;  // when its claim first parked: a claim that parks again keeps its place
  std::chrono::steady_clock::time_point until;  // when it looks again by itself
  boost::asio::steady_timer timer;  // cancelled (on its thread) to wake it
  bool woken = false;
  bool leaving = false;  // its client left: not one to wake
};

// The result when it is ok; else StorageError with PostgreSQL's message (answered 503).
inline Result require(Result result) {
  if (!result.ok()) throw StorageError("postgres: " + result.error());
  return result;
}

// Idempotency keys (engine_tasks.cpp). The key's scope (account, method, path, key) as one
// fixed-size text; the parameters of "take_idempotency", which takes the key when this is
// the first request with it (or it expired) and fails with kNoRowChanged when an answer is
// stored under it; and whether its answer says so.
std::string scope_of(const std::string& account, const IdempotencyRequest& request);
Params key_params(const std::string& scope, const IdempotencyRequest& request, Millis now);
bool key_held(const Result& taken);

// Waits `wait` on `timer` (cancelled or not).
boost::asio::awaitable<void> wait_for(boost::asio::steady_timer& timer, std::chrono::milliseconds wait);

// Ends a detached coroutine's exception in the failure log instead of the process.
std::function<void(std::exception_ptr)> log_exit(std::string_view where);

// A pipeline's answers when all are ok; else StorageError with the first failure's message.
std::vector<Result> require(std::vector<Result> results);

// Checks the answer of "update_task" for `task`: a row that is not there as the record says
// (its account or type changed by hand) has failed the transaction, which must not answer
// a change that was not stored.
void require_updated(const Result& updated, const Task& task);

// The parameters of add_usage for the transition before -> after (before null: a
// create) decided at `now`; false when it changes no figure (nothing to add).
bool usage_params(Params& out, const Task* before, const Task& after, Millis now);

// What the transitions of one transaction decided at `now` add to usage, summed into one
// add_usage row per (account, type): a batch of a thousand creates adds one row, not a
// thousand, so the fold and the reports have fewer rows to read.
class UsageSum {
 public:
  explicit UsageSum(Millis now) : now_(now) {}
  void add(const Task* before, const Task& after);
  std::vector<Params> rows() const;  // the parameters of each add_usage

 private:
  Millis now_;
  std::map<std::pair<std::string, std::string>, UsageCounts> sums_;
};

// The parameters of add_worker for the transition before -> after decided at `now`;
// false when it concerns no named worker (engine_workers.cpp).
bool worker_params(Params& out, const Task* before, const Task& after, Millis now);

// Links between tasks (engine_links.cpp).
std::string text_array(const std::vector<std::string>& items);  // a text[] parameter
// Whether the answers of lock_dependencies and read_parent (each null when not asked)
// let `request` be created: dependency_not_found when a linked task is missing or another
// account's. Sets its waiting_on and dependency_failed, as LocalEngine does.
ErrorCode resolve_links(const Result* dependencies, const Result* parent, CreateRequest& request);
// The notices for the dependents (dependents_of's answer) of a task that just finished.
std::vector<PgEngine::DependencyNotice> dependents_told(const Task& finished, const Result& dependents);
// A parent's children from children_of's answer; null when it has none.
std::shared_ptr<const TaskChildren> children_of(const Result& rows);

}  // namespace baton::pg
