#pragma once
// Helpers for the OpenAI schema tests: the error a parse throws, and a standard context.
#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "pipeline/openai/api_context.hpp"
#include "pipeline/openai/api_exception.hpp"

namespace troupe::test {

inline const ApiContext kContext{"m", 4096};

// The ApiError that `parse` throws; fails the test when it throws nothing.
template <typename Parse>
ApiError rejection(Parse parse) {
  try {
    parse();
  } catch (const ApiException& e) {
    return e.error();
  }
  FAIL("expected an ApiException");
  return {};
}

inline bool mentions(const ApiError& error, const std::string& text) {
  return error.message.find(text) != std::string::npos;
}

}  // namespace troupe::test
