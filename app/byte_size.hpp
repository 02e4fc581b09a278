#pragma once
// Sizes given on the command line: "1073741824", "512MiB", "2GiB", "1.5G", "800MB".
#include <cstdint>
#include <string>

namespace troupe::app {

// Throws ConfigError naming `flag` when `text` is not a size.
int64_t parse_byte_size(const std::string& text, const std::string& flag);

}  // namespace troupe::app
