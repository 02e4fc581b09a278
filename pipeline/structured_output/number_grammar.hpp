#pragma once
// JSON numbers as grammar expressions: any number, and integers within bounds. Digit counts are
// capped (kMaxIntegerDigits before the point, kMaxFractionDigits after, kMaxExponentDigits in an
// exponent) so that a sampled number always ends; every number generated is a valid JSON number
// within the bounds, though not every valid number can be generated. Numbers with bounds or
// multipleOf are number_automaton.hpp's.
#include <cstdint>
#include <optional>

#include "pipeline/structured_output/grammar_builder.hpp"

namespace troupe::structured_output {

inline constexpr int32_t kMaxIntegerDigits = 16;
inline constexpr int32_t kMaxFractionDigits = 16;
inline constexpr int32_t kMaxExponentDigits = 3;

// A JSON integer (no fraction, no exponent) in [lo, hi] (each end optional).
GrammarBuilder::Expr integer_expr(GrammarBuilder& b, std::optional<int64_t> lo, std::optional<int64_t> hi);

// Any JSON number: sign, integer part, optional fraction and exponent.
GrammarBuilder::Expr number_expr(GrammarBuilder& b);

}  // namespace troupe::structured_output
