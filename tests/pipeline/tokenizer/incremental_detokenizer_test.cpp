// Streaming detokenization: chunks are whole UTF-8 characters and add up to decode().
#include <catch2/catch.hpp>

#include "pipeline/tokenizer/incremental_detokenizer.hpp"
#include "pipeline/tokenizer/utf8.hpp"
#include "tokenizer_fixtures.hpp"

namespace troupe {

TEST_CASE("tokenizer: Characters split across tokens are held back until complete", "[tokenizer][detokenizer]") {
  const Tokenizer t = test::load_tokenizer("smollm2 (GGUF)");
  const std::string text = "héllo 😀 世界 👨‍👩‍👧‍👦 done";
  const auto ids = t.encode(text, false);
  IncrementalDetokenizer detokenizer(t);
  std::string streamed;
  std::size_t held = 0;
  for (const int32_t id : ids) {
    const std::string chunk = detokenizer.push(id);
    REQUIRE(utf8::is_valid(chunk));
    if (detokenizer.pending_bytes() > 0) ++held;
    streamed += chunk;
  }
  streamed += detokenizer.finish();
  CHECK(streamed == text);
  CHECK(held > 0);  // the emoji really are split over several byte-level tokens in this vocabulary
}

TEST_CASE("tokenizer: Bytes that cannot complete a character become U+FFFD, as in decode", "[tokenizer][detokenizer]") {
  const Tokenizer t = test::load_tokenizer("smollm2 (GGUF)");
  // The single-byte tokens for 0xF0 (spelled "ð", the lead byte of a 4-byte sequence) and "a".
  const auto lead = t.token_id("\xC3\xB0");
  const auto a = t.token_id("a");
  REQUIRE(lead);
  REQUIRE(a);
  IncrementalDetokenizer detokenizer(t);
  CHECK(detokenizer.push(*lead).empty());
  CHECK(detokenizer.pending_bytes() == 1);
  CHECK(detokenizer.push(*a) == "\xEF\xBF\xBD" "a");
  CHECK(detokenizer.push(*lead).empty());
  CHECK(detokenizer.finish() == "\xEF\xBF\xBD");
  const std::vector<int32_t> ids{*lead, *a, *lead};
  CHECK(t.decode(ids) == "\xEF\xBF\xBD" "a\xEF\xBF\xBD");
}

TEST_CASE("tokenizer: Special tokens are skipped unless asked for", "[tokenizer][detokenizer]") {
  const Tokenizer t = test::load_tokenizer("smollm2 (tokenizer.json)");
  const auto ids = t.encode("<|im_start|>assistant\nOK<|im_end|>", false);
  std::string skipped, kept;
  IncrementalDetokenizer skipping(t);
  IncrementalDetokenizer keeping(t, /*skip_special_tokens=*/false);
  for (const int32_t id : ids) {
    skipped += skipping.push(id);
    kept += keeping.push(id);
  }
  skipped += skipping.finish();
  kept += keeping.finish();
  CHECK(skipped == "assistant\nOK");
  CHECK(kept == "<|im_start|>assistant\nOK<|im_end|>");
}

}  // namespace troupe
