#pragma once
// Opening a database for a store test, and the keys and values such tests write: a
// value's length and letters follow from its index, so a read-back can be checked.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "store/db.hpp"

namespace baton::test {

inline std::unique_ptr<Db> open_db(const std::filesystem::path& path, std::uint64_t spare_bytes = 0) {
  std::string error;
  auto db = Db::open(path.string(), &error, nullptr, spare_bytes);
  BOOST_REQUIRE_MESSAGE(db, error);
  return db;
}

inline std::string key_of(int i) { return "key-" + std::to_string(100000 + i); }
inline std::string value_of(int i) {
  return std::string(static_cast<std::size_t>(50 + i % 400), static_cast<char>('a' + i % 26));
}

}  // namespace baton::test
