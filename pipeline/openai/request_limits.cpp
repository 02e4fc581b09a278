#include "pipeline/openai/request_limits.hpp"

#include <string>

#include "pipeline/openai/api_exception.hpp"

namespace troupe {

void check_list_length(std::string_view field, std::size_t count, std::size_t limit, std::string_view what) {
  if (count <= limit) return;
  throw_invalid("'" + std::string(field) + "' may hold at most " + std::to_string(limit) + " " + std::string(what) +
                    ", got " + std::to_string(count) + ".",
                field);
}

}  // namespace troupe
