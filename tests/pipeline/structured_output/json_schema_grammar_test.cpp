// JSON Schema as grammars: documents valid against the schema are matched (in troupe's canonical
// layout), invalid ones are not, and keywords that cannot be enforced are errors.
#include <catch2/catch.hpp>

#include "tests/pipeline/structured_output/grammar_test_support.hpp"

using namespace troupe;
using namespace troupe::test;
using structured_output::GrammarError;

namespace {

auto schema(const std::string& s) { return compile(schema_request(s), byte_vocabulary()); }

}  // namespace

TEST_CASE("json schema: object with required and optional properties in order") {
  const auto g = schema(R"({"type":"object","properties":{
      "name":{"type":"string"},"age":{"type":"integer","minimum":0},"email":{"type":"string"}},
      "required":["name"]})");
  CHECK(matches(g, R"({"name": "Ada"})"));
  CHECK(matches(g, R"({"name":"Ada","age":36})"));
  CHECK(matches(g, R"({"name": "Ada", "email": "a@b.c"})"));
  CHECK(matches(g, "{\n  \"name\": \"Ada\",\n  \"age\": 36,\n  \"email\": \"x\"\n}"));
  CHECK_FALSE(matches(g, R"({"age": 36})"));                 // name is required
  CHECK_FALSE(matches(g, R"({"name": "Ada", "age": -1})"));  // minimum
  CHECK_FALSE(matches(g, R"({"name": "Ada", "zip": 1})"));   // undeclared property
  CHECK_FALSE(matches(g, R"({"name": "Ada",})"));
  CHECK_FALSE(matches(g, R"({"name": "Ada"} )"));            // nothing after the document
}

TEST_CASE("json schema: additionalProperties, free-form objects, nested arrays") {
  const auto free = schema(R"({"type":"object"})");
  CHECK(matches(free, R"({"a": [1, {"b": null}], "c": "d"})"));
  CHECK(matches(free, "{}"));
  const auto extra = schema(R"({"type":"object","properties":{"id":{"type":"integer"}},"required":["id"],
      "additionalProperties":{"type":"boolean"}})");
  CHECK(matches(extra, R"({"id": 1, "x": true, "y": false})"));
  CHECK_FALSE(matches(extra, R"({"id": 1, "x": 3})"));
  const auto closed = schema(R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":false})");
  CHECK(matches(closed, "{}"));
  CHECK(matches(closed, R"({"a": 1})"));
  CHECK_FALSE(matches(closed, R"({"b": 1})"));
}

TEST_CASE("json schema: arrays with item counts and tuples") {
  const auto g = schema(R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})");
  CHECK(matches(g, "[1, 2]"));
  CHECK(matches(g, "[1,2,3]"));
  CHECK_FALSE(matches(g, "[1]"));
  CHECK_FALSE(matches(g, "[1, 2, 3, 4]"));
  CHECK_FALSE(matches(g, "[1, 2.5]"));
  const auto empty_ok = schema(R"({"type":"array","items":{"type":"string"}})");
  CHECK(matches(empty_ok, "[]"));
  CHECK(matches(empty_ok, R"([ "a" , "b" ])"));
  const auto tuple = schema(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"number"}]})");
  CHECK(matches(tuple, R"(["x", 1.5])"));
  CHECK_FALSE(matches(tuple, R"(["x", 1.5, 2])"));
}

