#pragma once
// A fresh directory under /tmp for one test's database, removed with its contents when
// the test is done with it.
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace baton::test {

struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& prefix = "baton-test") {
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    const char* made = ::mkdtemp(pattern.data());
    if (!made) throw std::runtime_error("mkdtemp failed for " + pattern);
    path = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace baton::test
