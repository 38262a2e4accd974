#include "store/keys.hpp"

#include <cstring>

namespace baton::keys {

void put_be16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

void put_be64(std::string& out, std::uint64_t value) {
  // Records are built from many of these: one append, not eight push_backs.
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(value >> (56 - 8 * i));
  out.append(bytes, sizeof bytes);
}

void put_string8(std::string& out, std::string_view text) {
  std::size_t size = text.size() > 255 ? 255 : text.size();
  out.push_back(static_cast<char>(size));
  out.append(text.data(), size);
}

std::uint16_t get_be16(std::string_view in, std::size_t pos) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(in[pos]) << 8) |
                                    static_cast<std::uint8_t>(in[pos + 1]));
}

std::uint64_t get_be64(std::string_view in, std::size_t pos) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<std::uint8_t>(in[pos + i]);
  return value;
}

std::uint64_t order_time(Millis ms) {
  return static_cast<std::uint64_t>(ms) ^ (std::uint64_t{1} << 63);
}

Millis unorder_time(std::uint64_t bits) {
  return static_cast<Millis>(bits ^ (std::uint64_t{1} << 63));
}

namespace {

void put_ulid(std::string& out, const Ulid& id) {
  out.append(reinterpret_cast<const char*>(id.data()), id.size());
}

Ulid get_ulid(std::string_view in, std::size_t pos) {
  Ulid id;
  std::memcpy(id.data(), in.data() + pos, id.size());
  return id;
}

// Reads a length-prefixed string at `pos`, advancing it; false when it overruns.
bool get_string8(std::string_view in, std::size_t& pos, std::string& out) {
  if (pos >= in.size()) return false;
  std::size_t size = static_cast<std::uint8_t>(in[pos]);
  if (pos + 1 + size > in.size()) return false;
  out.assign(in.data() + pos + 1, size);
  pos += 1 + size;
  return true;
}

}  // namespace

std::string task_key(int vnode, const Ulid& id) {
  std::string out;
  out.reserve(18);
  put_be16(out, static_cast<std::uint16_t>(vnode));
  put_ulid(out, id);
  return out;
}

std::string task_key(const Ulid& id) { return task_key(ulid_vnode(id), id); }

std::optional<Ulid> task_key_id(std::string_view key) {
  if (key.size() != 18) return std::nullopt;
  return get_ulid(key, 2);
}

std::string active_prefix(std::string_view account) {
  std::string out;
  put_string8(out, account);
  return out;
}

std::string active_key_from(std::string_view account, Millis ms) {
  Ulid floor{};
  auto bits = static_cast<std::uint64_t>(ms < 0 ? 0 : ms);
  for (int i = 5; i >= 0; --i, bits >>= 8) floor[i] = static_cast<std::uint8_t>(bits & 0xff);
  return active_key(account, floor);
}

std::string active_key(std::string_view account, const Ulid& id) {
  std::string out = active_prefix(account);
  put_ulid(out, id);
  return out;
}

std::optional<ActiveKey> decode_active_key(std::string_view in) {
  ActiveKey key;
  std::size_t pos = 0;
  if (!get_string8(in, pos, key.account) || pos + 16 != in.size()) return std::nullopt;
  key.id = get_ulid(in, pos);
  return key;
}

std::string list_prefix(ListIndex index, std::string_view account, std::string_view type,
                        TaskStatus status) {
  std::string out;
  out.push_back(static_cast<char>(index));
  put_string8(out, account);
  if (index == ListIndex::by_type || index == ListIndex::by_type_status) put_string8(out, type);
  if (index == ListIndex::by_status || index == ListIndex::by_type_status) {
    out.push_back(static_cast<char>(status));
  }
  return out;
}

std::string list_key(ListIndex index, std::string_view account, std::string_view type,
                     TaskStatus status, const Ulid& id) {
  std::string out = list_prefix(index, account, type, status);
  put_ulid(out, id);
  return out;
}

std::optional<Ulid> list_key_id(std::string_view key) {
  if (key.size() < 17) return std::nullopt;
  return get_ulid(key, key.size() - 16);
}

std::string children_prefix(std::string_view account, const Ulid& parent) {
  std::string out(1, 'C');
  put_string8(out, account);
  put_ulid(out, parent);
  return out;
}

std::string child_key(std::string_view account, const Ulid& parent, const Ulid& child) {
  std::string out = children_prefix(account, parent);
  put_ulid(out, child);
  return out;
}

std::string worker_stats_key(std::string_view account, std::string_view worker,
                             std::string_view type) {
  // A worker id is up to 200 characters, so up to 800 bytes: a two-byte length.
  std::string out(kWorkerStatsPrefix);
  put_string8(out, account);
  put_be16(out, static_cast<std::uint16_t>(worker.size()));
  out.append(worker);
  put_string8(out, type);
  return out;
}

