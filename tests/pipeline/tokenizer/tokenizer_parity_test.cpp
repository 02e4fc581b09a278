// Encoding and decoding parity with Hugging Face `tokenizers` on the fixture corpus, for every
// tokenizer of the manifest: every id of every line must be equal.
#include <catch2/catch.hpp>

#include <string>

#include "pipeline/tokenizer/incremental_detokenizer.hpp"
#include "pipeline/tokenizer/utf8.hpp"
#include "tokenizer_fixtures.hpp"

namespace troupe {
namespace {

// Counts the lines where `got` differs from `want` and remembers the first one in full.
struct MismatchLog {
  explicit MismatchLog(std::string what_) : what(std::move(what_)) {}
  std::string what;
  std::size_t count = 0;
  std::string first;

  template <typename T>
  void check(std::size_t line, const std::string& text, const T& want, const T& got) {
    if (want == got) return;
    if (count++ == 0) {
      first = what + " differs first on corpus line " + std::to_string(line + 1) + "\n  text:     \"" + text +
              "\"\n  expected: " + show(want) + "\n  got:      " + show(got);
    }
  }
  static std::string show(const std::vector<int32_t>& ids) { return test::describe_ids(ids); }
  static std::string show(const std::string& s) { return "\"" + s + "\""; }
};

void check_parity(const std::string& load_name) {
  const test::TokenizerLoad& load = test::tokenizer_load(load_name);
  const Tokenizer tokenizer = test::load_tokenizer(load);
  test::ExpectedSet expected = test::expected_set(load.expected);
  if (load.prefix) expected.prefix = *load.prefix;
  const auto& corpus = test::corpus();
  REQUIRE(corpus.size() >= 2000);
  CHECK(tokenizer.vocab_size() == expected.vocab_size);

  MismatchLog encode{"encode(text)"}, with_special{"encode(text, add_special_tokens)"},
      literal{"encode(text, parse_special=false)"}, decode{"decode(ids, skip_special=false)"},
      decode_skip{"decode(ids, skip_special=true)"}, stream{"streamed text"}, chunks{"chunk validity"};
  std::size_t token_count = 0;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const std::string& text = corpus[i];
    const test::ExpectedLine& want = expected.lines[i];
    const auto ids = tokenizer.encode(text, false);
    token_count += ids.size();
    encode.check(i, text, want.ids, ids);

    std::vector<int32_t> want_full = expected.prefix;
    want_full.insert(want_full.end(), want.ids.begin(), want.ids.end());
    want_full.insert(want_full.end(), expected.suffix.begin(), expected.suffix.end());
    with_special.check(i, text, want_full, tokenizer.encode(text, true));
    literal.check(i, text, want.ids_literal_special, tokenizer.encode(text, false, false));

    decode.check(i, text, want.decoded, tokenizer.decode(want.ids, false));
    decode_skip.check(i, text, want.decoded_skip_special, tokenizer.decode(want.ids, true));

    IncrementalDetokenizer detokenizer(tokenizer);
    std::string streamed;
    bool all_valid = true;
    for (const int32_t id : want.ids) {
      const std::string chunk = detokenizer.push(id);
      all_valid = all_valid && utf8::is_valid(chunk);
      streamed += chunk;
    }
    streamed += detokenizer.finish();
    stream.check(i, text, want.decoded_continuation, streamed);
    chunks.check(i, text, std::string("all chunks valid UTF-8"),
                 std::string(all_valid ? "all chunks valid UTF-8" : "a chunk is not valid UTF-8"));
  }
  INFO(load_name << ": " << corpus.size() << " lines, " << token_count << " tokens");
  for (const MismatchLog* log : {&encode, &with_special, &literal, &decode, &decode_skip, &stream, &chunks}) {
    INFO(log->first << "\n  (" << log->count << " lines differ)");
    CHECK(log->count == 0);
  }
}

}  // namespace

TEST_CASE("tokenizer: SmolLM2 tokenizer.json matches Hugging Face on the corpus", "[tokenizer][parity]") {
  check_parity("smollm2 (tokenizer.json)");
}

TEST_CASE("tokenizer: SmolLM2 GGUF tokenizer matches Hugging Face on the corpus", "[tokenizer][parity]") {
  check_parity("smollm2 (GGUF)");
}

TEST_CASE("tokenizer: DeepSeek-R1-Distill-Qwen (Qwen2.5) GGUF tokenizer matches Hugging Face on the corpus",
          "[tokenizer][parity]") {
  check_parity("deepseek-qwen (GGUF)");
}

TEST_CASE("tokenizer: DeepSeek-V3's tokenizer.json, and its vocabulary as a deepseek-v3 GGUF, match Hugging Face on the corpus",
          "[tokenizer][parity]") {
  check_parity("deepseek-v3 (tokenizer.json)");
  check_parity("deepseek-v3 (GGUF)");
}

TEST_CASE("tokenizer: DeepSeek's vocabulary under DeepSeek-V2's deepseek-llm splitting tokenizes as llama.cpp on the corpus",
          "[tokenizer][parity]") {
  check_parity("deepseek-llm (GGUF)");
}

// Gemma 4's layout: BPE merges over SentencePiece's alphabet, byte fallback; as tokenizer.json, and as
// llama.cpp's converter writes it into a GGUF (tokenizer.ggml.model "gemma4").
TEST_CASE("tokenizer: a vocabulary in Gemma 4's layout, as tokenizer.json and as a gemma4 GGUF, matches Hugging Face "
          "on the corpus", "[tokenizer][parity]") {
  check_parity("gemma4-bpe (tokenizer.json)");
  check_parity("gemma4-bpe (GGUF)");
}

