#pragma once
// JSON numbers within decimal bounds (minimum, maximum, exclusive or not, with any fractional
// part) and multiples of a decimal (multipleOf), as one explicit deterministic automaton over the
// bytes '-', '.', '0'..'9'. Digits are compared with the bounds' decimal digits as they are
// written, and a remainder is kept for multipleOf, so a number is accepted exactly when its
// decimal value satisfies the constraints: nothing outside them is generated, and every value
// inside them with the digits allowed below can be.
//
// Digits: integer parts up to kMaxIntegerDigits (16); with a fraction, at most
// kMaxBoundedSignificantDigits (15) digits in all, leading zeros of "0.00x" not counted; with
// multipleOf m, at most as many fraction digits as m has. Fifteen significant digits is what a
// double keeps (DBL_DIG): two such decimals never read as the same double, so a validator that
// compares doubles (Python's jsonschema, JavaScript's) agrees with the decimal comparison even for
// exclusive bounds, where 1.0000000000000001 > 1 holds for decimals but not for doubles. No
// exponent is written, no leading zeros, no "-0".
#include <cstdint>
#include <optional>

#include "pipeline/structured_output/decimal.hpp"
#include "pipeline/structured_output/grammar_builder.hpp"

namespace troupe::structured_output {

inline constexpr int32_t kMaxBoundedSignificantDigits = 15;
// multipleOf's digits, its point removed (0.25 → 25), must be at most this: the automaton keeps a
// remainder modulo it.
inline constexpr uint32_t kMaxMultipleOfDigitsValue = 1'000'000;

struct NumberLimit {
  Decimal value;
  bool exclusive = false;
};

struct NumberConstraints {
  std::optional<NumberLimit> lower, upper;
  std::optional<Decimal> multiple_of;  // positive
  bool integer = false;                // no fraction at all (JSON Schema's "integer")
};

// Throws GrammarError when no number satisfies the constraints within those digits, when
// multipleOf is beyond kMaxMultipleOfDigitsValue, or when the automaton would be too large to
// build quickly (a large multipleOf with bounds far apart).
ByteAutomaton number_automaton(const NumberConstraints& constraints);

}  // namespace troupe::structured_output
