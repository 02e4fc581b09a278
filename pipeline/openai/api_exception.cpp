#include "pipeline/openai/api_exception.hpp"

namespace troupe {

ApiException::ApiException(ApiError error) : std::runtime_error(error.message), error_(std::move(error)) {}

ApiError invalid_request(std::string message, std::string_view param) {
  ApiError error;
  error.status = 400;
  error.type = "invalid_request_error";
  error.message = std::move(message);
  if (!param.empty()) error.param = std::string(param);
  return error;
}

ApiError model_not_found(std::string_view requested, std::string_view served) {
  ApiError error;
  error.status = 404;
  error.type = "not_found_error";
  error.message = "The model `" + std::string(requested) + "` does not exist. This server serves `" +
                  std::string(served) + "`.";
  error.param = "model";
  return error;
}

void throw_invalid(std::string message, std::string_view param) {
  throw ApiException(invalid_request(std::move(message), param));
}

}  // namespace troupe