std::optional<WorkerStatsKey> decode_worker_stats_key(std::string_view key) {
  if (!key.starts_with(kWorkerStatsPrefix)) return std::nullopt;
  std::size_t pos = kWorkerStatsPrefix.size();
  WorkerStatsKey out;
  for (std::string* part : {&out.account, &out.worker, &out.type}) {
    std::size_t width = part == &out.worker ? 2 : 1;
    if (width > key.size() - pos) return std::nullopt;
    std::size_t length = width == 2 ? get_be16(key, pos) : static_cast<unsigned char>(key[pos]);
    pos += width;
    if (length > key.size() - pos) return std::nullopt;
    part->assign(key.substr(pos, length));
    pos += length;
  }
  if (pos != key.size()) return std::nullopt;
  return out;
}

std::string usage_key_from(std::string_view account, std::int64_t hour) {
  std::string out(kUsagePrefix);
  put_string8(out, account);
  put_be64(out, static_cast<std::uint64_t>(hour));
  return out;
}

std::string usage_key(std::string_view account, std::int64_t hour, std::string_view type) {
  std::string out = usage_key_from(account, hour);
  put_string8(out, type);
  return out;
}

std::optional<UsageKey> decode_usage_key(std::string_view key) {
  if (!key.starts_with(kUsagePrefix)) return std::nullopt;
  std::size_t pos = kUsagePrefix.size();
  UsageKey out;
  if (pos >= key.size()) return std::nullopt;
  std::size_t length = static_cast<unsigned char>(key[pos++]);
  if (length > key.size() - pos) return std::nullopt;
  out.account.assign(key.substr(pos, length));
  pos += length;
  if (8 > key.size() - pos) return std::nullopt;
  out.hour = static_cast<std::int64_t>(get_be64(key, pos));
  pos += 8;
  if (pos >= key.size()) return std::nullopt;
  length = static_cast<unsigned char>(key[pos++]);
  if (length != key.size() - pos) return std::nullopt;
  out.type.assign(key.substr(pos));
  return out;
}

std::string queue_facts_prefix(std::string_view account) {
  std::string out(kQueueFactsPrefix);
  put_string8(out, account);
  return out;
}

std::string queue_facts_key(std::string_view account, std::string_view type) {
  std::string out = queue_facts_prefix(account);
  put_string8(out, type);
  return out;
}

std::optional<QueueFactsKey> decode_queue_facts_key(std::string_view key) {
  if (!key.starts_with(kQueueFactsPrefix)) return std::nullopt;
  std::size_t pos = kQueueFactsPrefix.size();
  QueueFactsKey out;
  if (pos >= key.size()) return std::nullopt;
  std::size_t length = static_cast<unsigned char>(key[pos++]);
  if (length > key.size() - pos) return std::nullopt;
  out.account.assign(key.substr(pos, length));
  pos += length;
  if (pos >= key.size()) return std::nullopt;
  length = static_cast<unsigned char>(key[pos++]);
  if (length != key.size() - pos) return std::nullopt;
  out.type.assign(key.substr(pos));
  return out;
}

std::string schedule_key(const Ulid& schedule) {
  std::string out(kSchedulePrefix);
  put_ulid(out, schedule);
  return out;
}

std::optional<Ulid> schedule_key_id(std::string_view key) {
  if (key.size() != kSchedulePrefix.size() + 16 || !key.starts_with(kSchedulePrefix)) return std::nullopt;
  return get_ulid(key, kSchedulePrefix.size());
}

std::string schedule_runs_prefix(const Ulid& schedule) {
  std::string out("H");
  put_ulid(out, schedule);
  return out;
}

std::string schedule_run_key(const Ulid& schedule, std::int64_t seq) {
  std::string out = schedule_runs_prefix(schedule);
  put_be64(out, static_cast<std::uint64_t>(seq));
  return out;
}

std::optional<std::int64_t> schedule_run_seq(std::string_view key) {
  if (key.size() != 1 + 16 + 8 || key[0] != 'H') return std::nullopt;
  return static_cast<std::int64_t>(get_be64(key, 17));
}

std::string log_key(const Ulid& task, std::int64_t seq) {
  std::string key(reinterpret_cast<const char*>(task.data()), task.size());
  put_be64(key, static_cast<std::uint64_t>(seq));
  return key;
}

std::optional<std::int64_t> log_key_seq(std::string_view key) {
  if (key.size() != std::tuple_size_v<Ulid> + 8) return std::nullopt;
  return static_cast<std::int64_t>(get_be64(key, std::tuple_size_v<Ulid>));
}

std::string idempotency_key(std::string_view account, std::string_view method,
                            std::string_view path, std::string_view key) {
  std::string out;
  put_string8(out, account);
  put_string8(out, method);
  put_string8(out, path);
  out.append(key);
  return out;
}

std::string key_by_hash(std::string_view sha256) {
  std::string out = "h";
  out.append(sha256);
  return out;
}

std::string key_by_account(std::string_view account, std::string_view key_id) {
  std::string out = key_by_account_prefix(account);
  out.append(key_id);
  return out;
}

std::string key_by_account_prefix(std::string_view account) {
  std::string out = "a";
  put_string8(out, account);
  return out;
}

}  // namespace baton::keys
