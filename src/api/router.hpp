#pragma once
// Finds the operation a method and path name in the operation table. 404 and 405 are
// decided here, before any key is looked at. Built once from the table; read-only after,
// so every shard thread uses the same one.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/operation.hpp"

namespace baton::api {

struct RouteMatch {
  const Operation* operation = nullptr;  // set when method and path match a row
  bool path_known = false;               // some row has this path: 405 rather than 404
  std::string allowed;                   // the methods that path takes ("GET, HEAD"), for Allow
  std::vector<std::pair<std::string_view, std::string>> path_fields;  // {task_id} -> value
};

class Router {
 public:
  explicit Router(const std::vector<Operation>& table);

  // Among rows whose path pattern matches, the ones with the most literal segments win,
  // so /v1/tasks/claim is never read as the task "claim". GET rows also answer HEAD.
  RouteMatch match(std::string_view method, std::string_view path) const;

 private:
  struct Row {
    const Operation* operation;
    std::vector<std::string_view> pattern;  // views into the operation's path
  };
  std::vector<Row> rows_;
};

// The operation's path with its path fields filled from `input` (as given, not encoded).
std::string fill_path(const Operation& operation, const Input& input);

}  // namespace baton::api
