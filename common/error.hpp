#pragma once
// Errors that cross a module boundary. Messages are written for the person who has to act on them:
// they name the file, the tensor or the setting involved and what was expected.
#include <stdexcept>
#include <string>

namespace troupe {

// A model file or model directory that cannot be used (missing, truncated, corrupt, unsupported).
class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad configuration given by the user (flags, paths, values out of range).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace troupe
