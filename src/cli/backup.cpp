#include "cli/backup.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <cstdio>

#include "cli/http_post.hpp"
#include "store/backup.hpp"

namespace baton {

namespace json = boost::json;

namespace {

constexpr std::chrono::seconds kConnectTimeout{10};

std::string number(const json::object& answer, std::string_view field) {
  const json::value* value = answer.if_contains(field);
  return value ? json::serialize(*value) : "?";
}

}  // namespace

int backup(const std::string& url, const std::string& admin_key, const std::string& to) {
  std::string body = json::serialize(json::object{{"to", to}});
  PostResult posted = post_json(url, "/v1/admin/backup", admin_key, body, kConnectTimeout);
  if (!posted.reply) {
    std::fprintf(stderr, "baton: backup failed: %s\n", posted.failure.c_str());
    return 1;
  }
  boost::system::error_code error;
  json::value answer = json::parse(posted.reply->body, error);
  if (error || !answer.is_object()) {
    std::fprintf(stderr, "baton: backup failed: HTTP %d with a body that is not JSON: %.200s\n",
                 posted.reply->status, posted.reply->body.c_str());
    return 1;
  }
  const json::object& fields = answer.get_object();
  if (posted.reply->status != 200) {
    const json::value* code = fields.if_contains("error");
    const json::value* message = fields.if_contains("message");
    std::fprintf(stderr, "baton: backup refused (HTTP %d %s): %s\n", posted.reply->status,
                 code && code->is_string() ? code->get_string().c_str() : "",
                 message && message->is_string() ? message->get_string().c_str() : "");
    return 1;
  }
  const json::value* path = fields.if_contains("path");
  std::printf("snapshot %s: %s files, %s bytes, sequence %s, %s ms\n",
              path && path->is_string() ? path->get_string().c_str() : to.c_str(),
              number(fields, "files").c_str(), number(fields, "bytes").c_str(),
              number(fields, "sequence").c_str(), number(fields, "took_ms").c_str());
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
