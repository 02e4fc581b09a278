#pragma once
// JSON numbers as grammar expressions, optionally within bounds. Digit counts are capped
// (kMaxIntegerDigits before the point, kMaxFractionDigits after, kMaxExponentDigits in an
// exponent) so that a sampled number always ends; every number generated is a valid JSON number
// within the bounds, though not every valid number can be generated.
#include <cstdint>
#include <optional>

#include "pipeline/structured_output/grammar_builder.hpp"

namespace troupe::structured_output {

inline constexpr int32_t kMaxIntegerDigits = 16;
inline constexpr int32_t kMaxFractionDigits = 16;
inline constexpr int32_t kMaxExponentDigits = 3;

// One end of a range of numbers. Bounds are integers: the schema compiler rounds inward for
// integers and rejects fractional bounds for numbers.
struct NumberBound {
  int64_t value = 0;
  bool exclusive = false;
};

// A JSON integer (no fraction, no exponent) in [lo, hi] (each end optional).
GrammarBuilder::Expr integer_expr(GrammarBuilder& b, std::optional<int64_t> lo, std::optional<int64_t> hi);

// A JSON number. Unbounded: sign, integer part, optional fraction and exponent. Bounded: no
// exponent, and the value within the bounds.
GrammarBuilder::Expr number_expr(GrammarBuilder& b, std::optional<NumberBound> lo, std::optional<NumberBound> hi);

}  // namespace troupe::structured_output
