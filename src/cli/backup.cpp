#include "cli/backup.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>

#include "cli/http_post.hpp"
#include "store/backup.hpp"

namespace baton {

namespace json = boost::json;

int backup(const std::string& url, const std::string& admin_key, const std::string& to) {
  std::string body = json::serialize(json::object{{"to", to}});
  auto fields = answer_of(url, admin_key, "POST", "/v1/admin/backup", body, 200, "backup");
  if (!fields) return 1;
  auto number = [&](std::string_view name) {
    std::string text = text_of(*fields, name);
    return text.empty() ? std::string("?") : text;
  };
  std::string path = text_of(*fields, "path");
  std::printf("snapshot %s: %s files, %s bytes, sequence %s, %s ms\n",
              path.empty() ? to.c_str() : path.c_str(), number("files").c_str(),
              number("bytes").c_str(), number("sequence").c_str(), number("took_ms").c_str());
  return 0;
}

int restore(const std::string& from, const std::string& data) {
  RestoreOutcome restored = restore_snapshot(from, data);
  if (!restored.ok()) {
    std::fprintf(stderr, "baton: restore %s: %s\n",
                 restored.failure == RestoreFailure::failed ? "failed" : "refused",
                 restored.reason.c_str());
    return 1;
  }
  std::printf("restored %s into %s: %llu files, %llu bytes, %llu tasks\n", from.c_str(),
              data.c_str(), static_cast<unsigned long long>(restored.files),
              static_cast<unsigned long long>(restored.bytes),
              static_cast<unsigned long long>(restored.tasks));
  return 0;
}

}  // namespace baton
