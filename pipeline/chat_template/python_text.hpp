#pragma once
// Python `str` semantics over UTF-8 bytes. Jinja templates run on Python strings, whose length, indices
// and slices count code points and whose strip()/split() know Unicode whitespace; these helpers give
// the same answers for UTF-8 std::strings.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::jinja {

std::vector<char32_t> decode_utf8(std::string_view text);
std::string encode_utf8(const std::vector<char32_t>& code_points);
void append_utf8(std::string& out, char32_t code_point);

// Number of code points (Python len()).
std::size_t code_point_count(std::string_view text);

// str.isspace() for one code point.
bool is_python_space(char32_t c);

// str.strip/lstrip/rstrip: with no chars, Unicode whitespace; otherwise any code point in chars.
std::string python_strip(std::string_view text, const std::optional<std::string>& chars, bool left, bool right);

// str.split(sep, maxsplit): sep absent splits on whitespace runs and drops empty pieces.
std::vector<std::string> python_split(std::string_view text, const std::optional<std::string>& sep,
                                      long long maxsplit);

// str.replace(old, new, count) with count < 0 meaning all.
std::string python_replace(std::string_view text, std::string_view old_text, std::string_view new_text,
                           long long count);

std::string python_upper(std::string_view text);
std::string python_lower(std::string_view text);

// repr() of a str, e.g. 'it\'s' -> "it's" with Python's choice of quotes and escapes.
std::string python_string_repr(std::string_view text);

// repr()/str() of a float: shortest round-trip digits, "3.0", "1e-05", "1e+16", "inf", "nan".
std::string python_float_repr(double value);

}  // namespace troupe::jinja
