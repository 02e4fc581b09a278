#include "app/byte_size.hpp"

#include <cctype>
#include <cmath>
#include <map>

#include "common/error.hpp"

namespace troupe::app {

int64_t parse_byte_size(const std::string& text, const std::string& flag) {
  static const std::map<std::string, double> kUnits{
      {"", 1},          {"B", 1},
      {"K", 1e3},       {"KB", 1e3},       {"KiB", 1024.0},
      {"M", 1e6},       {"MB", 1e6},       {"MiB", 1024.0 * 1024},
      {"G", 1e9},       {"GB", 1e9},       {"GiB", 1024.0 * 1024 * 1024},
      {"T", 1e12},      {"TB", 1e12},      {"TiB", 1024.0 * 1024 * 1024 * 1024},
  };
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw ConfigError(flag + " " + text + ": not a size (examples: 1073741824, 512MiB, 2GiB)");
  }
  std::string unit = text.substr(used);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(unit.begin());
  auto it = kUnits.find(unit);
  if (it == kUnits.end() || !(value > 0) || !std::isfinite(value)) {
    throw ConfigError(flag + " " + text + ": not a size (examples: 1073741824, 512MiB, 2GiB)");
  }
  return static_cast<int64_t>(value * it->second);
}

}  // namespace troupe::app
