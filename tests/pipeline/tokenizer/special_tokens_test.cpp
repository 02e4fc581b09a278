// Special and added tokens of real tokenizers: recognition in text, BOS/EOS, skipping on decode.
#include <catch2/catch.hpp>

#include <algorithm>

#include "tokenizer_fixtures.hpp"

namespace troupe {
namespace {

bool contains(const std::vector<int32_t>& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

}  // namespace

TEST_CASE("tokenizer: SmolLM2: ChatML tokens are special and recognized inline", "[tokenizer][special]") {
  for (const char* name : {"smollm2 (tokenizer.json)", "smollm2 (GGUF)"}) {
    INFO(name);
    const Tokenizer t = test::load_tokenizer(name);
    CHECK(t.vocab_size() == 49152);
    const auto im_start = t.token_id("<|im_start|>");
    const auto im_end = t.token_id("<|im_end|>");
    REQUIRE(im_start == 1);
    REQUIRE(im_end == 2);
    CHECK(t.is_special(1));
    CHECK_FALSE(t.is_special(*t.token_id("\xC4\xA0the")));  // "Ġthe"
    CHECK(t.token_text(1) == "<|im_start|>");

    const std::string chat = "<|im_start|>user\nHi there<|im_end|>\n";
    const auto ids = t.encode(chat, false);
    CHECK(ids.front() == 1);
    CHECK(contains(ids, 2));
    const auto literal = t.encode(chat, false, /*parse_special=*/false);
    CHECK_FALSE(contains(literal, 1));
    CHECK_FALSE(contains(literal, 2));
    CHECK(t.decode(literal) == chat);  // the text of the markers survives as text
    CHECK(t.decode(ids, /*skip_special_tokens=*/false) == chat);
    CHECK(t.decode(ids) == "user\nHi there\n");

    CHECK_FALSE(t.adds_bos());
    CHECK(t.encode("Hi", true) == t.encode("Hi", false));
  }
  const Tokenizer gguf = test::load_tokenizer("smollm2 (GGUF)");
  CHECK(gguf.bos_id() == 1);
  CHECK(gguf.eos_ids() == std::vector<int32_t>{2});
  const Tokenizer json = test::load_tokenizer("smollm2 (tokenizer.json)");
  CHECK(json.eos_ids() == std::vector<int32_t>{2});  // from tokenizer_config.json
}

TEST_CASE("tokenizer: DeepSeek-R1-Distill-Qwen: BOS added, control vs user-defined tokens", "[tokenizer][special]") {
  const Tokenizer t = test::load_tokenizer("deepseek-qwen (GGUF)");
  CHECK(t.vocab_size() == 152064);
  REQUIRE(t.bos_id() == 151646);
  CHECK(t.adds_bos());
  CHECK(t.eos_ids() == std::vector<int32_t>{151643});
  const auto with_bos = t.encode("Hello", true);
  CHECK(with_bos.front() == 151646);
  CHECK(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()) == t.encode("Hello", false));

  // "<think>" is a user-defined token: split out of text but kept when decoding.
  const auto think = t.token_id("<think>");
  REQUIRE(think == 151648);
  CHECK_FALSE(t.is_special(*think));
  const auto ids = t.encode("<｜User｜>2+2?<｜Assistant｜><think>\nfour</think>", false);
  CHECK(ids.front() == 151644);
  CHECK(contains(ids, 151645));
  CHECK(contains(ids, 151648));
  CHECK(t.decode(ids) == "2+2?<think>\nfour</think>");
  // With special parsing off, control tokens become text but user-defined ones are still found.
  const auto literal = t.encode("<｜User｜><think>", false, false);
  CHECK_FALSE(contains(literal, 151644));
  CHECK(literal.back() == 151648);
}

TEST_CASE("tokenizer: Qwen NFC normalization: decomposed and precomposed text encode alike", "[tokenizer][special]") {
  const Tokenizer t = test::load_tokenizer("deepseek-qwen (GGUF)");
  CHECK(t.encode("cafe\xCC\x81", false) == t.encode("caf\xC3\xA9", false));
  // SmolLM2 has no normalizer: the two spellings stay different.
  const Tokenizer smol = test::load_tokenizer("smollm2 (GGUF)");
  CHECK(smol.encode("cafe\xCC\x81", false) != smol.encode("caf\xC3\xA9", false));
}

TEST_CASE("tokenizer: Invalid UTF-8 input is encoded as U+FFFD", "[tokenizer][special]") {
  const Tokenizer t = test::load_tokenizer("smollm2 (GGUF)");
  CHECK(t.encode("a\xFF" "b", false) == t.encode("a\xEF\xBF\xBD" "b", false));
  CHECK(t.decode(t.encode("a\xFF" "b", false)) == "a\xEF\xBF\xBD" "b");
}

}  // namespace troupe
