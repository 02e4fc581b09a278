#pragma once
// The one way request validation fails: an ApiException carrying the OpenAI-shaped error that the
// HTTP layer sends back. Parsing code throws it at the first problem; the server catches it at the
// route boundary, so a bad request can never take anything else down.
#include <stdexcept>
#include <string>
#include <string_view>

#include "pipeline/request/generation_event.hpp"

namespace troupe {

class ApiException : public std::runtime_error {
 public:
  explicit ApiException(ApiError error);
  const ApiError& error() const { return error_; }

 private:
  ApiError error_;
};

// 400 invalid_request_error about one request field (`param` may be empty for whole-body problems).
ApiError invalid_request(std::string message, std::string_view param = {});
// 404 for a model name this server does not serve (OpenAI's "model_not_found" case).
ApiError model_not_found(std::string_view requested, std::string_view served);

[[noreturn]] void throw_invalid(std::string message, std::string_view param = {});

}  // namespace troupe
