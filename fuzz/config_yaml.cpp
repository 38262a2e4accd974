// Fuzz target: the YAML config loader, as `serve --config` and SIGHUP read a file.
//
// Properties: nothing crashes or throws; a file that loads renders (check-config) to a
// file that loads to the same configuration; a file that does not load says why.
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "property.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace baton;
  using namespace baton::fuzz;
  static char* no_environment[] = {nullptr};
  std::string text(reinterpret_cast<const char*>(data), size);
  ConfigResult result = parse_config(text, "fuzz.yaml", no_environment);
  if (!result.config) {
    expect(!result.errors.empty(), "a refused file says why", text);
    return 0;
  }
  std::string rendered = render_config(*result.config);
  ConfigResult again = parse_config(rendered, "rendered.yaml", no_environment);
  expect(again.config.has_value(), "a rendered configuration loads",
         rendered + (again.errors.empty() ? "" : "\n" + again.errors.front()));
  expect(render_config(*again.config) == rendered, "rendering is a fixed point", rendered);
  return 0;
}
