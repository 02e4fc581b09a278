#pragma once
// Context-free grammars written in GBNF, the EBNF dialect of llama.cpp that xgrammar also reads
// (vLLM's structured_outputs.grammar): `name ::= alternatives`, "literals" and [classes] with the
// usual escapes, '.', ( ) groups, | and the quantifiers * + ? {n} {n,} {n,m}, # comments. The
// start rule is `root`. Throws GrammarError on syntax errors, undefined rules and left recursion.
#include <string_view>

#include "pipeline/structured_output/grammar.hpp"

namespace troupe::structured_output {

Grammar ebnf_grammar(std::string_view text);

}  // namespace troupe::structured_output
