#include "pipeline/tool_calls/json_value_stream.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "pipeline/chat_template/python_text.hpp"

namespace troupe {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_number_byte(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool valid_number(std::string_view s, bool& integral) {
  std::size_t i = 0;
  integral = true;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    integral = false;
    ++i;
    const std::size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == digits) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    integral = false;
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == digits) return false;
  }
  return i == s.size();
}

void append_escaped_unit(std::string& out, unsigned unit) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "\\u%04x", unit);
  out += buffer;
}

}  // namespace

std::string JsonValueStream::take_output() {
  std::string out = std::move(output_);
  output_.clear();
  return out;
}

std::size_t JsonValueStream::push(std::string_view text) {
  std::size_t used = 0;
  while (used < text.size() && state_ != State::Done && state_ != State::Failed) {
    if (!step(text[used])) break;
    ++used;
  }
  return used;
}

void JsonValueStream::finish() {
  if (state_ == State::Scalar && scalar_ == Scalar::Number && frames_.empty()) {
    if (!finish_number()) return;
    end_value();
    return;
  }
  if (state_ != State::Done) fail();
}

bool JsonValueStream::step(char c) {
  if (state_ == State::Scalar) {
    switch (scalar_) {
      case Scalar::String:
        if (!string_byte(c)) fail();
        return true;
      case Scalar::Number:
        if (is_number_byte(c)) {
          scalar_text_ += c;
          return true;
        }
        if (!finish_number()) return true;
        end_value();
        if (state_ == State::Done) return false;  // c belongs to whatever follows the value
        break;                                    // c is structural inside a container
      case Scalar::Literal: {
        scalar_text_ += c;
        static constexpr std::string_view kLiterals[] = {"true", "false", "null"};
        bool prefix = false;
        for (std::string_view word : kLiterals) {
          if (word == scalar_text_) {
            output_ += scalar_text_;
            end_value();
            return true;
          }
          prefix = prefix || word.substr(0, scalar_text_.size()) == scalar_text_;
        }
        if (!prefix) fail();
        return true;
      }
      case Scalar::None: break;
    }
  }
  if (is_space(c)) return true;
  if (frames_.empty()) {
    if (!begin_value(c)) fail();
    return true;
  }
  Frame& frame = frames_.back();
  switch (frame) {
    case Frame::ObjectKeyOrEnd:
    case Frame::ObjectKey:
      if (c == '}' && frame == Frame::ObjectKeyOrEnd) {
        output_ += '}';
        frames_.pop_back();
        end_value();
      } else if (c == '"') {
        frame = Frame::ObjectColon;
        output_ += '"';
        state_ = State::Scalar;
        scalar_ = Scalar::String;
      } else {
        fail();
      }
      return true;
    case Frame::ObjectColon:
      if (c != ':') {
        fail();
        return true;
      }
      output_ += ": ";
      frame = Frame::ObjectValue;
      return true;
    case Frame::ObjectValue:
    case Frame::ArrayValue:
      if (!begin_value(c)) fail();
      return true;
    case Frame::ArrayValueOrEnd:
      if (c == ']') {
        output_ += ']';
        frames_.pop_back();
        end_value();
      } else {
        if (!begin_value(c)) fail();
      }
      return true;
    case Frame::ObjectCommaOrEnd:
    case Frame::ArrayCommaOrEnd: {
      const bool object = frame == Frame::ObjectCommaOrEnd;
      if (c == ',') {
        output_ += ", ";
        frame = object ? Frame::ObjectKey : Frame::ArrayValue;
      } else if (c == (object ? '}' : ']')) {
        output_ += c;
        frames_.pop_back();
        end_value();
      } else {
        fail();
      }
      return true;
    }
  }
  return true;
}

bool JsonValueStream::begin_value(char c) {
  if (frames_.empty()) started_ = true;
  // Inside a container, the frame now waits for what follows this value.
  if (!frames_.empty()) {
    Frame& frame = frames_.back();
    if (frame == Frame::ObjectValue) frame = Frame::ObjectCommaOrEnd;
    else if (frame == Frame::ArrayValue || frame == Frame::ArrayValueOrEnd) frame = Frame::ArrayCommaOrEnd;
  }
  switch (c) {
    case '{':
      output_ += '{';
      frames_.push_back(Frame::ObjectKeyOrEnd);
      return true;
    case '[':
      output_ += '[';
      frames_.push_back(Frame::ArrayValueOrEnd);
      return true;
    case '"':
      top_is_string_ = frames_.empty();
      output_ += '"';
      state_ = State::Scalar;
      scalar_ = Scalar::String;
      return true;
    case 't': case 'f': case 'n':
      state_ = State::Scalar;
      scalar_ = Scalar::Literal;
      scalar_text_.assign(1, c);
      return true;
    default:
      if (c == '-' || (c >= '0' && c <= '9')) {
        state_ = State::Scalar;
        scalar_ = Scalar::Number;
        scalar_text_.assign(1, c);
        return true;
      }
      return false;
  }
}

