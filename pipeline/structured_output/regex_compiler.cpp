#include "pipeline/structured_output/regex_compiler.hpp"

#include <optional>
#include <string>
#include <vector>

#include "pipeline/structured_output/code_point_set.hpp"
#include "pipeline/structured_output/json_text.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe::structured_output {

namespace {

constexpr int32_t kMaxRepeat = 10000;
constexpr int kMaxNesting = 200;  // parsing recurses per group: bounded so input cannot exhaust the stack

// A character class as two approximations of the set Python matches: `under` (every member is
// certainly matched) is generated for a positive class; `over` (every non-member is certainly not
// matched) is complemented for a negated one. They differ only for \d \w \s.
struct ClassItem {
  CodePointSet under;
  CodePointSet over;
};

class RegexParser {
 public:
  RegexParser(GrammarBuilder& b, std::string_view pattern, RegexTarget target, std::string_view what)
      : b_(b), target_(target), what_(what) {
    for (std::size_t pos = 0; pos < pattern.size();) {
      std::size_t len = 0;
      const char32_t cp = utf8::decode(pattern, pos, len);
      chars_.push_back(cp);
      pos += len;
    }
  }

  GrammarBuilder::Expr parse() {
    std::size_t end = chars_.size();
    if (pos_ < end && chars_[pos_] == '^') ++pos_;
    else if (pos_ + 1 < end && chars_[pos_] == '\\' && chars_[pos_ + 1] == 'A') pos_ += 2;
    // A trailing $, \Z or \z (not itself escaped) anchors the end.
    if (end > pos_ && chars_[end - 1] == '$' && !escaped_at(end - 1)) {
      --end;
    } else if (end >= pos_ + 2 && chars_[end - 2] == '\\' && (chars_[end - 1] == 'Z' || chars_[end - 1] == 'z') &&
               !escaped_at(end - 2)) {
      end -= 2;
    }
    end_ = end;
    const GrammarBuilder::Expr e = parse_alternation();
    if (pos_ != end_) fail(chars_[pos_] == ')' ? "unbalanced parenthesis" : "unexpected character");
    return e;
  }

 private:
  // True when the character at i is preceded by an odd number of backslashes.
  bool escaped_at(std::size_t i) const {
    std::size_t n = 0;
    while (i > n && chars_[i - n - 1] == '\\') ++n;
    return n % 2 == 1;
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw GrammarError(std::string(what_) + ": " + message + " at position " + std::to_string(pos_));
  }

  bool at_end() const { return pos_ >= end_; }
  char32_t peek() const { return chars_[pos_]; }

  GrammarBuilder::Expr parse_alternation() {
    std::vector<GrammarBuilder::Expr> options{parse_sequence()};
    while (!at_end() && peek() == '|') {
      ++pos_;
      options.push_back(parse_sequence());
    }
    return b_.alt(std::move(options));
  }

  GrammarBuilder::Expr parse_sequence() {
    std::vector<GrammarBuilder::Expr> parts;
    while (!at_end() && peek() != '|' && peek() != ')') parts.push_back(parse_quantified());
    if (parts.empty()) return b_.empty();
    return b_.seq(std::move(parts));
  }

  GrammarBuilder::Expr parse_quantified() {
    GrammarBuilder::Expr atom = parse_atom();
    bool quantified = false;
    while (!at_end()) {
      int32_t min = 0, max = 0;
      const std::size_t start = pos_;
      if (peek() == '*') {
        min = 0, max = GrammarBuilder::kUnbounded, ++pos_;
      } else if (peek() == '+') {
        min = 1, max = GrammarBuilder::kUnbounded, ++pos_;
      } else if (peek() == '?') {
        min = 0, max = 1, ++pos_;
      } else if (peek() == '{') {
        if (!parse_braces(min, max)) break;  // not a quantifier: '{' is a literal
      } else {
        break;
      }
      if (quantified) {
        pos_ = start;
        fail("multiple repeat");
      }
      quantified = true;
      atom = b_.repeat(atom, min, max);
      // Lazy (?) and possessive (+) forms accept the same strings.
      if (!at_end() && (peek() == '?' || peek() == '+')) ++pos_;
    }
    return atom;
  }