TEST_CASE("json schema: strings with lengths, patterns, formats and escapes") {
  const auto len = schema(R"({"type":"string","minLength":2,"maxLength":3})");
  CHECK(matches(len, R"("ab")"));
  CHECK(matches(len, R"("a\"é")"));  // an escape and a multi-byte character count as one each
  CHECK_FALSE(matches(len, R"("a")"));
  CHECK_FALSE(matches(len, R"("abcd")"));
  CHECK_FALSE(matches(len, R"("\ud83d\ude00")"));  // surrogate escapes are never generated
  const auto pat = schema(R"({"type":"string","pattern":"^[a-z]+\"[0-9]$"})");
  CHECK(matches(pat, R"("ab\"7")"));  // the quote inside the value is written escaped
  CHECK_FALSE(matches(pat, R"("ab"7")"));
  const auto date = schema(R"({"type":"string","format":"date-time"})");
  CHECK(matches(date, R"("2024-02-29T23:59:01Z")"));
  CHECK(matches(date, R"("2024-02-29T23:59:01.123+05:30")"));
  CHECK_FALSE(matches(date, R"("2024-13-01T00:00:00Z")"));
  CHECK(matches(schema(R"({"type":"string","format":"made-up"})"), R"("anything")"));
  const auto any = schema(R"({"type":"string"})");
  CHECK(matches(any, R"("tab\tnew\nline \u00e9 \/ \\")"));
  CHECK_FALSE(matches(any, "\"raw\nnewline\""));
  CHECK_FALSE(matches(any, R"("bad \x escape")"));
}

TEST_CASE("json schema: numbers and integers within bounds") {
  const auto i = schema(R"({"type":"integer","minimum":-12,"exclusiveMaximum":100})");
  for (const char* ok : {"-12", "-1", "0", "7", "42", "99"}) CHECK(matches(i, ok));
  for (const char* bad : {"-13", "100", "101", "007", "-0", "1.0", "1e2"}) CHECK_FALSE(matches(i, bad));
  const auto p = schema(R"({"type":"number","minimum":0,"maximum":1})");
  for (const char* ok : {"0", "0.5", "0.999", "1", "1.0", "1.000"}) CHECK(matches(p, ok));
  for (const char* bad : {"-0.1", "1.01", "2", "1e0", ".5"}) CHECK_FALSE(matches(p, bad));
  const auto ex = schema(R"({"type":"number","exclusiveMinimum":0,"exclusiveMaximum":2})");
  for (const char* ok : {"0.01", "1", "1.5"}) CHECK(matches(ex, ok));
  for (const char* bad : {"0", "0.0", "2", "2.0", "-1"}) CHECK_FALSE(matches(ex, bad));
  const auto neg = schema(R"({"type":"number","maximum":-2})");
  for (const char* ok : {"-2", "-2.0", "-2.5", "-300"}) CHECK(matches(neg, ok));
  for (const char* bad : {"-1.5", "0", "-1"}) CHECK_FALSE(matches(neg, bad));
  const auto any = schema(R"({"type":"number"})");
  for (const char* ok : {"0", "-0.5", "12e-3", "1E+10", "3.25"}) CHECK(matches(any, ok));
  CHECK_FALSE(matches(any, "01"));
  CHECK_FALSE(matches(any, "12345678901234567"));  // over the digit cap
}

TEST_CASE("json schema: fractional bounds and multipleOf, exactly") {
  const auto lat = schema(R"({"type":"number","minimum":-3.59,"exclusiveMaximum":90.5})");
  for (const char* ok : {"-3.59", "-3.5", "0", "90.49", "90", "12.345678901"}) CHECK(matches(lat, ok));
  for (const char* bad : {"-3.591", "-3.6", "90.5", "90.50", "91", "-0", "1e1"}) CHECK_FALSE(matches(lat, bad));
  // Draft 4's boolean exclusiveMinimum, beside a fractional minimum.
  const auto d4 = schema(R"({"type":"number","minimum":0.5,"exclusiveMinimum":true,"maximum":1})");
  CHECK_FALSE(matches(d4, "0.5"));
  CHECK(matches(d4, "0.51"));
  const auto price = schema(R"({"type":"number","minimum":0,"multipleOf":0.01})");
  for (const char* ok : {"0", "0.07", "19.99", "1000"}) CHECK(matches(price, ok));
  for (const char* bad : {"0.001", "-0.01", "19.999"}) CHECK_FALSE(matches(price, bad));
  const auto step = schema(R"({"type":"integer","multipleOf":5,"maximum":12})");
  for (const char* ok : {"10", "5", "0", "-5", "-100"}) CHECK(matches(step, ok));
  for (const char* bad : {"12", "15", "7", "5.0"}) CHECK_FALSE(matches(step, bad));
  // An integer with a fractional multipleOf: every integer that is a multiple of it.
  const auto half = schema(R"({"type":"integer","multipleOf":0.5,"minimum":-1,"maximum":1})");
  for (const char* ok : {"-1", "0", "1"}) CHECK(matches(half, ok));
  CHECK_FALSE(matches(half, "0.5"));
  // Inside an object, with the real tokenizer's number tokens.
  const auto obj = compile(schema_request(R"({"type":"object","properties":{"t":{"type":"number","exclusiveMinimum":-0.5,"maximum":0.25}},"required":["t"]})"),
                           smollm2_vocabulary());
  CHECK(matches(obj, R"({"t": 0.25})"));
  CHECK(matches(obj, R"({"t": -0.49})"));
  CHECK_FALSE(matches(obj, R"({"t": -0.5})"));
  CHECK_FALSE(matches(obj, R"({"t": 0.26})"));
}

TEST_CASE("json schema: enum, const, anyOf, oneOf, nullable, type lists") {
  const auto e = schema(R"({"enum":["red","green",3,null,{"a":[1]}]})");
  for (const char* ok : {R"("red")", R"("green")", "3", "null", R"({"a":[1]})"}) CHECK(matches(e, ok));
  CHECK_FALSE(matches(e, R"("blue")"));
  CHECK(matches(schema(R"({"const":"x\ny"})"), R"("x\ny")"));
  const auto any_of = schema(R"({"anyOf":[{"type":"integer"},{"type":"object","properties":{"k":{"type":"string"}},"required":["k"]}]})");
  CHECK(matches(any_of, "5"));
  CHECK(matches(any_of, R"({"k": "v"})"));
  CHECK_FALSE(matches(any_of, R"("5")"));
  const auto one_of = schema(R"({"oneOf":[{"type":"string"},{"type":"boolean"}]})");
  CHECK(matches(one_of, "true"));
  CHECK(matches(schema(R"({"type":["string","null"]})"), "null"));
  CHECK(matches(schema(R"({"type":"integer","nullable":true})"), "null"));
  // Keywords beside anyOf apply to every branch (vLLM's tool_choice="required" schema has this shape).
  const auto merged = schema(R"({"type":"object","anyOf":[
      {"properties":{"name":{"enum":["f"]},"parameters":{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]}},"required":["name","parameters"]},
      {"properties":{"name":{"enum":["g"]},"parameters":{"type":"object","properties":{}}},"required":["name","parameters"]}]})");
  CHECK(matches(merged, R"({"name": "f", "parameters": {"x": 1}})"));
  CHECK(matches(merged, R"({"name": "g", "parameters": {}})"));
  CHECK_FALSE(matches(merged, R"({"name": "g", "parameters": {"x": 1}})"));
  CHECK_FALSE(matches(merged, R"({"name": "f", "parameters": {}})"));
}

