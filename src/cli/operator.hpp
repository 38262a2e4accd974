#pragma once
// The operator's commands that talk to a running server with the admin key: `baton keys`
// (create, list, revoke any account's keys) and `baton accounts` (create, set-plan). Each
// prints what the server answered and returns the exit code: 0 done, 1 refused or failed.
#include <string>

namespace baton {

struct ServerAccess {
  std::string url;        // http://HOST:PORT
  std::string admin_key;
};

// `account` "": a new account (with `plan`, "" = the default) and its first key.
int keys_create(const ServerAccess& server, const std::string& account, const std::string& label,
                const std::string& plan);
int keys_list(const ServerAccess& server, const std::string& account);
int keys_revoke(const ServerAccess& server, const std::string& account, const std::string& key_id);
int accounts_set_plan(const ServerAccess& server, const std::string& account,
                      const std::string& plan);

}  // namespace baton
