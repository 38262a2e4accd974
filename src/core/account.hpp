#pragma once
// An account and its API keys, as the API and any account store see them. Only the
// SHA-256 of a key's secret is ever kept.
#include <string>

#include "core/time.hpp"

namespace baton {

struct Account {
  std::string id;  // acct_<ULID>
  std::string label;
  std::string plan;  // "" = the config's default_plan
  Millis created_at = 0;
  // The account's own monthly cost budget, in nano-dollars, set by the admin: it wins over
  // its plan's cost_budget_usd. 0: none; -1: the plan's.
  std::int64_t cost_budget_usd_nanos = -1;
};

struct ApiKey {
  std::string id;          // key_<ULID>
  std::string account_id;
  std::string label;
  std::string sha256;      // raw 32 bytes of the secret's hash
  Millis created_at = 0;
};

}  // namespace baton