  std::optional<int64_t> parse_number() {
    int64_t n = 0;
    bool any = false;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      n = n * 10 + (peek() - '0');
      if (n > kMaxRepeat) fail("repetition count over " + std::to_string(kMaxRepeat));
      ++pos_;
      any = true;
    }
    if (!any) return std::nullopt;
    return n;
  }

  // {n} {n,} {,m} {n,m}; on anything else restores the position and returns false.
  bool parse_braces(int32_t& min, int32_t& max) {
    const std::size_t start = pos_;
    ++pos_;
    const auto lo = parse_number();
    std::optional<int64_t> hi;
    bool comma = false;
    if (!at_end() && peek() == ',') {
      comma = true;
      ++pos_;
      hi = parse_number();
    }
    if (at_end() || peek() != '}' || (!lo && !comma) || (!lo && !hi && comma)) {
      // Python reads "{,}" as a repeat of 0 or more; anything else without digits is literal.
      if (!at_end() && peek() == '}' && comma && !lo && !hi) {
        ++pos_;
        min = 0, max = GrammarBuilder::kUnbounded;
        return true;
      }
      pos_ = start;
      return false;
    }
    ++pos_;
    min = static_cast<int32_t>(lo.value_or(0));
    max = comma ? (hi ? static_cast<int32_t>(*hi) : GrammarBuilder::kUnbounded) : min;
    if (max != GrammarBuilder::kUnbounded && max < min) fail("min repeat greater than max repeat");
    return true;
  }

  GrammarBuilder::Expr chars(const CodePointSet& set) {
    if (target_ == RegexTarget::JsonString) return json_string_char(b_, set);
    return utf8_expr(b_, set);
  }

  GrammarBuilder::Expr parse_atom() {
    const char32_t c = peek();
    switch (c) {
      case '(':
        return parse_group();
      case '[':
        return chars(parse_class());
      case '.':
        ++pos_;
        return chars(CodePointSet::all().minus(CodePointSet::of('\n')));
      case '\\': {
        ++pos_;
        const ClassItem item = parse_escape(false);
        return chars(item.under);
      }
      case '^':
      case '$':
        fail("anchors are supported only at the start and end of the pattern");
      case '*':
      case '+':
      case '?':
        fail("nothing to repeat");
      default:
        ++pos_;
        return chars(CodePointSet::of(c));
    }
  }

  GrammarBuilder::Expr parse_group() {
    if (++depth_ > kMaxNesting) fail("groups nest more than " + std::to_string(kMaxNesting) + " deep");
    ++pos_;  // '('
    if (!at_end() && peek() == '?') {
      ++pos_;
      if (at_end()) fail("unterminated group");
      const char32_t k = peek();
      if (k == ':') {
        ++pos_;
      } else if (k == 'P' && pos_ + 1 < end_ && chars_[pos_ + 1] == '<') {
        pos_ += 2;
        skip_group_name();
      } else if (k == '<' && pos_ + 1 < end_ && chars_[pos_ + 1] != '=' && chars_[pos_ + 1] != '!') {
        ++pos_;
        skip_group_name();
      } else if (k == '#') {
        while (!at_end() && peek() != ')') ++pos_;
        if (at_end()) fail("unterminated comment");
        ++pos_;
        return b_.empty();
      } else if (k == '=' || k == '!' || k == '<') {
        fail("lookaround assertions are not supported");
      } else if (k == 'P') {
        fail("backreferences are not supported");
      } else {
        fail("inline flags and other group extensions are not supported");
      }
    }
    const GrammarBuilder::Expr inner = parse_alternation();
    if (at_end() || peek() != ')') fail("missing ), unterminated subpattern");
    ++pos_;
    --depth_;
    return inner;
  }

  void skip_group_name() {
    while (!at_end() && peek() != '>') ++pos_;
    if (at_end()) fail("unterminated group name");
    ++pos_;
  }