void JsonValueStream::end_value() {
  state_ = frames_.empty() ? State::Done : State::Value;
  scalar_ = Scalar::None;
  scalar_text_.clear();
}

bool JsonValueStream::finish_number() {
  bool integral = true;
  if (!valid_number(scalar_text_, integral)) {
    fail();
    return false;
  }
  if (integral) {
    // Python keeps integers exact; only "-0" changes (it is 0).
    output_ += scalar_text_ == "-0" ? "0" : scalar_text_;
  } else {
    const double value = std::strtod(scalar_text_.c_str(), nullptr);
    if (std::isinf(value)) output_ += value < 0 ? "-Infinity" : "Infinity";
    else output_ += jinja::python_float_repr(value);
  }
  return true;
}

void JsonValueStream::append_code_point(char32_t c) {
  if (top_is_string_ && frames_.empty()) jinja::append_utf8(string_value_, c);
  switch (c) {
    case '"': output_ += "\\\""; return;
    case '\\': output_ += "\\\\"; return;
    case '\n': output_ += "\\n"; return;
    case '\r': output_ += "\\r"; return;
    case '\t': output_ += "\\t"; return;
    case '\b': output_ += "\\b"; return;
    case '\f': output_ += "\\f"; return;
    default: break;
  }
  if (c < 0x20) {
    append_escaped_unit(output_, static_cast<unsigned>(c));
  } else if (ensure_ascii_ && c > 0x7E) {
    if (c >= 0x10000) {
      const char32_t v = c - 0x10000;
      append_escaped_unit(output_, 0xD800 | static_cast<unsigned>(v >> 10));
      append_escaped_unit(output_, 0xDC00 | static_cast<unsigned>(v & 0x3FF));
    } else {
      append_escaped_unit(output_, static_cast<unsigned>(c));
    }
  } else {
    jinja::append_utf8(output_, c);
  }
}

bool JsonValueStream::string_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (escape_ == 1) {
    escape_ = 0;
    switch (c) {
      case '"': append_code_point('"'); return true;
      case '\\': append_code_point('\\'); return true;
      case '/': append_code_point('/'); return true;
      case 'b': append_code_point('\b'); return true;
      case 'f': append_code_point('\f'); return true;
      case 'n': append_code_point('\n'); return true;
      case 'r': append_code_point('\r'); return true;
      case 't': append_code_point('\t'); return true;
      case 'u': escape_ = 2; unit_ = 0; return true;
      default: return false;
    }
  }
  if (escape_ >= 2) {
    const int digit = hex_value(c);
    if (digit < 0) return false;
    unit_ = unit_ * 16 + static_cast<char32_t>(digit);
    if (++escape_ < 6) return true;
    escape_ = 0;
    if (unit_ >= 0xD800 && unit_ <= 0xDBFF) {
      if (high_surrogate_ != 0) return false;
      high_surrogate_ = unit_;
      return true;
    }
    if (unit_ >= 0xDC00 && unit_ <= 0xDFFF) {
      if (high_surrogate_ == 0) return false;  // a lone low surrogate cannot become UTF-8
      append_code_point(0x10000 + ((high_surrogate_ - 0xD800) << 10) + (unit_ - 0xDC00));
      high_surrogate_ = 0;
      return true;
    }
    if (high_surrogate_ != 0) return false;
    append_code_point(unit_);
    return true;
  }
  if (high_surrogate_ != 0 && c != '\\') return false;  // a high surrogate must be followed by its pair
  if (c == '\\') {
    escape_ = 1;
    return true;
  }
  if (!utf8_pending_.empty() || byte >= 0x80) {
    utf8_pending_ += c;
    const std::vector<char32_t> decoded = jinja::decode_utf8(utf8_pending_);
    const unsigned char lead = static_cast<unsigned char>(utf8_pending_[0]);
    const std::size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (utf8_pending_.size() < length) return true;
    if (decoded.size() != 1) return false;
    utf8_pending_.clear();
    append_code_point(decoded.front());
    return true;
  }
  if (c == '"') {
    output_ += '"';
    if (!frames_.empty() && frames_.back() == Frame::ObjectColon) {
      // A key ended: the frame already waits for the colon.
      state_ = State::Value;
      scalar_ = Scalar::None;
      return true;
    }
    end_value();
    return true;
  }
  if (byte < 0x20) return false;  // raw control characters are not allowed in JSON strings
  append_code_point(static_cast<char32_t>(byte));
  return true;
}

}  // namespace troupe
