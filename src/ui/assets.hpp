#pragma once
// The dashboard's files (src/ui), compiled into the binary by scripts/embed_assets.py.
#include <string_view>

namespace baton::ui {

struct Asset {
  std::string_view name;          // index.html, app.js, style.css
  std::string_view content_type;
  std::string_view body;
};

// The asset of that file name, or nullptr.
const Asset* find_asset(std::string_view name);

}  // namespace baton::ui
