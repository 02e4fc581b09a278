// The tokenizers on arbitrary text and ids: SmolLM2's real one (byte-level BPE, the default model's)
// and DeepSeek-R1-Distill-Qwen's (Qwen2 pre-tokenizer) from GGUF. Properties checked:
// - encode never fails, every id is inside the vocabulary;
// - byte-level BPE is lossless for text whose every byte has its byte-level token in the vocabulary
//   (SmolLM2's lacks some control bytes, which Hugging Face tokenizers drops too — found by this
//   target) and that the tokenizer's normalizer leaves as it is (Qwen2's normalizes to NFC, so
//   "y" + U+0307 comes back as U+1E8F, as in Hugging Face tokenizers — found by this target):
//   decode(encode(text)) == text for such valid UTF-8 text (special tokens kept when decoding,
//   recognized when encoding), and decode never yields invalid UTF-8;
// - decoding arbitrary ids (out-of-range included) never fails, and the incremental detokenizer
//   produces exactly what decode does.
#include "fuzz/fuzz_support.hpp"
#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/byte_level.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/incremental_detokenizer.hpp"
#include "pipeline/tokenizer/normalizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"
#include "pipeline/tokenizer/utf8.hpp"
#include "tests/support/fixtures.hpp"

namespace {

using troupe::Tokenizer;
using troupe::fuzz::violated;

const Tokenizer& tokenizer(int which) {
  static const Tokenizer smollm2 =
      Tokenizer::from_tokenizer_json(troupe::test::unpacked(std::string(TROUPE_FIXTURES_DIR) + "/tokenizer/smollm2/tokenizer.json"));
  static const Tokenizer qwen = troupe::tokenizer_from_gguf(
      troupe::GgufFile(troupe::test::unpacked(std::string(TROUPE_FIXTURES_DIR) + "/tokenizer/deepseek-qwen/tokenizer.gguf")));
  return which == 0 ? smollm2 : qwen;
}

// The normalizer of tokenizer(which), as its file declares it (Qwen2's tokenizer normalizes to NFC).
const troupe::Normalizer& normalizer(int which) {
  static const troupe::Normalizer none;
  static const troupe::Normalizer nfc({troupe::NormalizationForm::NFC});
  return which == 0 ? none : nfc;
}

// Every byte of `text` has its own token (the byte-level spelling of the byte).
bool every_byte_has_a_token(const Tokenizer& tok, std::string_view text) {
  for (unsigned char b : text) {
    if (!tok.token_id(troupe::byte_level::encode(std::string_view(reinterpret_cast<const char*>(&b), 1)))) return false;
  }
  return true;
}

void check_encode(const Tokenizer& tok, const troupe::Normalizer& normalizer, std::string_view text, bool add_special) {
  const std::vector<int32_t> ids = tok.encode(text, add_special, /*parse_special=*/true);
  for (int32_t id : ids) {
    if (id < 0 || id >= tok.vocab_size()) violated("encode produced an id outside the vocabulary");
  }
  const std::string decoded = tok.decode(ids, /*skip_special_tokens=*/false);
  if (!troupe::utf8::is_valid(decoded)) violated("decode produced invalid UTF-8");
  if (!add_special && troupe::utf8::is_valid(text) && every_byte_has_a_token(tok, text) &&
      (!normalizer.may_change(text) || normalizer.apply(text) == text) && decoded != text) {
    violated("decode(encode(text)) != text");
  }
}

void check_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  const std::string whole = tok.decode(ids, skip_special);
  if (!troupe::utf8::is_valid(whole)) violated("decode produced invalid UTF-8");
  troupe::IncrementalDetokenizer incremental(tok, skip_special);
  std::string streamed;
  for (int32_t id : ids) streamed += incremental.push(id);
  streamed += incremental.finish();
  if (streamed != whole) violated("incremental detokenization differs from decode");
}

}  // namespace

// Loading the 151k-token Qwen vocabulary takes seconds under ASan: done once, before the first
// input, so it does not count against libFuzzer's per-input timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tokenizer(0);
  tokenizer(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  troupe::fuzz::Input in(data, size);
  const uint8_t mode = in.byte();
  const Tokenizer& tok = tokenizer(mode & 1);
  try {
    if ((mode & 2) == 0) {
      check_encode(tok, normalizer(mode & 1), in.rest(), (mode & 4) != 0);
    } else {
      std::vector<int32_t> ids;
      while (!in.empty()) {
        const uint32_t raw = in.u32();
        // Mostly ids inside the vocabulary, some far outside it (negative ones included).
        ids.push_back((raw & 0x80000000u) ? static_cast<int32_t>(raw) : static_cast<int32_t>(raw % static_cast<uint32_t>(tok.vocab_size() + 8)));
      }
      check_decode(tok, ids, (mode & 4) != 0);
    }
  } catch (const std::exception& e) {
    violated("tokenizer threw", e.what());
  }
  return 0;
}
