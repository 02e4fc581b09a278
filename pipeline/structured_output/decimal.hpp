#pragma once
// Exact decimals for JSON Schema's number keywords. A schema reaches troupe parsed into doubles,
// so a bound written 3.59 arrives as the double nearest to it; its shortest round-trip decimal
// (std::to_chars) is 3.59 again, the number the schema's author wrote (exactly so for plain
// decimals of up to 15 significant digits, which the JSON parser reads correctly rounded). The
// number grammar then compares generated digits with those decimal digits, never with a double.
#include <cstdint>
#include <optional>
#include <string>

namespace troupe::structured_output {

struct Decimal {
  bool negative = false;    // never set for zero
  std::string integer;      // digits before the point, no leading zeros: "0" for |x| < 1
  std::string fraction;     // digits after the point, no trailing zeros: "" for integers

  bool is_zero() const { return integer == "0" && fraction.empty(); }
  std::string text() const;  // "-3.59", "0", "120"
};

// The shortest decimal that reads back as `value` (finite). -0 gives 0.
Decimal decimal_of(double value);

// Compares magnitudes |a| and |b|: negative, zero or positive.
int compare_magnitudes(const Decimal& a, const Decimal& b);
// Compares a and b as numbers.
int compare(const Decimal& a, const Decimal& b);

}  // namespace troupe::structured_output
