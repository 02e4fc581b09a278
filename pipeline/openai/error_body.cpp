#include "pipeline/openai/error_body.hpp"

namespace troupe {

boost::json::object error_body(const ApiError& error) {
  boost::json::object inner;
  inner["message"] = error.message;
  inner["type"] = error.type;
  inner["param"] = error.param ? boost::json::value(*error.param) : boost::json::value(nullptr);
  inner["code"] = error.status;
  boost::json::object body;
  body["error"] = std::move(inner);
  return body;
}

std::string error_json(const ApiError& error) { return boost::json::serialize(error_body(error)); }

}  // namespace troupe
