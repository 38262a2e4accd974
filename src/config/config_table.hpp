#pragma once
// The configuration's key table: one row per recognised key, in documented (and rendered)
// order, and the scalar parsing shared by the file and the environment. Only config/
// includes this; config.cpp loads and renders through it.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"

namespace baton::config_table {

using Ref = std::variant<int*, std::int64_t*, bool*, std::string*, SyncMode*, Registration*,
                         std::vector<std::string>*>;

struct Field {
  std::string_view section;  // "" for the top-level scalars; "server.tls" for a nested map
  std::string_view key;
  Ref (*ref)(Config&);
  std::int64_t min = 0, max = 0;                  // integers
  std::vector<std::string_view> words = {};       // enums (and enum-like strings)
  std::string (*check)(std::string_view) = nullptr;  // extra check of a string value

  std::string dotted() const {
    return section.empty() ? std::string(key) : std::string(section) + "." + std::string(key);
  }
  std::string env_name() const {
    std::string name = "BATON_" + (section.empty() ? "" : std::string(section) + "_") + std::string(key);
    for (char& ch : name) ch = ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return name;
  }
};

const std::vector<Field>& fields();
const Field* find_field(std::string_view section, std::string_view key);
// A map of fields, or of maps of fields ("server" holds "server.tls").
bool is_section(std::string_view name);

// `text` in double quotes, control bytes as \xNN: how values are quoted in messages.
std::string quoted(std::string_view text);
// What a field expects, for "expected X, got a map".
std::string describe(const Field& f);
// Sets the field from its scalar text (a list from comma-separated items); "" or the
// message of the error.
std::string assign(const Field& f, Config& config, std::string_view text);
std::int64_t int_value(const Field& f, Config& config);
// A plan's name (the keys of `plans:` and default_plan): "" or what is wrong.
std::string check_plan_name(std::string_view text);

}  // namespace baton::config_table
