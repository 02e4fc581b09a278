// Regular expressions as grammars: the strings they match and the ones they reject, checked on
// the byte level through the matcher.
#include <catch2/catch.hpp>

#include "tests/pipeline/structured_output/grammar_test_support.hpp"

using namespace troupe;
using namespace troupe::test;
using structured_output::GrammarError;

namespace {

auto regex(const std::string& pattern) { return compile(regex_request(pattern), byte_vocabulary()); }

}  // namespace

TEST_CASE("regex: literals, classes, groups and quantifiers") {
  const auto g = regex(R"((\d{3})-[A-Z][a-z]+(?:, [A-Z][a-z]+)*\.?)");
  CHECK(matches(g, "123-Alice"));
  CHECK(matches(g, "123-Alice, Bob, Carol."));
  CHECK_FALSE(matches(g, "12-Alice"));
  CHECK_FALSE(matches(g, "123-alice"));
  CHECK_FALSE(matches(g, "123-Alice,Bob"));
  CHECK(is_prefix(g, "123-Al"));
  CHECK_FALSE(is_prefix(g, "1234"));
}

TEST_CASE("regex: bounded repetition, alternation, anchors at the ends") {
  const auto g = regex(R"(^(yes|no|maybe){1,2}$)");
  CHECK(matches(g, "yes"));
  CHECK(matches(g, "maybeno"));
  CHECK_FALSE(matches(g, "yesyesyes"));
  CHECK_FALSE(matches(g, ""));
  const auto counts = regex(R"(a{2,}b{,2}c{3})");
  CHECK(matches(counts, "aaccc"));
  CHECK(matches(counts, "aaaaabbccc"));
  CHECK_FALSE(matches(counts, "accc"));
  CHECK_FALSE(matches(counts, "aabbbccc"));
  CHECK(matches(regex("x{,}y"), "xxxy"));
  CHECK(matches(regex("a{b"), "a{b"));  // not a quantifier: literal brace, as Python reads it
}

TEST_CASE("regex: dot and negated classes cover multi-byte UTF-8 characters") {
  const auto g = regex(R"([^a-z]+\.)");
  CHECK(matches(g, "ÄÖ€🙂."));
  CHECK_FALSE(matches(g, "Äb."));
  const auto dot = regex("<.>");
  CHECK(matches(dot, "<é>"));
  CHECK(matches(dot, "<🙂>"));
  CHECK_FALSE(matches(dot, "<\n>"));
  CHECK_FALSE(matches(dot, "<\xff>"));     // not UTF-8
  CHECK_FALSE(matches(dot, "<\xed\xa0\x80>"));  // a surrogate's encoding
}

TEST_CASE("regex: \\d \\w \\s generate ASCII; negations exclude all of Unicode's class") {
  const auto w = regex(R"(\w+)");
  CHECK(matches(w, "snake_case_9"));
  CHECK_FALSE(matches(w, "é"));  // Python's \w matches it, but generating it is not needed
  const auto not_digit = regex(R"(\D)");
  CHECK(matches(not_digit, "x"));
  CHECK_FALSE(matches(not_digit, "7"));
  CHECK_FALSE(matches(not_digit, "٣"));  // ARABIC-INDIC DIGIT THREE: \d in Python
  const auto not_space = regex(R"([^\s]+)");
  CHECK(matches(not_space, "a-b"));
  CHECK_FALSE(matches(not_space, "a\u00a0b"));  // NO-BREAK SPACE is \s in Python
}

TEST_CASE("regex: escapes") {
  CHECK(matches(regex(R"(\x41\u00e9\U0001F642\t\.\[)"), "Aé🙂\t.["));
  CHECK(matches(regex(R"([\]\-a])"), "-"));
  CHECK(matches(regex(R"([\]\-a])"), "]"));
}

