#include "pipeline/structured_output/code_point_set.hpp"

#include <algorithm>
#include <array>

#include <utf8proc.h>

#include "pipeline/tokenizer/utf8.hpp"

namespace troupe::structured_output {

namespace {

constexpr char32_t kSurrogateLo = 0xD800;
constexpr char32_t kSurrogateHi = 0xDFFF;

int encoded_length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

std::array<uint8_t, 4> encode(char32_t cp) {
  std::string s;
  utf8::append(s, cp);
  std::array<uint8_t, 4> out{};
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<uint8_t>(s[i]);
  return out;
}

// Splits [lo, hi] (same encoded length after the first splits) into pieces whose encodings are
// a fixed sequence of byte ranges; appends one expression per piece.
void split_range(GrammarBuilder& b, char32_t lo, char32_t hi, std::vector<GrammarBuilder::Expr>& out) {
  if (lo > hi) return;
  for (char32_t boundary : {char32_t{0x7F}, char32_t{0x7FF}, char32_t{0xFFFF}}) {
    if (lo <= boundary && boundary < hi) {
      split_range(b, lo, boundary, out);
      split_range(b, boundary + 1, hi, out);
      return;
    }
  }
  if (hi < 0x80) {
    out.push_back(b.byte_range(static_cast<uint8_t>(lo), static_cast<uint8_t>(hi)));
    return;
  }
  const int n = encoded_length(lo);
  for (int i = 1; i < n; ++i) {
    const char32_t m = (char32_t{1} << (6 * i)) - 1;  // the low 6*i bits: the last i continuation bytes
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        split_range(b, lo, lo | m, out);
        split_range(b, (lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        split_range(b, lo, (hi & ~m) - 1, out);
        split_range(b, hi & ~m, hi, out);
        return;
      }
    }
  }
  const auto a = encode(lo), z = encode(hi);
  std::vector<GrammarBuilder::Expr> seq;
  for (int i = 0; i < n; ++i) seq.push_back(b.byte_range(a[static_cast<std::size_t>(i)], z[static_cast<std::size_t>(i)]));
  out.push_back(b.seq(std::move(seq)));
}

CodePointSet from_predicate(bool (*pred)(char32_t)) {
  CodePointSet set;
  char32_t start = 0;
  bool in = false;
  for (char32_t cp = 0; cp <= kMaxCodePoint + 1; ++cp) {
    const bool member = cp <= kMaxCodePoint && !(cp >= kSurrogateLo && cp <= kSurrogateHi) && pred(cp);
    if (member && !in) {
      start = cp;
      in = true;
    } else if (!member && in) {
      set.add(start, cp - 1);
      in = false;
    }
  }
  return set;
}

bool is_decimal_digit(char32_t cp) { return utf8proc_category(static_cast<utf8proc_int32_t>(cp)) == UTF8PROC_CATEGORY_ND; }

bool is_word(char32_t cp) {
  if (cp == '_') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

bool is_space(char32_t cp) { return (cp >= 0x1C && cp <= 0x1F) || utf8::is_white_space(cp); }

}  // namespace

CodePointSet CodePointSet::range(char32_t lo, char32_t hi) {
  CodePointSet s;
  s.add(lo, hi);
  return s;
}

CodePointSet CodePointSet::all() { return range(0, kMaxCodePoint); }

void CodePointSet::add(char32_t lo, char32_t hi) {
  if (lo > hi) return;
  hi = std::min(hi, kMaxCodePoint);
  // Surrogates are not scalar values: never part of a set.
  if (lo <= kSurrogateHi && hi >= kSurrogateLo) {
    if (lo < kSurrogateLo) ranges_.emplace_back(lo, kSurrogateLo - 1);
    if (hi > kSurrogateHi) ranges_.emplace_back(kSurrogateHi + 1, hi);
  } else {
    ranges_.emplace_back(lo, hi);
  }
  normalize();
}

void CodePointSet::add(const CodePointSet& other) {
  ranges_.insert(ranges_.end(), other.ranges_.begin(), other.ranges_.end());
  normalize();
}

void CodePointSet::normalize() {
  std::sort(ranges_.begin(), ranges_.end());
  std::vector<std::pair<char32_t, char32_t>> merged;
  for (const auto& r : ranges_) {
    if (!merged.empty() && r.first <= merged.back().second + 1) {
      merged.back().second = std::max(merged.back().second, r.second);
    } else {
      merged.push_back(r);
    }
  }
  ranges_ = std::move(merged);
}

CodePointSet CodePointSet::complement() const {
  CodePointSet out;
  char32_t next = 0;
  for (const auto& [lo, hi] : ranges_) {
    if (lo > next) out.add(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) out.add(next, kMaxCodePoint);
  return out;
}

CodePointSet CodePointSet::minus(const CodePointSet& other) const { return intersect(other.complement()); }

CodePointSet CodePointSet::intersect(const CodePointSet& other) const {
  CodePointSet out;
  std::size_t i = 0, j = 0;
  while (i < ranges_.size() && j < other.ranges_.size()) {
    const char32_t lo = std::max(ranges_[i].first, other.ranges_[j].first);
    const char32_t hi = std::min(ranges_[i].second, other.ranges_[j].second);
    if (lo <= hi) out.ranges_.emplace_back(lo, hi);
    if (ranges_[i].second < other.ranges_[j].second) ++i;
    else ++j;
  }
  return out;
}

bool CodePointSet::contains(char32_t cp) const {
  const auto it = std::upper_bound(ranges_.begin(), ranges_.end(), std::pair<char32_t, char32_t>(cp, kMaxCodePoint + 1));
  return it != ranges_.begin() && std::prev(it)->second >= cp;
}

GrammarBuilder::Expr utf8_expr(GrammarBuilder& b, const CodePointSet& set) {
  std::vector<GrammarBuilder::Expr> options;
  for (const auto& [lo, hi] : set.ranges()) split_range(b, lo, hi, options);
  return b.alt(std::move(options));
}

const CodePointSet& unicode_digits() {
  static const CodePointSet set = from_predicate(is_decimal_digit);
  return set;
}
const CodePointSet& unicode_word() {
  static const CodePointSet set = from_predicate(is_word);
  return set;
}
const CodePointSet& unicode_whitespace() {
  static const CodePointSet set = from_predicate(is_space);
  return set;
}

CodePointSet ascii_digits() { return CodePointSet::range('0', '9'); }
CodePointSet ascii_word() {
  CodePointSet s = CodePointSet::range('a', 'z');
  s.add('A', 'Z');
  s.add('0', '9');
  s.add('_', '_');
  return s;
}
CodePointSet ascii_whitespace() {
  CodePointSet s = CodePointSet::range('\t', '\r');
  s.add(' ', ' ');
  return s;
}

}  // namespace troupe::structured_output