TEST_CASE("json schema: $ref, $defs, recursion and allOf") {
  const auto tree = schema(R"({"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{
      "v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}}})");
  CHECK(matches(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]})"));
  CHECK_FALSE(matches(tree, R"({"v": 1, "kids": [{}]})"));
  const auto all = schema(R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
      {"properties":{"b":{"type":"string"}},"required":["b"]}]})");
  CHECK(matches(all, R"({"a": 1, "b": "x"})"));
  CHECK_FALSE(matches(all, R"({"a": 1})"));
  const auto defs = schema(R"({"type":"object","properties":{"p":{"$ref":"#/definitions/pt"}},"required":["p"],
      "definitions":{"pt":{"type":"array","items":{"type":"number"},"minItems":2,"maxItems":2}}})");
  CHECK(matches(defs, R"({"p": [1, 2.5]})"));
  CHECK_THROWS_WITH(schema(R"({"$ref":"#/$defs/missing"})"), Catch::Contains("does not resolve"));
  CHECK_THROWS_WITH(schema(R"({"$ref":"http://example.com/s.json"})"), Catch::Contains("only $ref into this schema"));
  CHECK_THROWS_WITH(schema(R"({"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}})"), Catch::Contains("$ref"));
}

TEST_CASE("json schema: whitespace options") {
  StructuredOutputRequest compact = schema_request(R"({"type":"object","properties":{"a":{"type":"array","items":{"type":"integer"}}},"required":["a"]})");
  compact.disable_any_whitespace = true;
  const auto g = compile(compact, byte_vocabulary());
  CHECK(matches(g, R"({"a": [1, 2]})"));
  CHECK_FALSE(matches(g, R"({"a":[1,2]})"));
  CHECK_FALSE(matches(g, "{\"a\": [1, 2]\n}"));
  const auto flexible = schema(R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]})");
  // llama.cpp's bound: nothing, one space, or one or two newlines and up to 20 spaces/tabs.
  CHECK(matches(flexible, "{ \"a\" : 1 }"));
  CHECK(matches(flexible, "{\n  \"a\": 1\n}"));
  CHECK(matches(flexible, "{\n\n\t\t\"a\":\n" + std::string(20, ' ') + "1}"));
  CHECK_FALSE(matches(flexible, "{  \"a\": 1}"));                               // two spaces, no newline
  CHECK_FALSE(matches(flexible, "{\n" + std::string(21, ' ') + "\"a\": 1}"));  // over kMaxIndentation
  CHECK_FALSE(matches(flexible, "{\n\n\n\"a\": 1}"));                           // three newlines
  CHECK_FALSE(matches(flexible, "{ \"a\" :\t1 }"));                              // a tab without a newline
  StructuredOutputRequest pattern = schema_request(R"({"type":"array","items":{"type":"integer"}})");
  pattern.whitespace_pattern = "[ ]?";
  const auto p = compile(pattern, byte_vocabulary());
  CHECK(matches(p, "[ 1 , 2 ]"));
  CHECK_FALSE(matches(p, "[\n1]"));
}

