#include "pipeline/structured_output/decimal.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace troupe::structured_output {

std::string Decimal::text() const {
  return (negative ? "-" : "") + integer + (fraction.empty() ? "" : "." + fraction);
}

Decimal decimal_of(double value) {
  if (!std::isfinite(value)) throw std::invalid_argument("decimal_of: the value is not finite");
  // Scientific form, so one parser reads every magnitude: "d[.ddd]e[+-]xx".
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  if (ec != std::errc()) throw std::invalid_argument("decimal_of: cannot format the value");
  const std::string text(buffer, end);
  Decimal d;
  std::size_t pos = 0;
  if (text[pos] == '-') d.negative = true, ++pos;
  std::string digits;
  while (pos < text.size() && text[pos] != 'e') {
    if (text[pos] != '.') digits += text[pos];
    ++pos;
  }
  const int exponent = std::stoi(text.substr(pos + 1));  // of the first digit
  // digits = d0 d1 d2 ..., value = 0.d0d1d2... × 10^(exponent + 1)
  const int point = exponent + 1;  // digits before the decimal point
  if (point <= 0) {
    d.integer = "0";
    d.fraction = std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else if (static_cast<std::size_t>(point) >= digits.size()) {
    d.integer = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0');
  } else {
    d.integer = digits.substr(0, static_cast<std::size_t>(point));
    d.fraction = digits.substr(static_cast<std::size_t>(point));
  }
  const std::size_t first = d.integer.find_first_not_of('0');
  d.integer = first == std::string::npos ? "0" : d.integer.substr(first);
  d.fraction.erase(d.fraction.find_last_not_of('0') + 1);
  if (d.is_zero()) d.negative = false;
  return d;
}

int compare_magnitudes(const Decimal& a, const Decimal& b) {
  if (a.integer.size() != b.integer.size()) return a.integer.size() < b.integer.size() ? -1 : 1;
  if (const int c = a.integer.compare(b.integer); c != 0) return c < 0 ? -1 : 1;
  const std::size_t n = std::max(a.fraction.size(), b.fraction.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char x = i < a.fraction.size() ? a.fraction[i] : '0';
    const char y = i < b.fraction.size() ? b.fraction[i] : '0';
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

int compare(const Decimal& a, const Decimal& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  const int m = compare_magnitudes(a, b);
  return a.negative ? -m : m;
}

}  // namespace troupe::structured_output