  uint32_t parse_hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      if (at_end()) fail("incomplete escape");
      const char32_t h = peek();
      int d = -1;
      if (h >= '0' && h <= '9') d = static_cast<int>(h - '0');
      else if (h >= 'a' && h <= 'f') d = static_cast<int>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') d = static_cast<int>(h - 'A' + 10);
      if (d < 0) fail("incomplete escape");
      v = v * 16 + static_cast<uint32_t>(d);
      ++pos_;
    }
    return v;
  }

  static ClassItem exact(CodePointSet s) { return {s, s}; }

  // After a backslash. `in_class`: \b means backspace there.
  ClassItem parse_escape(bool in_class) {
    if (at_end()) fail("bad escape (end of pattern)");
    const char32_t e = peek();
    ++pos_;
    switch (e) {
      case 'd': return {ascii_digits(), unicode_digits()};
      case 'w': return {ascii_word(), unicode_word()};
      case 's': return {ascii_whitespace(), unicode_whitespace()};
      case 'D': return {unicode_digits().complement(), ascii_digits().complement()};
      case 'W': return {unicode_word().complement(), ascii_word().complement()};
      case 'S': return {unicode_whitespace().complement(), ascii_whitespace().complement()};
      case 'n': return exact(CodePointSet::of('\n'));
      case 't': return exact(CodePointSet::of('\t'));
      case 'r': return exact(CodePointSet::of('\r'));
      case 'f': return exact(CodePointSet::of('\f'));
      case 'v': return exact(CodePointSet::of('\v'));
      case 'a': return exact(CodePointSet::of('\a'));
      case '0': return exact(CodePointSet::of(0));
      case 'x': return code_point(parse_hex(2));
      case 'u': return code_point(parse_hex(4));
      case 'U': return code_point(parse_hex(8));
      case 'b':
        if (in_class) return exact(CodePointSet::of('\b'));
        fail("word boundaries (\\b) are not supported");
      case 'B':
      case 'A':
      case 'Z':
      case 'z':
      case 'G':
        fail("anchors are supported only at the start and end of the pattern");
      default:
        break;
    }
    if (e >= '1' && e <= '9') fail("backreferences are not supported");
    if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) fail(std::string("bad escape \\") + static_cast<char>(e));
    return exact(CodePointSet::of(e));
  }

  ClassItem code_point(uint32_t cp) {
    if (cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) fail("escape is not a Unicode scalar value");
    return exact(CodePointSet::of(cp));
  }

  // A single character inside a class (for range ends); nullopt when the item is a class escape.
  std::optional<char32_t> single(const ClassItem& item) const {
    if (item.under.ranges().size() == 1 && item.under.ranges()[0].first == item.under.ranges()[0].second &&
        item.over.ranges() == item.under.ranges()) {
      return item.under.ranges()[0].first;
    }
    return std::nullopt;
  }

  ClassItem parse_class_atom() {
    const char32_t c = peek();
    ++pos_;
    if (c == '\\') return parse_escape(true);
    return exact(CodePointSet::of(c));
  }

  CodePointSet parse_class() {
    ++pos_;  // '['
    bool negated = false;
    if (!at_end() && peek() == '^') {
      negated = true;
      ++pos_;
    }
    CodePointSet under, over;
    bool first = true;
    for (;;) {
      if (at_end()) fail("unterminated character set");
      if (peek() == ']' && !first) {
        ++pos_;
        break;
      }
      first = false;
      const ClassItem lo = parse_class_atom();
      if (!at_end() && peek() == '-' && pos_ + 1 < end_ && chars_[pos_ + 1] != ']') {
        ++pos_;
        const ClassItem hi = parse_class_atom();
        const auto a = single(lo), z = single(hi);
        if (!a || !z) fail("bad character range");
        if (*a > *z) fail("bad character range");
        under.add(*a, *z);
        over.add(*a, *z);
        continue;
      }
      under.add(lo.under);
      over.add(lo.over);
    }
    return negated ? over.complement() : under;
  }

  GrammarBuilder& b_;
  RegexTarget target_;
  std::string_view what_;
  std::vector<char32_t> chars_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  int depth_ = 0;
};

}  // namespace

GrammarBuilder::Expr compile_regex(GrammarBuilder& b, std::string_view pattern, RegexTarget target, std::string_view what) {
  return RegexParser(b, pattern, target, what).parse();
}

}  // namespace troupe::structured_output
