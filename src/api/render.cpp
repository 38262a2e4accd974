#include "api/render.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace baton::api {

namespace {

// True when one of the 8 bytes is a control character, '"' or '\\' (SWAR: a byte below
// 0x20, or equal to either, sets its high bit; bytes >= 0x80 never do, except as a
// borrow above a real hit, and a false alarm only sends the chunk to the slow path).
bool needs_escape(std::uint64_t chunk) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  std::uint64_t below_space = (chunk - 0x20 * kOnes) & ~chunk & kHigh;
  return (below_space | has_zero(chunk ^ ('"' * kOnes)) | has_zero(chunk ^ ('\\' * kOnes))) != 0;
}

// The most bytes a quoted JSON string of `size` input bytes can take: "\u00XX" per byte.
constexpr std::size_t quoted_bound(std::size_t size) { return 2 + 6 * size; }

// Every answer is written through a raw cursor into room reserved up front from an upper
// bound of its size (the *_bound functions below), so no single write checks capacity:
// a literal is a fixed-size copy, an integer one to_chars. Each answer carries ~30 keys
// and a contract; writing them through std::string::append cost twice as much. The room
// is a per-thread scratch buffer (a heap block for bodies larger than it), copied out once
// at the end, so nothing is zero-filled first. One cursor per thread at a time.
class Cursor {
 public:
  explicit Cursor(std::size_t max_bytes) {
    thread_local std::array<char, 32768> scratch;
    if (max_bytes <= scratch.size()) {
      base_ = scratch.data();
    } else {
      heap_ = std::make_unique_for_overwrite<char[]>(max_bytes);
      base_ = heap_.get();
    }
    p_ = base_;
  }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  void append_to(std::string& out) const { out.append(base_, static_cast<std::size_t>(p_ - base_)); }

  template <std::size_t N>
  void lit(const char (&text)[N]) {
    std::memcpy(p_, text, N - 1);
    p_ += N - 1;
  }
  void raw(std::string_view text) {
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
  }
  void boolean(bool value) {
    if (value) {
      lit("true");
    } else {
      lit("false");
    }
  }
  void integer(long long value) { p_ = std::to_chars(p_, p_ + 24, value).ptr; }
  void usd(std::int64_t nanos) {
    std::string text;
    append_usd(text, nanos);
    raw(text);
  }
  void time_or_null(Millis ms) {
    if (ms == 0) return lit("null");
    *p_++ = '"';
    p_ = write_rfc3339(p_, ms);
    *p_++ = '"';
  }
  void string_or_null(const std::string* text) {
    if (text) {
      string(*text);
    } else {
      lit("null");
    }
  }
  // Input is valid UTF-8 (it came through Boost.JSON's parser or from Baton itself); only
  // '"', '\\' and control characters need escaping. Clean 8-byte runs are skipped at once.
  void string(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    *p_++ = '"';
    std::size_t clean_from = 0;
    std::size_t i = 0;
    while (i < text.size()) {
      if (i + 8 <= text.size()) {
        std::uint64_t chunk;
        std::memcpy(&chunk, text.data() + i, 8);
        if (!needs_escape(chunk)) {
          i += 8;
          continue;
        }
      }
      unsigned char c = static_cast<unsigned char>(text[i++]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      raw(text.substr(clean_from, i - 1 - clean_from));
      clean_from = i;
      switch (c) {
        case '"': lit("\\\""); break;
        case '\\': lit("\\\\"); break;
        case '\n': lit("\\n"); break;
        case '\r': lit("\\r"); break;
        case '\t': lit("\\t"); break;
        case '\b': lit("\\b"); break;
        case '\f': lit("\\f"); break;
        default:
          lit("\\u00");
          *p_++ = kHex[c >> 4];
          *p_++ = kHex[c & 15];
      }
    }
    raw(text.substr(clean_from));
    *p_++ = '"';
  }

 private:
  std::unique_ptr<char[]> heap_;
  char* base_;
  char* p_;
};

std::size_t optional_size(const std::optional<std::string>& text) {
  return text ? text->size() : 0;
}

// Upper bounds of what write_task / write_contract emit: every fixed part (keys,
// punctuation, literals, integers, times) is covered by the constant, every string by
// its worst-case escaped size, stored JSON by its length.
// A cost object: six keys and six integers of at most 20 characters.
constexpr std::size_t kCostBound = 256;

std::size_t task_bound(const Task& t) {
  std::size_t strings = t.id.size() + t.type.size() + optional_size(t.output_id) +
                        t.claimed_by.size() + t.lease_token.size() +
                        optional_size(t.failure_reason) + 16 /* status */;
  std::size_t listed = 0;  // dependsOn and waitingOn: each id quoted, with a comma
  for (const std::string& id : t.depends_on) listed += id.size() + 1;
  for (const std::string& id : t.waiting_on) listed += id.size() + 1;
  strings += listed + t.parent_task_id.size() + optional_size(t.review_feedback) +
             optional_size(t.definition_of_done) + t.verification_type.size() +
             optional_size(t.verification_notes) + t.verification_task_id.size() +
             t.verifies_task_id.size() + t.assign_to.size();
  return 1024 + kCostBound + 6 * strings + t.payload_json.size() + optional_size(t.result_json);
}

void write_ids(Cursor& w, const std::vector<std::string>& ids) {
  w.lit("[");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) w.lit(",");
    w.string(ids[i]);
  }
  w.lit("]");
}

