#pragma once
// Regular expressions (the syntax of Python's `re`, which is what vLLM clients write) compiled to
// grammar expressions. The whole text must match: a leading ^ / \A and a trailing $ / \Z / \z are
// accepted and mean what the whole-match reading means anyway. Supported: literals, escapes
// (\d \w \s and negations, \n \t \r \f \v \a \0, \xhh \uhhhh \Uhhhhhhhh, escaped punctuation), '.',
// classes with ranges and negation, groups ((...), (?:...), (?P<name>...), (?<name>...)), '|',
// and the quantifiers * + ? {n} {n,} {,m} {n,m} (lazy and possessive forms match the same text).
// Rejected with GrammarError: backreferences, lookaround, inline flags, anchors elsewhere, \b \B.
//
// \d \w \s generate ASCII characters only (a subset of what Python matches), while \D \W \S and
// negated classes exclude the full Unicode sets, so generated text always matches under Python.
#include <string_view>

#include "pipeline/structured_output/grammar_builder.hpp"

namespace troupe::structured_output {

enum class RegexTarget {
  Text,        // the output text itself matches
  JsonString,  // the decoded content of a JSON string matches; characters are written as JSON
               // string characters (escaped where JSON requires)
};

// `what` names the pattern in error messages ("regex", "pattern at #/properties/id").
GrammarBuilder::Expr compile_regex(GrammarBuilder& b, std::string_view pattern, RegexTarget target,
                                   std::string_view what = "regex");

}  // namespace troupe::structured_output
