#include "pipeline/structured_output/ebnf_grammar.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/structured_output/code_point_set.hpp"
#include "pipeline/structured_output/grammar_builder.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe::structured_output {

namespace {

using Expr = GrammarBuilder::Expr;

// Parsing and matching recurse per group and per rule called at the start of another: bounded so
// that no input can exhaust the stack.
constexpr int kMaxNesting = 200;
constexpr std::size_t kMaxRules = 2000;

bool is_name_char(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'; }

class EbnfParser {
 public:
  explicit EbnfParser(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t len = 0;
      chars_.push_back(utf8::decode(text, pos, len));
      pos += len;
    }
  }

  Grammar parse() {
    skip_space();
    while (pos_ < chars_.size()) {
      const std::string name = parse_name();
      skip_space();
      if (!consume("::=")) fail("expected '::=' after rule name '" + name + "'");
      const auto r = rule(name);
      if (defined_.contains(name)) fail("rule '" + name + "' is defined twice");
      defined_[name] = true;
      b_.define(r, parse_alternation());
      skip_space();
    }
    const auto root = rules_.find("root");
    if (root == rules_.end() || !defined_.contains("root")) throw GrammarError("grammar: no 'root' rule");
    for (const auto& [name, r] : rules_) {
      if (!defined_.contains(name)) throw GrammarError("grammar: rule '" + name + "' is used but not defined");
    }
    return b_.build(root->second);
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    int line = 1;
    for (std::size_t i = 0; i < pos_ && i < chars_.size(); ++i) line += chars_[i] == '\n';
    throw GrammarError("grammar line " + std::to_string(line) + ": " + message);
  }

  GrammarBuilder::Rule rule(const std::string& name) {
    if (const auto it = rules_.find(name); it != rules_.end()) return it->second;
    if (rules_.size() >= kMaxRules) fail("more than " + std::to_string(kMaxRules) + " rules");
    return rules_[name] = b_.add_rule(name);
  }

  void skip_space() {
    while (pos_ < chars_.size()) {
      const char32_t c = chars_[pos_];
      if (c == '#') {
        while (pos_ < chars_.size() && chars_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else {
        return;
      }
    }
  }

  bool consume(std::string_view s) {
    if (pos_ + s.size() > chars_.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (chars_[pos_ + i] != static_cast<char32_t>(s[i])) return false;
    }
    pos_ += s.size();
    return true;
  }

  std::string parse_name() {
    std::string name;
    while (pos_ < chars_.size() && is_name_char(chars_[pos_])) name.push_back(static_cast<char>(chars_[pos_++]));
    if (name.empty()) fail("expected a rule name");
    return name;
  }

  // True when a rule definition (name ::=) starts at the current position.
  bool at_definition() {
    const std::size_t save = pos_;
    std::size_t p = pos_;
    while (p < chars_.size() && is_name_char(chars_[p])) ++p;
    if (p == pos_) return false;
    pos_ = p;
    skip_space();
    const bool def = consume("::=");
    pos_ = save;
    return def;
  }

  Expr parse_alternation() {
    std::vector<Expr> options{parse_sequence()};
    skip_space();
    while (pos_ < chars_.size() && chars_[pos_] == '|') {
      ++pos_;
      options.push_back(parse_sequence());
      skip_space();
    }
    return b_.alt(std::move(options));
  }

  Expr parse_sequence() {
    std::vector<Expr> parts;
    for (;;) {
      skip_space();
      if (pos_ >= chars_.size()) break;
      const char32_t c = chars_[pos_];
      if (c == '|' || c == ')') break;
      if (is_name_char(c) && at_definition()) break;
      parts.push_back(parse_quantified());
    }
    if (parts.empty()) return b_.empty();
    return b_.seq(std::move(parts));
  }

  std::optional<int32_t> parse_int() {
    int64_t v = 0;
    bool any = false;
    while (pos_ < chars_.size() && chars_[pos_] >= '0' && chars_[pos_] <= '9') {
      v = v * 10 + (chars_[pos_++] - '0');
      if (v > 10000) fail("repetition count over 10000");
      any = true;
    }
    if (!any) return std::nullopt;
    return static_cast<int32_t>(v);
  }

  Expr parse_quantified() {
    Expr e = parse_primary();
    for (;;) {
      if (pos_ >= chars_.size()) return e;
      const char32_t c = chars_[pos_];
      if (c == '*') {
        ++pos_, e = b_.star(e);
      } else if (c == '+') {
        ++pos_, e = b_.plus(e);
      } else if (c == '?') {
        ++pos_, e = b_.optional(e);
      } else if (c == '{') {
        ++pos_;
        skip_space();
        const auto lo = parse_int();
        skip_space();
        int32_t min = lo.value_or(0), max = min;
        if (pos_ < chars_.size() && chars_[pos_] == ',') {
          ++pos_;
          skip_space();
          const auto hi = parse_int();
          max = hi ? *hi : GrammarBuilder::kUnbounded;
        } else if (!lo) {
          fail("expected a repetition count");
        }
        skip_space();
        if (pos_ >= chars_.size() || chars_[pos_] != '}') fail("expected '}'");
        ++pos_;
        if (max != GrammarBuilder::kUnbounded && max < min) fail("repetition {m,n} with m > n");
        e = b_.repeat(e, min, max);
      } else {
        return e;
      }
    }
  }

  char32_t parse_escape() {
    if (pos_ >= chars_.size()) fail("unterminated escape");
    const char32_t c = chars_[pos_++];
    auto hex = [&](int n) {
      uint32_t v = 0;
      for (int i = 0; i < n; ++i) {
        if (pos_ >= chars_.size()) fail("incomplete escape");
        const char32_t h = chars_[pos_++];
        int d = -1;
        if (h >= '0' && h <= '9') d = static_cast<int>(h - '0');
        else if (h >= 'a' && h <= 'f') d = static_cast<int>(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F') d = static_cast<int>(h - 'A' + 10);
        if (d < 0) fail("bad hex digit in escape");
        v = v * 16 + static_cast<uint32_t>(d);
      }
      if (v > kMaxCodePoint || (v >= 0xD800 && v <= 0xDFFF)) fail("escape is not a Unicode scalar value");
      return static_cast<char32_t>(v);
    };
    switch (c) {
      case 'n': return '\n';
      case 't': return '\t';
      case 'r': return '\r';
      case '0': return 0;
      case 'x': return hex(2);
      case 'u': return hex(4);
      case 'U': return hex(8);
      default: return c;  // \\ \" \] \[ \- ...
    }
  }

  Expr parse_primary() {
    const char32_t c = chars_[pos_];
    if (c == '"') {
      ++pos_;
      std::string bytes;
      for (;;) {
        if (pos_ >= chars_.size()) fail("unterminated string literal");
        char32_t ch = chars_[pos_++];
        if (ch == '"') break;
        if (ch == '\\') ch = parse_escape();
        utf8::append(bytes, ch);
      }
      return b_.literal(bytes);
    }
    if (c == '[') {
      ++pos_;
      bool negated = false;
      if (pos_ < chars_.size() && chars_[pos_] == '^') negated = true, ++pos_;
      CodePointSet set;
      for (;;) {
        if (pos_ >= chars_.size()) fail("unterminated character class");
        char32_t lo = chars_[pos_++];
        if (lo == ']') break;
        if (lo == '\\') lo = parse_escape();
        char32_t hi = lo;
        if (pos_ + 1 < chars_.size() && chars_[pos_] == '-' && chars_[pos_ + 1] != ']') {
          ++pos_;
          hi = chars_[pos_++];
          if (hi == '\\') hi = parse_escape();
          if (hi < lo) fail("bad character range");
        }
        set.add(lo, hi);
      }
      return utf8_expr(b_, negated ? set.complement() : set);
    }
    if (c == '.') {
      ++pos_;
      return utf8_expr(b_, CodePointSet::all());
    }
    if (c == '(') {
      if (++depth_ > kMaxNesting) fail("groups nest more than " + std::to_string(kMaxNesting) + " deep");
      ++pos_;
      skip_space();
      if (pos_ < chars_.size() && chars_[pos_] == '=') fail("lookahead assertions are not supported");
      const Expr inner = parse_alternation();
      skip_space();
      if (pos_ >= chars_.size() || chars_[pos_] != ')') fail("expected ')'");
      ++pos_;
      --depth_;
      return inner;
    }
    if (is_name_char(c)) return b_.call(rule(parse_name()));
    fail(std::string("unexpected character '") + (c < 128 ? std::string(1, static_cast<char>(c)) : "?") + "'");
  }

  GrammarBuilder b_;
  std::vector<char32_t> chars_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::map<std::string, GrammarBuilder::Rule> rules_;
  std::map<std::string, bool> defined_;
};

}  // namespace

Grammar ebnf_grammar(std::string_view text) { return EbnfParser(text).parse(); }

}  // namespace troupe::structured_output
