#include "core/schedule.hpp"

namespace baton {

std::string_view to_string(MissedPolicy policy) {
  return policy == MissedPolicy::run_once ? "run_once" : "skip";
}

std::optional<MissedPolicy> parse_missed_policy(std::string_view text) {
  if (text == "skip") return MissedPolicy::skip;
  if (text == "run_once") return MissedPolicy::run_once;
  return std::nullopt;
}

std::string_view to_string(RunTrigger trigger) {
  switch (trigger) {
    case RunTrigger::cron: return "cron";
    case RunTrigger::manual: return "manual";
    case RunTrigger::webhook: return "webhook";
    case RunTrigger::missed: return "missed";
  }
  return "cron";
}

}  // namespace baton
