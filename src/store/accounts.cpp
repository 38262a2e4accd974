#include "store/accounts.hpp"

#include <openssl/crypto.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <stdexcept>

#include "core/sha256.hpp"
#include "store/keys.hpp"

namespace baton::store {

namespace {
rocksdb::Slice slice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }
}  // namespace

StorageStatus put_key(Db& db, const records::Account* account, const records::ApiKey& key) {
  std::string record = records::encode_key(key);
  // Registration is rare; a synced write here keeps a returned key valid after a crash.
  // Built under the database's lock: this runs off the shard threads (Db::write_built).
  return db.write_built(
      [&](rocksdb::WriteBatch& batch) {
        if (account) {
          batch.Put(db.cf(Cf::accounts), slice(account->id), slice(records::encode_account(*account)));
        }
        batch.Put(db.cf(Cf::keys), slice(keys::key_by_hash(key.sha256)), slice(record));
        batch.Put(db.cf(Cf::keys), slice(keys::key_by_account(key.account_id, key.id)), slice(record));
      },
      true);
}

std::optional<records::ApiKey> find_key_by_secret(Db& db, std::string_view secret) {
  std::string hash = sha256_bytes(secret);
  auto bytes = db.get(Cf::keys, keys::key_by_hash(hash));
  if (!bytes) return std::nullopt;
  auto key = records::decode_key(*bytes);
  if (!key || key->sha256.size() != hash.size() ||
      CRYPTO_memcmp(key->sha256.data(), hash.data(), hash.size()) != 0) {
    return std::nullopt;
  }
  return key;
}

std::vector<records::ApiKey> list_keys(Db& db, const std::string& account) {
  std::vector<records::ApiKey> out;
  std::string prefix = keys::key_by_account_prefix(account);
  auto it = db.iterate(Cf::keys);
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    auto key = records::decode_key(std::string_view(it->value().data(), it->value().size()));
    if (key) out.push_back(std::move(*key));
  }
  return out;
}

StorageStatus revoke_key(Db& db, const std::string& account, const std::string& key_id,
                         bool& found) {
  auto bytes = db.get(Cf::keys, keys::key_by_account(account, key_id));
  auto key = bytes ? records::decode_key(*bytes) : std::nullopt;
  found = key.has_value();
  if (!found) return {};
  return db.write_built(
      [&](rocksdb::WriteBatch& batch) {
        batch.Delete(db.cf(Cf::keys), slice(keys::key_by_hash(key->sha256)));
        batch.Delete(db.cf(Cf::keys), slice(keys::key_by_account(account, key_id)));
      },
      true);
}

std::vector<std::string> account_ids(Db& db) {
  std::vector<std::string> out;
  auto it = db.iterate(Cf::accounts);
  for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key().data(), it->key().size());
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  return out;
}

std::optional<records::Account> find_account(Db& db, const std::string& account) {
  auto bytes = db.get(Cf::accounts, account);
  if (!bytes) return std::nullopt;
  return records::decode_account(*bytes);
}

std::vector<records::Account> list_accounts(Db& db, const std::string& after, int limit) {
  std::vector<records::Account> out;
  auto it = db.iterate(Cf::accounts);
  rocksdb::Slice start(after.data(), after.size());
  for (after.empty() ? it->SeekToFirst() : it->Seek(start); it->Valid() && static_cast<int>(out.size()) < limit;
       it->Next()) {
    if (!after.empty() && it->key() == start) continue;
    auto account = records::decode_account(std::string_view(it->value().data(), it->value().size()));
    if (account) out.push_back(std::move(*account));
  }
  if (!it->status().ok()) throw StorageError(it->status().ToString());
  return out;
}

StorageStatus set_plan(Db& db, const std::string& account, const std::string& plan, bool& found) {
  return update_account(db, account, [&](records::Account& stored) { stored.plan = plan; }, found);
}

StorageStatus set_cost_budget(Db& db, const std::string& account, std::int64_t nanos, bool& found) {
  return update_account(
      db, account, [&](records::Account& stored) { stored.cost_budget_usd_nanos = nanos; }, found);
}

StorageStatus update_account(Db& db, const std::string& account,
                             const std::function<void(records::Account&)>& change, bool& found) {
  std::optional<records::Account> stored = find_account(db, account);
  found = stored.has_value();
  if (!found) return {};
  change(*stored);
  std::string record = records::encode_account(*stored);
  return db.write_built(
      [&](rocksdb::WriteBatch& batch) { batch.Put(db.cf(Cf::accounts), slice(account), slice(record)); },
      true);
}

}  // namespace baton::store