void write_cost(Cursor& w, const TaskCost& c) {
  w.lit("{\"inputTokens\":");
  w.integer(c.input_tokens);
  w.lit(",\"outputTokens\":");
  w.integer(c.output_tokens);
  w.lit(",\"totalTokens\":");
  w.integer(c.total_tokens);
  w.lit(",\"estimatedCostUsd\":");
  w.usd(c.usd_nanos);
  w.lit(",\"cpuTimeMs\":");
  w.integer(c.cpu_time_ms);
  w.lit(",\"subrequests\":");
  w.integer(c.subrequests);
  w.lit("}");
}

// Present only on tasks that use them, so a plain task's answer is the spec's shape.
void write_workflow_fields(Cursor& w, const Task& t) {
  if (!t.depends_on.empty()) {
    w.lit(",\"dependsOn\":");
    write_ids(w, t.depends_on);
    w.lit(",\"waitingOn\":");
    write_ids(w, t.waiting_on);
    w.lit(",\"onDependencyFailure\":");
    if (t.run_on_dependency_failure) {
      w.lit("\"run\"");
    } else {
      w.lit("\"cancel\"");
    }
  }
  if (!t.parent_task_id.empty()) {
    w.lit(",\"parentTaskId\":");
    w.string(t.parent_task_id);
  }
  if (t.review_required) {
    w.lit(",\"review\":{\"required\":true}");
  }
  if (t.review_feedback) {
    w.lit(",\"reviewFeedback\":");
    w.string(*t.review_feedback);
  }
  if (t.definition_of_done) {
    w.lit(",\"definitionOfDone\":");
    w.string(*t.definition_of_done);
  }
  if (!t.verification_type.empty()) {
    w.lit(",\"verification\":{\"type\":");
    w.string(t.verification_type);
    w.lit(",\"state\":");
    w.string(to_string(t.verification));
    w.lit(",\"taskId\":");
    w.string_or_null(t.verification_task_id.empty() ? nullptr : &t.verification_task_id);
    w.lit(",\"notes\":");
    w.string_or_null(t.verification_notes ? &*t.verification_notes : nullptr);
    w.lit("}");
  }
  if (t.has_acceptance_gate()) {
    w.lit(",\"autoAccept\":");
    w.boolean(t.auto_accept);
    w.lit(",\"acceptanceDeadline\":");
    w.time_or_null(t.status == TaskStatus::awaiting_acceptance ? t.acceptance_deadline : 0);
  }
  if (!t.verifies_task_id.empty()) {
    w.lit(",\"verifiesTaskId\":");
    w.string(t.verifies_task_id);
  }
  if (!t.cost.empty() || t.budget_usd_nanos > 0) {
    w.lit(",\"cost\":");
    write_cost(w, t.cost);
  }
  if (t.budget_usd_nanos > 0) {
    w.lit(",\"budgetUsd\":");
    w.usd(t.budget_usd_nanos);
  }
  if (!t.assign_to.empty()) {
    w.lit(",\"assignTo\":");
    w.string(t.assign_to);
    w.lit(",\"assignedUntil\":");
    w.time_or_null(t.assigned_until);
  }
}

