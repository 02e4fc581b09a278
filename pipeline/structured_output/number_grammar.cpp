#include "pipeline/structured_output/number_grammar.hpp"

#include <limits>
#include <string>
#include <vector>

namespace troupe::structured_output {

namespace {

using Expr = GrammarBuilder::Expr;

Expr digit(GrammarBuilder& b, char lo = '0', char hi = '9') {
  return b.byte_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(hi));
}

// Decimal strings of the same length from a to b (a <= b, no sign; leading zeros allowed).
Expr same_length_range(GrammarBuilder& b, const std::string& a, const std::string& z) {
  if (a.size() == 1) return digit(b, a[0], z[0]);
  const std::string a_rest = a.substr(1), z_rest = z.substr(1);
  if (a[0] == z[0]) return b.seq({digit(b, a[0], a[0]), same_length_range(b, a_rest, z_rest)});
  const bool a_low = a_rest.find_first_not_of('0') == std::string::npos;
  const bool z_high = z_rest.find_first_not_of('9') == std::string::npos;
  const auto any_digits = [&](std::size_t n) { return b.repeat(digit(b), static_cast<int32_t>(n), static_cast<int32_t>(n)); };
  if (a_low && z_high) return b.seq({digit(b, a[0], z[0]), any_digits(a_rest.size())});
  std::vector<Expr> options;
  char first_full = a[0], last_full = z[0];
  if (!a_low) {
    options.push_back(b.seq({digit(b, a[0], a[0]), same_length_range(b, a_rest, std::string(a_rest.size(), '9'))}));
    ++first_full;
  }
  if (!z_high) --last_full;
  if (first_full <= last_full) options.push_back(b.seq({digit(b, first_full, last_full), any_digits(a_rest.size())}));
  if (!z_high) options.push_back(b.seq({digit(b, z[0], z[0]), same_length_range(b, std::string(z_rest.size(), '0'), z_rest)}));
  return b.alt(std::move(options));
}

// Natural numbers in [lo, hi] written without leading zeros; hi unset means up to the digit cap.
Expr natural_range(GrammarBuilder& b, uint64_t lo, std::optional<uint64_t> hi) {
  uint64_t cap = 1;
  for (int i = 0; i < kMaxIntegerDigits; ++i) cap *= 10;
  const uint64_t top = hi ? std::min(*hi, cap - 1) : cap - 1;
  if (lo > top) return b.nothing();
  std::vector<Expr> options;
  std::string a = std::to_string(lo);
  const std::string z = std::to_string(top);
  while (a.size() < z.size()) {
    options.push_back(same_length_range(b, a, std::string(a.size(), '9')));
    a = "1" + std::string(a.size(), '0');
  }
  options.push_back(same_length_range(b, a, z));
  return b.alt(std::move(options));
}

Expr fraction_any(GrammarBuilder& b) { return b.optional(b.seq({b.literal("."), b.repeat(digit(b), 1, kMaxFractionDigits)})); }
}  // namespace

Expr integer_expr(GrammarBuilder& b, std::optional<int64_t> lo, std::optional<int64_t> hi) {
  std::vector<Expr> options;
  // Non-negative part.
  if (!hi || *hi >= 0) {
    const uint64_t from = lo && *lo > 0 ? static_cast<uint64_t>(*lo) : 0;
    std::optional<uint64_t> to;
    if (hi) to = static_cast<uint64_t>(*hi);
    options.push_back(natural_range(b, from, to));
  }
  // Negative part: -m with m in [max(1, -hi), -lo].
  if (!lo || *lo < 0) {
    const uint64_t from = hi && *hi < 0 ? static_cast<uint64_t>(-(*hi + 1)) + 1 : 1;
    std::optional<uint64_t> to;
    if (lo) to = static_cast<uint64_t>(-(*lo + 1)) + 1;
    options.push_back(b.seq({b.literal("-"), natural_range(b, from, to)}));
  }
  return b.alt(std::move(options));
}

Expr number_expr(GrammarBuilder& b) {
  const Expr exponent = b.seq({b.bytes([] {
                                 ByteSet s;
                                 s.set('e');
                                 s.set('E');
                                 return s;
                               }()),
                               b.optional(b.bytes([] {
                                 ByteSet s;
                                 s.set('+');
                                 s.set('-');
                                 return s;
                               }())),
                               b.repeat(digit(b), 1, kMaxExponentDigits)});
  return b.seq({b.optional(b.literal("-")), natural_range(b, 0, std::nullopt), fraction_any(b), b.optional(exponent)});
}

}  // namespace troupe::structured_output
