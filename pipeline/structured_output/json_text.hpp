#pragma once
// JSON text pieces shared by the schema compiler and the regex compiler: the canonical way troupe
// writes a string literal, and the byte-level forms of characters inside a JSON string.
#include <string>
#include <string_view>

#include "pipeline/structured_output/code_point_set.hpp"
#include "pipeline/structured_output/grammar_builder.hpp"

namespace troupe::structured_output {

// `text` as a JSON string literal, quotes included: '"' and '\' escaped, control characters as
// \b \f \n \r \t or \u00XX, everything else as UTF-8 (Python's json.dumps with ensure_ascii=False).
std::string json_quote(std::string_view text);

// One character of `set` as it may appear inside a JSON string literal: raw UTF-8 where JSON
// allows it, the canonical escape for '"', '\' and control characters.
GrammarBuilder::Expr json_string_char(GrammarBuilder& b, const CodePointSet& set);

// Any one character inside a JSON string: raw UTF-8 (not '"', '\' or a control character) or an
// escape (\" \\ \/ \b \f \n \r \t, or \uXXXX of a non-surrogate code point, so that every escape
// is exactly one character of the decoded string).
GrammarBuilder::Expr json_any_string_char(GrammarBuilder& b);

}  // namespace troupe::structured_output
