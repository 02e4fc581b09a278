// JsonValueStream re-serializes JSON as Python's json.dumps(json.loads(text)) does, whatever way
// the text is cut. The expected strings are what CPython 3.11 prints for the same inputs.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tool_calls/json_value_stream.hpp"

namespace {

using troupe::JsonValueStream;

// Feeds `text` in pieces of `piece` bytes; returns the canonical output ("<fail>" on failure).
std::string canonical(const std::string& text, std::size_t piece, bool ensure_ascii = false, std::size_t* used = nullptr) {
  JsonValueStream stream(ensure_ascii);
  std::string out;
  std::size_t consumed = 0;
  for (std::size_t pos = 0; pos < text.size() && !stream.complete() && !stream.failed(); pos += piece) {
    const std::string_view chunk = std::string_view(text).substr(pos, piece);
    const std::size_t n = stream.push(chunk);
    consumed += n;
    out += stream.take_output();
    if (n < chunk.size()) break;
  }
  if (!stream.complete() && !stream.failed()) stream.finish();
  out += stream.take_output();
  if (used) *used = consumed;
  return stream.failed() ? "<fail>" : out;
}

}  // namespace

TEST_CASE("json.dumps separators, escapes and floats, for every way of cutting the text") {
  const std::string input = R"(  {"city":"Z\u00fcrich","n":[1,2.50,-0,1E2,1e-7, 3.0e+16],"ok":true,"x":null,"q":"a\"b\\c\/d\n\t","e":{}, "l":[]})";
  const std::string expected =
      R"({"city": "Zürich", "n": [1, 2.5, 0, 100.0, 1e-07, 3e+16], "ok": true, "x": null, "q": "a\"b\\c/d\n\t", "e": {}, "l": []})";
  for (std::size_t piece : {1, 2, 3, 7, 1000}) {
    INFO("piece " << piece);
    CHECK(canonical(input, piece) == expected);
  }
}

TEST_CASE("ensure_ascii escapes non-ASCII as json.dumps does, surrogate pairs included") {
  CHECK(canonical(R"("é😀\ud83d\ude00")", 1, true) == R"("\u00e9\ud83d\ude00\ud83d\ude00")");
  CHECK(canonical(R"("é😀\ud83d\ude00")", 1, false) == "\"é😀😀\"");
}

TEST_CASE("the stream stops at the end of the value and leaves what follows") {
  std::size_t used = 0;
  CHECK(canonical(R"({"a": 1}</tool_call>)", 1000, false, &used) == R"({"a": 1})");
  CHECK(used == 8);
  JsonValueStream number;
  CHECK(number.push("12; next") == 2);
  CHECK(number.complete());
  CHECK(number.output() == "12");
}

TEST_CASE("a top-level string exposes its decoded value") {
  JsonValueStream s;
  s.push(R"("get_\u0077eather" rest)");
  REQUIRE(s.complete());
  CHECK(s.is_string());
  CHECK(s.string_value() == "get_weather");
}

TEST_CASE("malformed JSON fails") {
  for (const char* bad : {R"({"a" 1})", R"({"a": tru})", R"([1,,2])", R"({"a": 01})", "{\"a\": \"x\ny\"}",
                          R"({"a": 1,})", R"("\x")", R"({"a": [1})"}) {
    INFO(bad);
    CHECK(canonical(bad, 1) == "<fail>");
  }
}

TEST_CASE("an unfinished value fails at finish, a finished top-level number does not") {
  CHECK(canonical(R"({"a": [1, 2)", 3) == "<fail>");
  CHECK(canonical("-12.5", 2) == "-12.5");
}