TEST_CASE("regex: unsupported constructs are errors with a position") {
  const auto fails = [](const std::string& p) { return regex(p); };
  CHECK_THROWS_AS(fails(R"((a)\1)"), GrammarError);
  CHECK_THROWS_AS(fails(R"(a(?=b))"), GrammarError);
  CHECK_THROWS_AS(fails(R"((?i)abc)"), GrammarError);
  CHECK_THROWS_AS(fails(R"(a\bb)"), GrammarError);
  CHECK_THROWS_AS(fails(R"(a^b)"), GrammarError);
  CHECK_THROWS_AS(fails(R"(a**)"), GrammarError);
  CHECK_THROWS_AS(fails(R"((ab)"), GrammarError);
  CHECK_THROWS_AS(fails(R"([abc)"), GrammarError);
  CHECK_THROWS_AS(fails(R"(a{3,2})"), GrammarError);
  CHECK_THROWS_WITH(fails(R"(ab\q)"), Catch::Contains("position"));
}

TEST_CASE("choice: exactly one of the strings") {
  StructuredOutputRequest r;
  r.kind = StructuredOutputRequest::Kind::Choice;
  r.choices = {"positive", "negative", "neutral", "pos"};
  const auto g = compile(r, byte_vocabulary());
  CHECK(matches(g, "positive"));
  CHECK(matches(g, "pos"));
  CHECK_FALSE(matches(g, "posi"));
  CHECK_FALSE(matches(g, "negative "));
  r.choices.clear();
  CHECK_THROWS_AS(compile(r, byte_vocabulary()), GrammarError);
}

TEST_CASE("GBNF grammars: rules, recursion, classes, repetition") {
  StructuredOutputRequest r;
  r.kind = StructuredOutputRequest::Kind::Grammar;
  r.text = R"G(
    # arithmetic over small numbers
    root   ::= expr
    expr   ::= term (("+" | "-") term)*
    term   ::= num | "(" expr ")"
    num    ::= [1-9] [0-9]{0,2}
  )G";
  const auto g = compile(r, byte_vocabulary());
  CHECK(matches(g, "1+(22-333)"));
  CHECK(matches(g, "((7))"));
  CHECK_FALSE(matches(g, "1+"));
  CHECK_FALSE(matches(g, "1000"));
  CHECK_FALSE(matches(g, "(1"));
  r.text = "root ::= root \"a\" | \"b\"";
  CHECK_THROWS_WITH(compile(r, byte_vocabulary()), Catch::Contains("left-recursive"));
  r.text = "root ::= undefined";
  CHECK_THROWS_WITH(compile(r, byte_vocabulary()), Catch::Contains("undefined"));
  r.text = "start: \"a\"";
  CHECK_THROWS_AS(compile(r, byte_vocabulary()), GrammarError);
}

TEST_CASE("limits: deep nesting and automaton blow-up are errors, not crashes or hangs") {
  CHECK_THROWS_WITH(regex(std::string(100000, '(') + std::string(100000, ')')), Catch::Contains("nest"));
  StructuredOutputRequest g;
  g.kind = StructuredOutputRequest::Kind::Grammar;
  g.text = "root ::= " + std::string(5000, '(') + "\"a\"" + std::string(5000, ')');
  CHECK_THROWS_WITH(compile(g, byte_vocabulary()), Catch::Contains("nest"));
  std::string nested = "{\"type\":\"array\",\"items\":";
  std::string schema;
  for (int i = 0; i < 40; ++i) schema += nested;
  schema += "{\"type\":\"integer\"}" + std::string(40, '}');
  // Past boost.json's parse depth (32): an error about the schema text, as the request body's own
  // parse would give.
  CHECK_THROWS_AS(compile(schema_request(schema), byte_vocabulary()), GrammarError);
  // An exponential subset construction stops at the size limit.
  CHECK_THROWS_WITH(regex("(a|b)*a(a|b){24}"), Catch::Contains("too large"));
  // Any character, then many: each of the (few) automaton nodes costs a pass over a large NFA, so
  // the work budget, not the node count, ends it (found by the fuzzer: 87 s under ASan before).
  CHECK_THROWS_WITH(regex(".*&.{40}"), Catch::Contains("too complex"));
}
