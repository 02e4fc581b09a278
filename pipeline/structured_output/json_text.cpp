#include "pipeline/structured_output/json_text.hpp"

#include <cstdio>

namespace troupe::structured_output {

namespace {

// The escape sequence JSON text uses for a character that cannot appear raw in a string.
std::string escape_of(char32_t cp) {
  switch (cp) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
      return buf;
    }
  }
}

CodePointSet needs_escape() {
  CodePointSet s = CodePointSet::range(0, 0x1F);
  s.add('"', '"');
  s.add('\\', '\\');
  return s;
}

}  // namespace

std::string json_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '"' || c == '\\') {
      out += escape_of(u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

GrammarBuilder::Expr json_string_char(GrammarBuilder& b, const CodePointSet& set) {
  const CodePointSet special = needs_escape();
  std::vector<GrammarBuilder::Expr> options;
  const CodePointSet raw = set.minus(special);
  if (!raw.empty()) options.push_back(utf8_expr(b, raw));
  const CodePointSet escaped = set.intersect(special);
  for (const auto& [lo, hi] : escaped.ranges()) {
    for (char32_t cp = lo; cp <= hi; ++cp) options.push_back(b.literal(escape_of(cp)));
  }
  return b.alt(std::move(options));
}

GrammarBuilder::Expr json_any_string_char(GrammarBuilder& b) {
  const CodePointSet raw = CodePointSet::all().minus(needs_escape());
  ByteSet simple;
  for (char c : std::string_view("\"\\/bfnrt")) simple.set(static_cast<unsigned char>(c));
  ByteSet hex, hex_not_d, hex_0_7;
  for (char c : std::string_view("0123456789abcdefABCDEF")) hex.set(static_cast<unsigned char>(c));
  hex_not_d = hex;
  hex_not_d.reset('d');
  hex_not_d.reset('D');
  for (char c = '0'; c <= '7'; ++c) hex_0_7.set(static_cast<unsigned char>(c));
  ByteSet d_set;
  d_set.set('d');
  d_set.set('D');
  // \uXXXX outside D800-DFFF: first digit other than d/D, or d/D followed by 0-7.
  const auto h = [&] { return b.bytes(hex); };
  const GrammarBuilder::Expr unicode = b.seq({b.literal("u"), b.alt({b.seq({b.bytes(hex_not_d), h(), h(), h()}),
                                                                     b.seq({b.bytes(d_set), b.bytes(hex_0_7), h(), h()})})});
  const GrammarBuilder::Expr escape = b.seq({b.literal("\\"), b.alt({b.bytes(simple), unicode})});
  return b.alt({utf8_expr(b, raw), escape});
}

}  // namespace troupe::structured_output
