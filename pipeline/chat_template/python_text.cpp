#include "pipeline/chat_template/python_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utf8proc.h>

namespace troupe::jinja {

std::vector<char32_t> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    utf8proc_int32_t code_point = 0;
    auto consumed = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + i),
                                     static_cast<utf8proc_ssize_t>(text.size() - i), &code_point);
    if (consumed <= 0) {
      // Invalid UTF-8 cannot come from JSON input; keep the byte as a Latin-1 code point rather than loop.
      out.push_back(static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    out.push_back(static_cast<char32_t>(code_point));
    i += static_cast<std::size_t>(consumed);
  }
  return out;
}

void append_utf8(std::string& out, char32_t code_point) {
  utf8proc_uint8_t buffer[4];
  auto length = utf8proc_encode_char(static_cast<utf8proc_int32_t>(code_point), buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(length));
}

std::string encode_utf8(const std::vector<char32_t>& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append_utf8(out, c);
  return out;
}

std::size_t code_point_count(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char byte : text) count += (byte & 0xC0) != 0x80;
  return count;
}

bool is_python_space(char32_t c) {
  // Python's str.isspace(): bidirectional class WS/B/S or category Zs.
  switch (c) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x1C: case 0x1D: case 0x1E: case 0x1F:
    case 0x20: case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

std::string python_strip(std::string_view text, const std::optional<std::string>& chars, bool left, bool right) {
  auto points = decode_utf8(text);
  std::vector<char32_t> strip_set;
  if (chars) strip_set = decode_utf8(*chars);
  auto strip_this = [&](char32_t c) {
    if (!chars) return is_python_space(c);
    for (char32_t s : strip_set)
      if (s == c) return true;
    return false;
  };
  std::size_t begin = 0, end = points.size();
  if (left)
    while (begin < end && strip_this(points[begin])) ++begin;
  if (right)
    while (end > begin && strip_this(points[end - 1])) --end;
  return encode_utf8(std::vector<char32_t>(points.begin() + static_cast<long>(begin),
                                           points.begin() + static_cast<long>(end)));
}

std::vector<std::string> python_split(std::string_view text, const std::optional<std::string>& sep,
                                      long long maxsplit) {
  std::vector<std::string> pieces;
  if (sep) {
    std::size_t start = 0;
    while (maxsplit < 0 || static_cast<long long>(pieces.size()) < maxsplit) {
      auto found = text.find(*sep, start);
      if (found == std::string_view::npos) break;
      pieces.emplace_back(text.substr(start, found - start));
      start = found + sep->size();
    }
    pieces.emplace_back(text.substr(start));
    return pieces;
  }
  auto points = decode_utf8(text);
  std::size_t i = 0;
  while (true) {
    while (i < points.size() && is_python_space(points[i])) ++i;
    if (i == points.size()) break;
    if (maxsplit >= 0 && static_cast<long long>(pieces.size()) == maxsplit) {
      // The remainder keeps its inner whitespace but loses trailing whitespace, as in CPython.
      std::size_t end = points.size();
      while (end > i && is_python_space(points[end - 1])) --end;
      pieces.push_back(encode_utf8(std::vector<char32_t>(points.begin() + static_cast<long>(i),
                                                         points.begin() + static_cast<long>(end))));
      break;
    }
    std::size_t start = i;
    while (i < points.size() && !is_python_space(points[i])) ++i;
    pieces.push_back(encode_utf8(std::vector<char32_t>(points.begin() + static_cast<long>(start),
                                                       points.begin() + static_cast<long>(i))));
  }
  return pieces;
}

std::string python_replace(std::string_view text, std::string_view old_text, std::string_view new_text,
                           long long count) {
  std::string out;
  if (old_text.empty()) {
    // Python inserts new_text before every code point and at the end.
    auto points = decode_utf8(text);
    long long done = 0;
    for (char32_t c : points) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      append_utf8(out, c);
    }
    if (count < 0 || done < count) out += new_text;
    return out;
  }
  std::size_t start = 0;
  long long done = 0;
  while (count < 0 || done < count) {
    auto found = text.find(old_text, start);
    if (found == std::string_view::npos) break;
    out.append(text.substr(start, found - start));
    out.append(new_text);
    start = found + old_text.size();
    ++done;
  }
  out.append(text.substr(start));
  return out;
}

namespace {

std::string map_case(std::string_view text, bool upper) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : decode_utf8(text)) {
    auto mapped = upper ? utf8proc_toupper(static_cast<utf8proc_int32_t>(c))
                        : utf8proc_tolower(static_cast<utf8proc_int32_t>(c));
    append_utf8(out, static_cast<char32_t>(mapped));
  }
  return out;
}

bool is_python_printable(char32_t c) {
  if (c == ' ') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

}  // namespace

std::string python_upper(std::string_view text) { return map_case(text, true); }
std::string python_lower(std::string_view text) { return map_case(text, false); }

std::string python_string_repr(std::string_view text) {
  bool has_single = text.find('\'') != std::string_view::npos;
  bool has_double = text.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : decode_utf8(text)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (is_python_printable(c)) {
      append_utf8(out, c);
    } else {
      char buffer[16];
      if (c < 0x100) std::snprintf(buffer, sizeof buffer, "\\x%02x", static_cast<unsigned>(c));
      else if (c < 0x10000) std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
      else std::snprintf(buffer, sizeof buffer, "\\U%08x", static_cast<unsigned>(c));
      out += buffer;
    }
  }
  out += quote;
  return out;
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits in scientific form, then laid out the way CPython's float_repr does:
  // positional for decimal exponents in [-4, 16), scientific (two-digit minimum exponent) otherwise.
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string scientific(buffer, result.ptr);
  bool negative = scientific[0] == '-';
  if (negative) scientific.erase(0, 1);
  auto e_pos = scientific.find('e');
  int exponent = std::atoi(scientific.c_str() + e_pos + 1);
  std::string digits;
  for (std::size_t i = 0; i < e_pos; ++i)
    if (scientific[i] != '.') digits += scientific[i];
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out += digits + std::string(static_cast<std::size_t>(exponent + 1 - static_cast<int>(digits.size())), '0') +
             ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(exponent + 1)) + "." +
             digits.substr(static_cast<std::size_t>(exponent + 1));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exponent_text[16];
  std::snprintf(exponent_text, sizeof exponent_text, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exponent_text;
}

}  // namespace troupe::jinja
