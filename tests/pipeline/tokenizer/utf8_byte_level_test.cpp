// UTF-8 repair and the byte-level alphabet: the pieces decode and streaming rely on.
#include <catch2/catch.hpp>

#include <set>

#include "pipeline/tokenizer/byte_level.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {

TEST_CASE("tokenizer: Lossy UTF-8 repair replaces each maximal ill-formed subpart with one U+FFFD", "[tokenizer][utf8]") {
  const std::string r = "\xEF\xBF\xBD";
  CHECK(utf8::to_valid_lossy("plain ascii") == "plain ascii");
  CHECK(utf8::to_valid_lossy("caf\xC3\xA9 \xF0\x9F\x98\x80") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(utf8::to_valid_lossy("a\xF0\x9F\x98" "b") == "a" + r + "b");   // truncated 4-byte sequence: one
  CHECK(utf8::to_valid_lossy("\xC0\xAF") == r + r);                     // C0 never starts a character
  CHECK(utf8::to_valid_lossy("\xED\xA0\x80") == r + r + r);             // encoded surrogate
  CHECK(utf8::to_valid_lossy("\xF4\x90\x80\x80") == r + r + r + r);     // above U+10FFFF
  CHECK(utf8::to_valid_lossy("\xE2\x82") == r);
  CHECK(utf8::to_valid_lossy("\xFF") == r);
}

TEST_CASE("tokenizer: Validity and the completable tail of a byte string", "[tokenizer][utf8]") {
  CHECK(utf8::is_valid(""));
  CHECK(utf8::is_valid("\xE4\xB8\x96\xE7\x95\x8C"));
  CHECK_FALSE(utf8::is_valid("\xE4\xB8"));
  CHECK_FALSE(utf8::is_valid("\xC1\x81"));  // overlong
  CHECK(utf8::complete_prefix_length("ab\xE2\x82") == 2);      // euro sign missing its last byte
  CHECK(utf8::complete_prefix_length("ab\xE2\x82\xAC") == 5);
  CHECK(utf8::complete_prefix_length("\xF0\x9F") == 0);
  CHECK(utf8::complete_prefix_length("ab\xFF") == 3);          // can never become valid: not held
  CHECK(utf8::complete_prefix_length("\xE2\x28") == 2);        // second byte already wrong
  CHECK(utf8::complete_prefix_length("\xF0\x9F\x98\x80") == 4);
}

TEST_CASE("tokenizer: The byte-level alphabet is a bijection between bytes and 256 printable characters",
          "[tokenizer][byte_level]") {
  std::set<char32_t> seen;
  for (unsigned b = 0; b < 256; ++b) {
    const char32_t cp = byte_level::char_for_byte(static_cast<unsigned char>(b));
    seen.insert(cp);
    REQUIRE(byte_level::byte_for_char(cp) == static_cast<unsigned char>(b));
  }
  CHECK(seen.size() == 256);
  CHECK(byte_level::char_for_byte('A') == U'A');
  CHECK(byte_level::char_for_byte(' ') == U'\u0120');   // Ġ
  CHECK(byte_level::char_for_byte('\n') == U'\u010A');  // Ċ
  CHECK(byte_level::encode(" hi\n") == "\xC4\xA0hi\xC4\x8A");
  CHECK(byte_level::decode_token("\xC4\xA0hi\xC4\x8A") == " hi\n");
  // A token with a character outside the alphabet is taken literally (added tokens).
  CHECK(byte_level::decode_token("<\xEF\xBD\x9CUser\xEF\xBD\x9C>") == "<\xEF\xBD\x9CUser\xEF\xBD\x9C>");
}

}  // namespace troupe