// Llama 4's layout: byte-level BPE split by GPT-4o's expression; as tokenizer.json, and as llama.cpp's
// converter writes it into a GGUF (tokenizer.ggml.pre "llama4").
TEST_CASE("tokenizer: a vocabulary in Llama 4's layout, as tokenizer.json and as a llama4 GGUF, matches Hugging Face "
          "on the corpus", "[tokenizer][parity]") {
  check_parity("llama4-bpe (tokenizer.json)");
  check_parity("llama4-bpe (GGUF)");
}

// Falcon's pre-tokenizers (Punctuation runs, ByteLevel, then Digits and a Split that read ByteLevel's
// characters: "ü" is Ã | ¼ there, ¼ being a digit), on a vocabulary trained under them, as
// tokenizer.json and as a falcon GGUF (llama.cpp's expressions over the text itself).
TEST_CASE("tokenizer: a vocabulary split as Falcon's, as tokenizer.json and as a falcon GGUF, matches Hugging Face "
          "on the corpus", "[tokenizer][parity]") {
  check_parity("falcon-bpe (tokenizer.json)");
  check_parity("falcon-bpe (GGUF)");
}

// Kimi K2's split (Han runs, then GPT-4o's letter classes without Han, by class intersection): a
// vocabulary split so, as tokenizer.json and as a GGUF of tokenizer.ggml.pre "kimi-k2" (Kimi K2's
// GGUFs, whose tiktoken vocabulary llama.cpp's converter turns into merges).
TEST_CASE("tokenizer: a vocabulary split as Kimi K2's, as tokenizer.json and as a kimi-k2 GGUF, matches Hugging Face "
          "on the corpus", "[tokenizer][parity]") {
  check_parity("kimi-k2-bpe (tokenizer.json)");
  check_parity("kimi-k2-bpe (GGUF)");
}

TEST_CASE("tokenizer: Llama 3.2 tokenizer.json matches Hugging Face on the corpus", "[tokenizer][parity]") {
  check_parity("llama3.2 (tokenizer.json)");
}

// tools/make_tekken_fixtures.py: llama.cpp's conversion of Mistral NeMo's tekken.json, against
// Hugging Face on transformers' conversion (equal to mistral-common's Tekkenizer on the corpus).
TEST_CASE("tokenizer: Mistral NeMo's Tekken GGUF matches Mistral's tokenizer on the corpus", "[tokenizer][parity]") {
  check_parity("tekken (GGUF)");
}

TEST_CASE("tokenizer: Synthetic tokenizer A (NFKC, Digits, prefix space, stripped added tokens) matches Hugging Face",
          "[tokenizer][parity]") {
  check_parity("synthetic-a (tokenizer.json)");
}

TEST_CASE("tokenizer: Synthetic tokenizer B (Split behaviors, invert, ignore_merges) matches Hugging Face",
          "[tokenizer][parity]") {
  check_parity("synthetic-b (tokenizer.json)");
}

// SentencePiece-style tokenizers (tools/make_sentencepiece_fixtures.py): every form against the
// implementation its users run.
TEST_CASE("tokenizer: trained SentencePiece BPE tokenizer.model matches transformers + sentencepiece",
          "[tokenizer][parity][sentencepiece]") {
  check_parity("spm-bpe (tokenizer.model)");
}

TEST_CASE("tokenizer: the same model as IQuestCoderTokenizer (no BOS, per-segment dummy prefix)",
          "[tokenizer][parity][sentencepiece]") {
  check_parity("spm-bpe as IQuestCoderTokenizer (tokenizer.model)");
}

TEST_CASE("tokenizer: trained SentencePiece unigram tokenizer.model (NFKC) matches transformers + sentencepiece",
          "[tokenizer][parity][sentencepiece]") {
  check_parity("spm-unigram (tokenizer.model)");
}

TEST_CASE("tokenizer: SentencePiece-style tokenizer.json, Metaspace (first), matches Hugging Face",
          "[tokenizer][parity][sentencepiece]") {
  check_parity("spm-bpe (tokenizer.json, Metaspace)");
}

TEST_CASE("tokenizer: SentencePiece-style tokenizer.json, legacy Prepend/Replace, matches Hugging Face",
          "[tokenizer][parity][sentencepiece]") {
  check_parity("spm-bpe (tokenizer.json, legacy layout)");
}

TEST_CASE("tokenizer: SentencePiece-style tokenizer.json, Gemma's Replace-only layout, matches Hugging Face",
          "[tokenizer][parity][sentencepiece]") {
  check_parity("spm-bpe (tokenizer.json, gemma layout)");
}

TEST_CASE("tokenizer: SentencePiece GGUF vocabulary tokenizes as llama.cpp", "[tokenizer][parity][sentencepiece]") {
  check_parity("spm-bpe (GGUF)");
}

TEST_CASE("tokenizer: Mistral v0.3 in all three forms", "[tokenizer][parity][sentencepiece]") {
  check_parity("mistral-v3 (tokenizer.model)");
  check_parity("mistral-v3 (tokenizer.json)");
  check_parity("mistral-v3 (GGUF)");
}

TEST_CASE("tokenizer: Llama 2 and Gemma tokenizer.model match transformers + sentencepiece",
          "[tokenizer][parity][sentencepiece]") {
  check_parity("llama2 (tokenizer.model)");
  check_parity("gemma (tokenizer.model)");
}

TEST_CASE("tokenizer: the Gemma 3 270M GGUF tokenizes as llama.cpp", "[tokenizer][parity][sentencepiece]") {
  check_parity("gemma3-270m (GGUF)");
}

}  // namespace troupe
