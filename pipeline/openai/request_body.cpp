#include "pipeline/openai/request_body.hpp"

#include <optional>
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

// Offset of the first \u escape that names a lone UTF-16 surrogate (a high one not followed by a
// low one, or a low one on its own), for a clearer message than the parser's "syntax error". JSON
// text cannot carry one: RFC 8259 section 8.2 leaves it undefined, and no UTF-8 encodes it.
std::optional<std::size_t> lone_surrogate_offset(std::string_view body) {
  auto hex4 = [&](std::size_t at) -> std::optional<unsigned> {
    if (at + 6 > body.size() || body[at] != '\\' || body[at + 1] != 'u') return std::nullopt;
    unsigned value = 0;
    for (std::size_t i = at + 2; i < at + 6; ++i) {
      const char c = body[i];
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + static_cast<unsigned>(digit);
    }
    return value;
  };
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (!in_string) {
      in_string = c == '"';
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\') {
      const std::optional<unsigned> unit = hex4(i);
      if (!unit) {
        ++i;  // a two-character escape (\", \\, \n, ...)
        continue;
      }
      if (*unit >= 0xDC00 && *unit <= 0xDFFF) return i;
      if (*unit >= 0xD800 && *unit <= 0xDBFF) {
        const std::optional<unsigned> low = hex4(i + 6);
        if (!low || *low < 0xDC00 || *low > 0xDFFF) return i;
        i += 6;
      }
      i += 5;
    }
  }
  return std::nullopt;
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
  if (ec) {
    if (const auto offset = lone_surrogate_offset(body)) {
      throw_invalid("The request body is not valid JSON: the \\u escape at byte offset " + std::to_string(*offset) +
                    " is a lone UTF-16 surrogate (" + std::string(body.substr(*offset, 6)) + ").");
    }
    throw_invalid("The request body is not valid JSON: " + ec.message() + ".");
  }
  if (!parsed.is_object()) throw_invalid("The request body must be a JSON object.");
  return std::move(parsed.as_object());
}

}  // namespace troupe