std::size_t contract_bound(const Contract& c) {
  std::size_t bound = 512;
  if (c.billing_context) bound += 128 + 6 * c.billing_context->plan.size();
  if (c.budget_context) bound += 256;
  if (c.queue_context) bound += 64 + 6 * c.queue_context->type.size();
  for (const NextAction& a : c.next_actions) {
    bound += 256 + 6 * (a.description.size() + a.method.size() + a.endpoint.size() +
                        optional_size(a.output_id) + to_string(a.action).size());
  }
  return bound;
}

void write_task(Cursor& w, const Task& t, TaskView view) {
  w.lit("{\"id\":");
  w.string(t.id);
  w.lit(",\"type\":");
  w.string(t.type);
  w.lit(",\"status\":");
  w.string(to_string(t.status));
  w.lit(",\"payload\":");
  w.raw(t.payload_json);
  w.lit(",\"result\":");
  if (t.result_json) {
    w.raw(*t.result_json);
  } else {
    w.lit("null");
  }
  w.lit(",\"outputId\":");
  w.string_or_null(t.output_id ? &*t.output_id : nullptr);
  w.lit(",\"priority\":");
  w.integer(t.priority);
  w.lit(",\"maxAttempts\":");
  w.integer(t.max_attempts);
  w.lit(",\"attemptCount\":");
  w.integer(t.attempt_count);
  w.lit(",\"leaseDurationSeconds\":");
  w.integer(t.lease_duration_seconds);
  bool claimed = t.status == TaskStatus::claimed;
  w.lit(",\"leaseExpiresAt\":");
  w.time_or_null(claimed ? t.lease_expires_at : 0);
  w.lit(",\"claimedBy\":");
  w.string_or_null(t.claimed_by.empty() ? nullptr : &t.claimed_by);
  if (view.with_lease_token) {
    w.lit(",\"leaseToken\":");
    w.string(t.lease_token);
  }
  w.lit(",\"scheduledAt\":");
  w.time_or_null(t.scheduled_at);
  w.lit(",\"failureReason\":");
  w.string_or_null(t.failure_reason ? &*t.failure_reason : nullptr);
  w.lit(",\"createdAt\":");
  w.time_or_null(t.created_at);
  w.lit(",\"updatedAt\":");
  w.time_or_null(t.updated_at);
  w.lit(",\"completedAt\":");
  w.time_or_null(t.completed_at);
  write_workflow_fields(w, t);
  w.lit("}");
}

void write_contract(Cursor& w, const Contract& c) {
  w.lit("{\"version\":\"1\",\"retryable\":");
  w.boolean(c.retryable);
  w.lit(",\"next_actions\":[");
  bool first = true;
  for (const NextAction& a : c.next_actions) {
    if (first) {
      w.lit("{\"action\":");
    } else {
      w.lit(",{\"action\":");
    }
    first = false;
    w.string(to_string(a.action));
    w.lit(",\"available\":true,\"recommended\":");
    w.boolean(a.recommended);
    if (!a.description.empty()) {
      w.lit(",\"description\":");
      w.string(a.description);
    }
    if (!a.method.empty()) {
      w.lit(",\"method\":");
      w.string(a.method);
      w.lit(",\"endpoint\":");
      w.string(a.endpoint);
    }
    if (a.retry_after_seconds) {
      w.lit(",\"retry_after_seconds\":");
      w.integer(*a.retry_after_seconds);
    }
    if (a.output_id) {
      w.lit(",\"output_id\":");
      w.string(*a.output_id);
    }
    w.lit("}");
  }
  w.lit("]");
  if (c.task_claimable) {
    w.lit(",\"task_claimable\":");
    w.boolean(*c.task_claimable);
  }
  if (c.lease_valid) {
    w.lit(",\"lease_valid\":");
    w.boolean(*c.lease_valid);
  }
  if (c.lease_expires_in_seconds) {
    w.lit(",\"lease_expires_in_seconds\":");
    w.integer(*c.lease_expires_in_seconds);
  }
  if (c.recommended_heartbeat_interval_seconds) {
    w.lit(",\"recommended_heartbeat_interval_seconds\":");
    w.integer(*c.recommended_heartbeat_interval_seconds);
  }
  if (c.billing_context) {
    w.lit(",\"billing_context\":{\"plan\":");
    w.string(c.billing_context->plan);
    w.lit(",\"workers_in_use\":");
    w.integer(c.billing_context->workers_in_use);
    w.lit(",\"workers_limit\":");
    w.integer(c.billing_context->workers_limit);
    w.lit("}");
  }
  if (c.budget_context) {
    const BudgetContext& b = *c.budget_context;
    w.lit(",\"budget_context\":{\"reason\":\"budget_exceeded\",\"scope\":");
    if (b.scope == BudgetContext::Scope::task) {
      w.lit("\"task\"");
    } else {
      w.lit("\"month\"");
    }
    w.lit(",\"budget_usd\":");
    w.usd(b.budget_usd_nanos);
    w.lit(",\"spent_usd\":");
    w.usd(b.spent_usd_nanos);
    if (b.resets_at != 0) {
      w.lit(",\"resets_at\":");
      w.time_or_null(b.resets_at);
    }
    w.lit("}");
  }
  if (c.queue_context) {
    w.lit(",\"queue_context\":{\"reason\":\"queue_paused\",\"type\":");
    w.string(c.queue_context->type);
    w.lit("}");
  }
  w.lit("}");
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  Cursor w(quoted_bound(text.size()));
  w.string(text);
  w.append_to(out);
}