TEST_CASE("json schema: unsupported keywords and unsatisfiable schemas are errors") {
  for (const char* s : {R"({"type":"object","patternProperties":{"^x":{}}})", R"({"not":{"type":"string"}})",
                        R"({"type":"array","uniqueItems":true})", R"({"type":"number","multipleOf":0})",
                        R"({"if":{"type":"string"},"then":{"minLength":1}})", R"({"type":"array","contains":{"type":"integer"}})",
                        R"({"type":"object","minProperties":2})", R"({"type":"number","multipleOf":-0.5})",
                        R"({"type":"number","multipleOf":1234567.5})", R"({"type":"number","minimum":0.2,"maximum":0.3,"multipleOf":0.5})",
                        R"({"type":"string","pattern":"a+","maxLength":3})"}) {
    CAPTURE(s);
    CHECK_THROWS_AS(schema(s), GrammarError);
  }
  CHECK_THROWS_WITH(schema(R"({"type":"object","properties":{"a":{"not":{}}}})"), Catch::Contains("#/properties/a"));
  CHECK_THROWS_AS(schema(R"({"type":"integer","minimum":5,"maximum":4})"), GrammarError);
  CHECK_THROWS_AS(schema(R"({"type":"strin"})"), GrammarError);
  CHECK_THROWS_AS(schema("{not json"), GrammarError);
  CHECK_THROWS_AS(schema("false"), GrammarError);
  CHECK_THROWS_AS(schema(R"({"type":"object","properties":{"a":false},"required":["a"]})"), GrammarError);
  // Annotations and unknown vendor keywords are not assertions: accepted.
  CHECK(matches(schema(R"({"type":"integer","title":"n","description":"d","default":3,"examples":[1],"x-order":2})"), "3"));
  // uniqueItems false, multipleOf 1 on integers, and unevaluatedProperties false assert nothing extra.
  CHECK(matches(schema(R"({"type":"array","uniqueItems":false,"items":{"type":"integer","multipleOf":1}})"), "[1]"));
}

TEST_CASE("json_object: any JSON object, nothing else") {
  StructuredOutputRequest r;
  r.kind = StructuredOutputRequest::Kind::JsonObject;
  const auto g = compile(r, byte_vocabulary());
  CHECK(matches(g, R"({"a": {"b": [true, false, null, -1.5e3, "s"]}})"));
  CHECK(matches(g, "{}"));
  CHECK_FALSE(matches(g, "[]"));
  CHECK_FALSE(matches(g, R"("s")"));
  CHECK_FALSE(matches(g, R"({"a" 1})"));
}
