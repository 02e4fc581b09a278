#pragma once
// Sets of Unicode scalar values as sorted disjoint ranges, and their byte-level form: the
// alternation of UTF-8 byte-range sequences that matches exactly the encodings of the set.
#include <cstdint>
#include <utility>
#include <vector>

#include "pipeline/structured_output/grammar_builder.hpp"

namespace troupe::structured_output {

inline constexpr char32_t kMaxCodePoint = 0x10FFFF;

class CodePointSet {
 public:
  CodePointSet() = default;
  static CodePointSet of(char32_t cp) { return range(cp, cp); }
  static CodePointSet range(char32_t lo, char32_t hi);
  static CodePointSet all();  // every scalar value (surrogates excluded)

  void add(char32_t lo, char32_t hi);
  void add(const CodePointSet& other);
  CodePointSet complement() const;  // within scalar values
  CodePointSet minus(const CodePointSet& other) const;
  CodePointSet intersect(const CodePointSet& other) const;
  bool contains(char32_t cp) const;
  bool empty() const { return ranges_.empty(); }
  const std::vector<std::pair<char32_t, char32_t>>& ranges() const { return ranges_; }

 private:
  void normalize();
  std::vector<std::pair<char32_t, char32_t>> ranges_;
};

// The UTF-8 encodings of the set's members, as one expression.
GrammarBuilder::Expr utf8_expr(GrammarBuilder& b, const CodePointSet& set);

// Unicode classes for regular-expression escapes, following Python's `re` for str patterns.
// Where the exact set depends on Unicode tables that may differ between versions, callers use an
// `ascii_*` subset when a generated character must certainly be in the class, and the full set when
// it must certainly be outside (negated classes).
const CodePointSet& unicode_digits();      // general category Nd
const CodePointSet& unicode_word();        // letters, numbers and '_'
const CodePointSet& unicode_whitespace();  // what str.isspace() accepts
CodePointSet ascii_digits();
CodePointSet ascii_word();
CodePointSet ascii_whitespace();

}  // namespace troupe::structured_output
