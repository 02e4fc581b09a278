#pragma once
// The first step for every JSON endpoint: raw bytes → a JSON object, or a 400 that says whether
// the bytes were not UTF-8, not JSON, or JSON but not an object.
#include <boost/json.hpp>
#include <string_view>

namespace troupe {

// Throws ApiException (400) naming the problem.
boost::json::object parse_request_object(std::string_view body);

}  // namespace troupe
