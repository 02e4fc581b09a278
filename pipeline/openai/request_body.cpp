#include "pipeline/openai/request_body.hpp"

#include <string>

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {

namespace {

// Byte offset of the first byte that breaks UTF-8 well-formedness, for the error message.
std::size_t first_invalid_utf8_offset(std::string_view body) {
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t length = utf8::sequence_length(static_cast<unsigned char>(body[pos]));
    if (pos + length > body.size() || !utf8::is_valid(body.substr(pos, length))) return pos;
    pos += length;
  }
  return body.size();
}

}  // namespace

boost::json::object parse_request_object(std::string_view body) {
  if (!utf8::is_valid(body)) {
    throw_invalid("The request body is not valid UTF-8 (first invalid byte at offset " +
                  std::to_string(first_invalid_utf8_offset(body)) + ").");
  }
  if (body.empty()) throw_invalid("The request body is empty; expected a JSON object.");
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(body, ec);
  if (ec) throw_invalid("The request body is not valid JSON: " + ec.message() + ".");
  if (!parsed.is_object()) throw_invalid("The request body must be a JSON object.");
  return std::move(parsed.as_object());
}

}  // namespace troupe