void append_json_string_or_null(std::string& out, std::string_view text) {
  if (text.empty()) {
    out.append("null");
  } else {
    append_json_string(out, text);
  }
}

std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  return out;
}

void append_task(std::string& out, const Task& t, TaskView view) {
  Cursor w(task_bound(t));
  write_task(w, t, view);
  w.append_to(out);
}

void append_contract(std::string& out, const Contract& c) {
  Cursor w(contract_bound(c));
  write_contract(w, c);
  w.append_to(out);
}

void append_cost(std::string& out, const TaskCost& cost) {
  Cursor w(kCostBound);
  write_cost(w, cost);
  w.append_to(out);
}

void append_children(std::string& out, const TaskChildren& children, const TaskCost& parent_cost) {
  out.append(",\"children\":{\"count\":").append(std::to_string(children.count));
  out.append(",\"ids\":[");
  for (std::size_t i = 0; i < children.ids.size(); ++i) {
    if (i) out.push_back(',');
    append_json_string(out, children.ids[i]);
  }
  out.append("],\"rollup\":{");
  for (int s = 0; s < kTaskStatusCount; ++s) {
    if (s) out.push_back(',');
    append_json_string(out, to_string(static_cast<TaskStatus>(s)));
    out.push_back(':');
    out.append(std::to_string(children.by_status[s]));
  }
  out.append("},\"cost\":");
  append_cost(out, children.cost);
  TaskCost total = parent_cost;
  total.add(children.cost);
  out.append(",\"total_cost\":");
  append_cost(out, total);
  out.push_back('}');
}

std::string task_body(const Task& task, Millis now, ContractSite site, TaskView view) {
  Contract contract = contract_for_task(task, now, site);
  Cursor w(64 + task_bound(task) + contract_bound(contract));
  w.lit("{\"task\":");
  write_task(w, task, view);
  w.lit(",\"agent_contract\":");
  write_contract(w, contract);
  w.lit("}");
  std::string out;
  w.append_to(out);
  return out;
}

std::string paused_claim_body(const std::string& type, int retry_after_seconds) {
  std::string out = "{\"task\":null,\"agent_contract\":";
  append_contract(out, contract_for_paused_queue(type, retry_after_seconds));
  out.push_back('}');
  return out;
}

std::string empty_claim_body(int retry_after_seconds) {
  std::string out = "{\"task\":null,\"agent_contract\":";
  append_contract(out, contract_for_empty_claim(retry_after_seconds));
  out.push_back('}');
  return out;
}

std::string error_body(std::string_view code, std::string_view message,
                       std::string_view request_id, const Contract& contract) {
  std::string out = "{\"error\":";
  append_json_string(out, code);
  out.append(",\"message\":");
  append_json_string(out, message);
  out.append(",\"request_id\":");
  append_json_string(out, request_id);
  out.append(",\"agent_contract\":");
  append_contract(out, contract);
  out.push_back('}');
  return out;
}

std::string error_body(ErrorCode code, std::string_view message, std::string_view request_id,
                       const std::string& task_id, int retry_after_seconds) {
  return error_body(error_info(code).name, message, request_id,
                    contract_for_error(code, task_id, retry_after_seconds));
}

}  // namespace baton::api
