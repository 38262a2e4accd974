#pragma once
// Reading task listings for the crash loop's checks.
#include <stdexcept>
#include <string>

#include "crash/exchange.hpp"
#include "integration/harness.hpp"

namespace baton::crash {

// GET /v1/tasks?<query> page after page; `each(task, page)` gets every task with the
// exchange of its page. Throws std::runtime_error when a page gets no answer or not 200.
template <class Each>
void list_all(test::Client& client, const std::string& key, const std::string& query, Each&& each) {
  std::string cursor;
  for (;;) {
    const std::string page_query =
        query + "&limit=100" + (cursor.empty() ? "" : "&cursor=" + test::url_encode(cursor));
    Answered page = exchange([&] { return client.list_tasks(key, page_query); });
    if (!page.response) throw std::runtime_error("no answer to GET /v1/tasks?" + page_query);
    const test::Response& r = *page.response;
    if (r.status != 200)
      throw std::runtime_error("GET /v1/tasks?" + page_query + ": " + r.describe());
    for (const auto& task : r.obj().at("tasks").as_array()) each(task.as_object(), page);
    const auto& next = r.obj().at("next_cursor");
    if (next.is_null()) return;
    cursor = std::string(next.as_string());
  }
}

}  // namespace baton::crash
