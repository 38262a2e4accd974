#include "store/records.hpp"

#include "store/keys.hpp"

#include <vector>

namespace baton::records {

namespace {

// 1: the spec's fields. 2: and the workflow's (dependencies, parent, review, acceptance).
// 3: and the cost and budget. 4: and the log's counters. 5: and the history.
constexpr char kTaskVersion = 5;
constexpr char kLogLineVersion = 1;
// 2: the plan is "" until the admin assigns one (version 1 wrote "free" for every account,
// and is read as ""). 3: and the account's own cost budget.
constexpr char kAccountVersion = 3;
constexpr char kKeyVersion = 1;
constexpr char kResponseVersion = 1;
// 1: status, type, priority, times. 2: and the assignment.
constexpr char kActiveVersion = 2;
constexpr char kWorkerStatsVersion = 1;
// 1: the lifecycle's counts. 2: and the cost reported.
constexpr char kUsageVersion = 2;
constexpr char kQueueFactsVersion = 1;
constexpr char kScheduleVersion = 1;
constexpr char kScheduleRunVersion = 1;

class Writer {
 public:
  explicit Writer(char version) {
    out_.reserve(256);  // a typical task record, so appends rarely reallocate
    out_.push_back(version);
  }
  void u64(std::uint64_t v) { keys::put_be64(out_, v); }
  void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  void opt(const std::optional<std::string>& s) {
    u8(s ? 1 : 0);
    if (s) str(*s);
  }
  void strings(const std::vector<std::string>& list) {
    u64(list.size());
    for (const std::string& s : list) str(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields in order; any overrun marks it failed, and the caller then rejects the record.
class Reader {
 public:
  Reader(std::string_view in, char version) : Reader(in, version, version) {}
  // Any version from `oldest` to `newest`: version() says which.
  Reader(std::string_view in, char oldest, char newest) : in_(in) {
    ok_ = !in_.empty() && in_[0] >= oldest && in_[0] <= newest;
    pos_ = 1;
  }
  char version() const { return in_.empty() ? 0 : in_[0]; }
  std::uint64_t u64() {
    if (!need(8)) return 0;
    std::uint64_t v = keys::get_be64(in_, pos_);
    pos_ += 8;
    return v;
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  int i32() { return static_cast<int>(i64()); }
  std::uint8_t u8() {
    if (!need(1)) return 0;
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  std::string str() {
    std::uint64_t size = u64();
    if (!need(size)) return {};
    std::string s(in_.substr(pos_, size));
    pos_ += size;
    return s;
  }
  std::optional<std::string> opt() {
    if (u8() == 0) return std::nullopt;
    return str();
  }
  std::vector<std::string> strings() {
    std::uint64_t count = u64();
    std::vector<std::string> list;
    // Each string takes at least its 8-byte length: a count past what is left is corrupt.
    if (!ok_ || count > (in_.size() - pos_) / 8) {
      ok_ = false;
      return list;
    }
    list.reserve(count);
    for (std::uint64_t i = 0; i < count && ok_; ++i) list.push_back(str());
    return list;
  }
  bool done() const { return ok_ && pos_ == in_.size(); }
  // Whether `count` items of at least `each` bytes fit in what is left; else it is corrupt.
  bool fits(std::uint64_t count, std::uint64_t each) {
    if (!ok_ || count > (in_.size() - pos_) / each) ok_ = false;
    return ok_;
  }
  void fail() { ok_ = false; }

 private:
  bool need(std::uint64_t n) {
    if (!ok_ || n > in_.size() - pos_) ok_ = false;
    return ok_;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = false;
};

void write_cost(Writer& w, const TaskCost& c) {
  w.i64(c.input_tokens);
  w.i64(c.output_tokens);
  w.i64(c.total_tokens);
  w.i64(c.usd_nanos);
  w.i64(c.cpu_time_ms);
  w.i64(c.subrequests);
}

TaskCost read_cost(Reader& r) {
  TaskCost c;
  c.input_tokens = r.i64();
  c.output_tokens = r.i64();
  c.total_tokens = r.i64();
  c.usd_nanos = r.i64();
  c.cpu_time_ms = r.i64();
  c.subrequests = r.i64();
  return c;
}

// An event's fixed part: at, kind, from, to, attempt, and the two strings' lengths.
constexpr std::uint64_t kEventMinBytes = 8 + 3 + 8 + 8 + 8;

void write_history(Writer& w, const TaskHistory& h) {
  w.u64(h.events.size());
  for (const TaskEvent& e : h.events) {
    w.i64(e.at);
    w.u8(static_cast<std::uint8_t>(e.kind));
    w.u8(static_cast<std::uint8_t>(e.from));
    w.u8(static_cast<std::uint8_t>(e.to));
    w.i64(e.attempt);
    w.str(e.worker);
    w.str(e.detail);
  }
  w.i64(h.dropped);
}

// Fails the reader on an unknown kind or status.
TaskHistory read_history(Reader& r) {
  TaskHistory h;
  std::uint64_t count = r.u64();
  if (!r.fits(count, kEventMinBytes)) return h;
  h.events.reserve(count);
  bool known = true;
  for (std::uint64_t i = 0; i < count; ++i) {
    TaskEvent e;
    e.at = r.i64();
    std::uint8_t kind = r.u8();
    std::uint8_t from = r.u8();
    std::uint8_t to = r.u8();
    known = known && kind < kTaskEventKindCount && from < kTaskStatusCount && to < kTaskStatusCount;
    e.kind = static_cast<TaskEventKind>(kind);
    e.from = static_cast<TaskStatus>(from);
    e.to = static_cast<TaskStatus>(to);
    e.attempt = r.i32();
    e.worker = r.str();
    e.detail = r.str();
    h.events.push_back(std::move(e));
  }
  h.dropped = r.i64();
  if (!known) r.fail();
  return h;
}

}  // namespace

std::string encode_task(const Task& t) {
  Writer w(kTaskVersion);
  w.str(t.id);
  w.str(t.account_id);
  w.str(t.type);
  w.str(t.payload_json);
  w.opt(t.result_json);
  w.opt(t.output_id);
  w.u8(static_cast<std::uint8_t>(t.status));
  w.i64(t.priority);
  w.i64(t.max_attempts);
  w.i64(t.attempt_count);
  w.i64(t.lease_duration_seconds);
  w.i64(t.lease_expires_at);
  w.str(t.claimed_by);
  w.str(t.lease_token);
  w.i64(t.scheduled_at);
  w.opt(t.failure_reason);
  w.i64(t.created_at);
  w.i64(t.updated_at);
  w.i64(t.completed_at);
  w.u8(t.cancelled_live_claim ? 1 : 0);
  w.strings(t.depends_on);
  w.strings(t.waiting_on);
  w.u8(t.run_on_dependency_failure ? 1 : 0);
  w.str(t.parent_task_id);
  w.u8(t.review_required ? 1 : 0);
  w.opt(t.review_feedback);
  w.opt(t.definition_of_done);
  w.str(t.verification_type);
  w.u8(t.auto_accept ? 1 : 0);
  w.i64(t.acceptance_timeout_seconds);
  w.u8(t.accept_on_timeout ? 1 : 0);
  w.i64(t.acceptance_deadline);
  w.u8(static_cast<std::uint8_t>(t.verification));
  w.opt(t.verification_notes);
  w.str(t.verification_task_id);
  w.str(t.verifies_task_id);
  w.i64(t.verifies_attempt);
  w.i64(t.claimed_at);
  w.str(t.assign_to);
  w.i64(t.assigned_until);
  write_cost(w, t.cost);
  w.i64(t.budget_usd_nanos);
  w.i64(t.log_first_seq);
  w.i64(t.log_last_seq);
  w.i64(t.log_bytes);
  w.i64(t.log_dropped);
  write_history(w, t.history);
  return w.take();
}

std::optional<Task> decode_task(std::string_view bytes) {
  Reader r(bytes, 1, kTaskVersion);
  Task t;
  t.id = r.str();
  t.account_id = r.str();
  t.type = r.str();
  t.payload_json = r.str();
  t.result_json = r.opt();
  t.output_id = r.opt();
  std::uint8_t status = r.u8();
  t.priority = r.i32();
  t.max_attempts = r.i32();
  t.attempt_count = r.i32();
  t.lease_duration_seconds = r.i32();
  t.lease_expires_at = r.i64();
  t.claimed_by = r.str();
  t.lease_token = r.str();
  t.scheduled_at = r.i64();
  t.failure_reason = r.opt();
  t.created_at = r.i64();
  t.updated_at = r.i64();
  t.completed_at = r.i64();
  t.cancelled_live_claim = r.u8() != 0;
  if (r.version() >= 2) {
    t.depends_on = r.strings();
    t.waiting_on = r.strings();
    t.run_on_dependency_failure = r.u8() != 0;
    t.parent_task_id = r.str();
    t.review_required = r.u8() != 0;
    t.review_feedback = r.opt();
    t.definition_of_done = r.opt();
    t.verification_type = r.str();
    t.auto_accept = r.u8() != 0;
    t.acceptance_timeout_seconds = r.i32();
    t.accept_on_timeout = r.u8() != 0;
    t.acceptance_deadline = r.i64();
    std::uint8_t verification = r.u8();
    if (verification > static_cast<std::uint8_t>(Verification::failed)) return std::nullopt;
    t.verification = static_cast<Verification>(verification);
    t.verification_notes = r.opt();
    t.verification_task_id = r.str();
    t.verifies_task_id = r.str();
    t.verifies_attempt = r.i32();
    t.claimed_at = r.i64();
    t.assign_to = r.str();
    t.assigned_until = r.i64();
  }
  if (r.version() >= 3) {
    t.cost = read_cost(r);
    t.budget_usd_nanos = r.i64();
  }
  if (r.version() >= 4) {
    t.log_first_seq = r.i64();
    t.log_last_seq = r.i64();
    t.log_bytes = r.i64();
    t.log_dropped = r.i64();
  }
  if (r.version() >= 5) t.history = read_history(r);
  if (!r.done() || status >= kTaskStatusCount) return std::nullopt;
  t.status = static_cast<TaskStatus>(status);
  return t;
}

std::string encode_log_line(const LogLine& line) {
  Writer w(kLogLineVersion);
  w.i64(line.seq);
  w.i64(line.at);
  w.str(line.level);
  w.str(line.message);
  w.str(line.data_json);
  w.str(line.worker_id);
  return w.take();
}

std::optional<LogLine> decode_log_line(std::string_view bytes) {
  Reader r(bytes, kLogLineVersion);
  LogLine line;
  line.seq = r.i64();
  line.at = r.i64();
  line.level = r.str();
  line.message = r.str();
  line.data_json = r.str();
  line.worker_id = r.str();
  if (!r.done()) return std::nullopt;
  return line;
}

ActiveEntry active_entry_of(const Task& task) {
  Millis deadline = task.status == TaskStatus::awaiting_acceptance ? task.acceptance_deadline
                                                                   : task.lease_expires_at;
  return ActiveEntry{task.status,   task.type, task.priority, task.scheduled_at, deadline,
                     task.assign_to, task.assigned_until};
}

std::string encode_active(const ActiveEntry& e) {
  Writer w(kActiveVersion);
  w.u8(static_cast<std::uint8_t>(e.status));
  w.str(e.type);
  w.i64(e.priority);
  w.i64(e.scheduled_at);
  w.i64(e.lease_expires_at);
  w.str(e.assign_to);
  w.i64(e.assigned_until);
  return w.take();
}

std::optional<ActiveEntry> decode_active(std::string_view bytes) {
  Reader r(bytes, 1, kActiveVersion);
  ActiveEntry e;
  std::uint8_t status = r.u8();
  e.type = r.str();
  e.priority = r.i32();
  e.scheduled_at = r.i64();
  e.lease_expires_at = r.i64();
  if (r.version() >= 2) {
    e.assign_to = r.str();
    e.assigned_until = r.i64();
  }
  if (!r.done() || status >= kTaskStatusCount) return std::nullopt;
  e.status = static_cast<TaskStatus>(status);
  return e;
}

std::string encode_account(const Account& a) {
  Writer w(kAccountVersion);
  w.str(a.id);
  w.str(a.label);
  w.str(a.plan);
  w.i64(a.created_at);
  w.i64(a.cost_budget_usd_nanos);
  return w.take();
}

std::optional<Account> decode_account(std::string_view bytes) {
  Reader r(bytes, 1, kAccountVersion);
  Account a;
  a.id = r.str();
  a.label = r.str();
  a.plan = r.str();
  if (r.version() == 1) a.plan.clear();
  a.created_at = r.i64();
  if (r.version() >= 3) a.cost_budget_usd_nanos = r.i64();
  if (!r.done()) return std::nullopt;
  return a;
}

std::string encode_key(const ApiKey& k) {
  Writer w(kKeyVersion);
  w.str(k.id);
  w.str(k.account_id);
  w.str(k.label);
  w.str(k.sha256);
  w.i64(k.created_at);
  return w.take();
}

std::optional<ApiKey> decode_key(std::string_view bytes) {
  Reader r(bytes, kKeyVersion);
  ApiKey k;
  k.id = r.str();
  k.account_id = r.str();
  k.label = r.str();
  k.sha256 = r.str();
  k.created_at = r.i64();
  if (!r.done()) return std::nullopt;
  return k;
}

std::string encode_usage(const UsageCounts& u) {
  Writer w(kUsageVersion);
  for (std::int64_t v : {u.created, u.claimed, u.completed, u.failed, u.dead_lettered,
                         u.cancelled, u.wait_ms_total, u.runs, u.run_ms_total}) {
    w.i64(v);
  }
  write_cost(w, u.cost);
  return w.take();
}

std::optional<UsageCounts> decode_usage(std::string_view bytes) {
  Reader r(bytes, 1, kUsageVersion);
  UsageCounts u;
  for (std::int64_t* v : {&u.created, &u.claimed, &u.completed, &u.failed, &u.dead_lettered,
                          &u.cancelled, &u.wait_ms_total, &u.runs, &u.run_ms_total}) {
    *v = r.i64();
  }
  if (r.version() >= 2) u.cost = read_cost(r);
  if (!r.done()) return std::nullopt;
  return u;
}

std::string encode_queue_facts(const QueueFacts& f) {
  Writer w(kQueueFactsVersion);
  w.i64(f.dead_lettered);
  w.u8(f.paused ? 1 : 0);
  w.i64(f.paused_at);
  return w.take();
}

std::optional<QueueFacts> decode_queue_facts(std::string_view bytes) {
  Reader r(bytes, kQueueFactsVersion);
  QueueFacts f;
  f.dead_lettered = r.i64();
  std::uint8_t paused = r.u8();
  f.paused_at = r.i64();
  if (!r.done() || paused > 1) return std::nullopt;
  f.paused = paused == 1;
  return f;
}

std::string encode_schedule(const Schedule& s) {
  Writer w(kScheduleVersion);
  for (const std::string* text : {&s.id, &s.account, &s.name, &s.cron, &s.timezone, &s.task_type,
                                  &s.template_json, &s.webhook_secret_sha256, &s.last_task_id}) {
    w.str(*text);
  }
  w.u8(s.enabled ? 1 : 0);
  w.u8(static_cast<std::uint8_t>(s.missed));
  for (std::int64_t v : {s.created_at, s.updated_at, s.next_due, s.runs, s.last_fired_at}) w.i64(v);
  return w.take();
}

std::optional<Schedule> decode_schedule(std::string_view bytes) {
  Reader r(bytes, kScheduleVersion);
  Schedule s;
  for (std::string* text : {&s.id, &s.account, &s.name, &s.cron, &s.timezone, &s.task_type,
                            &s.template_json, &s.webhook_secret_sha256, &s.last_task_id}) {
    *text = r.str();
  }
  std::uint8_t enabled = r.u8();
  std::uint8_t missed = r.u8();
  for (std::int64_t* v : {&s.created_at, &s.updated_at, &s.next_due, &s.runs, &s.last_fired_at}) *v = r.i64();
  if (!r.done() || enabled > 1 || missed > static_cast<std::uint8_t>(MissedPolicy::run_once)) {
    return std::nullopt;
  }
  s.enabled = enabled == 1;
  s.missed = static_cast<MissedPolicy>(missed);
  return s;
}

std::string encode_schedule_run(const ScheduleRun& run) {
  Writer w(kScheduleRunVersion);
  w.i64(run.seq);
  w.u8(static_cast<std::uint8_t>(run.trigger));
  w.i64(run.due_at);
  w.i64(run.fired_at);
  w.str(run.task_id);
  // By name: the catalog's order may change, its names do not.
  w.str(run.error == ErrorCode::none ? std::string_view() : error_info(run.error).name);
  return w.take();
}

std::optional<ScheduleRun> decode_schedule_run(std::string_view bytes) {
  Reader r(bytes, kScheduleRunVersion);
  ScheduleRun run;
  run.seq = r.i64();
  std::uint8_t trigger = r.u8();
  run.due_at = r.i64();
  run.fired_at = r.i64();
  run.task_id = r.str();
  std::string error = r.str();
  if (!r.done() || trigger > static_cast<std::uint8_t>(RunTrigger::missed)) return std::nullopt;
  run.trigger = static_cast<RunTrigger>(trigger);
  if (!error.empty()) {
    run.error = ErrorCode::server_error;  // a name this release does not know
    for (const ErrorInfo& info : error_catalog()) {
      if (info.name == error) run.error = info.code;
    }
  }
  return run;
}

std::string encode_worker_stats(const WorkerTypeStats& s) {
  Writer w(kWorkerStatsVersion);
  for (std::uint64_t v : {s.claims, s.completed, s.failed, s.expired, s.accepted, s.reworked,
                          s.complete_ms_total}) {
    w.u64(v);
  }
  w.i64(s.last_seen);
  return w.take();
}

std::optional<WorkerTypeStats> decode_worker_stats(std::string_view bytes) {
  Reader r(bytes, kWorkerStatsVersion);
  WorkerTypeStats s;
  for (std::uint64_t* v : {&s.claims, &s.completed, &s.failed, &s.expired, &s.accepted,
                           &s.reworked, &s.complete_ms_total}) {
    *v = r.u64();
  }
  s.last_seen = r.i64();
  if (!r.done()) return std::nullopt;
  return s;
}

std::string encode_response(const StoredResponse& s) {
  Writer w(kResponseVersion);
  w.str(s.request_hash);
  w.i64(s.status);
  w.str(s.body);
  w.i64(s.expires_at);
  return w.take();
}

std::optional<StoredResponse> decode_response(std::string_view bytes) {
  Reader r(bytes, kResponseVersion);
  StoredResponse s;
  s.request_hash = r.str();
  s.status = r.i32();
  s.body = r.str();
  s.expires_at = r.i64();
  if (!r.done()) return std::nullopt;
  return s;
}

}  // namespace baton::records
