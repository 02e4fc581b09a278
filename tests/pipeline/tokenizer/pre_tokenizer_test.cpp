// Split behaviors on the example Hugging Face documents them with ("the-final--countdown", split
// on "-"), and the Unicode classes of the GPT-2 pattern under Oniguruma.
#include <catch2/catch.hpp>

#include <deque>

#include "pipeline/tokenizer/pre_tokenizer.hpp"

namespace troupe {
namespace {

std::vector<std::string> run(const PreTokenizer& pre, std::string_view text) {
  std::deque<std::string> storage;
  std::vector<std::string_view> pieces;
  pre.run(text, storage, pieces);
  return {pieces.begin(), pieces.end()};
}

std::vector<std::string> split_dash(SplitBehavior behavior, bool invert = false) {
  PreTokenizer pre;
  pre.add_split(std::make_shared<OnigRegex>("-", "test"), behavior, invert);
  return run(pre, "the-final--countdown");
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("tokenizer: Split behaviors", "[tokenizer][pre_tokenizer]") {
  CHECK(split_dash(SplitBehavior::Removed) == V{"the", "final", "countdown"});
  CHECK(split_dash(SplitBehavior::Isolated) == V{"the", "-", "final", "-", "-", "countdown"});
  CHECK(split_dash(SplitBehavior::MergedWithPrevious) == V{"the-", "final-", "-", "countdown"});
  CHECK(split_dash(SplitBehavior::MergedWithNext) == V{"the", "-final", "-", "-countdown"});
  CHECK(split_dash(SplitBehavior::Contiguous) == V{"the", "-", "final", "--", "countdown"});
  // Inverted, the words are the matches and the dashes what lies between them.
  CHECK(split_dash(SplitBehavior::Removed, true) == V{"-", "-", "-"});
}

TEST_CASE("tokenizer: GPT-2 pattern with Unicode classes and a prefix space", "[tokenizer][pre_tokenizer]") {
  PreTokenizer pre;
  pre.add_byte_level(false, true, "test");
  CHECK(run(pre, "Hello world's 123  x") == V{"Hello", " world", "'s", " 123", " ", " x"});
  CHECK(run(pre, "héllo 世界") == V{"héllo", " 世界"});
  CHECK(run(pre, "a\u3000b") == V{"a", "\u3000", "b"});  // U+3000 is \s for Oniguruma
  PreTokenizer prefixed;
  prefixed.add_byte_level(true, true, "test");
  CHECK(run(prefixed, "Hi") == V{" Hi"});
  CHECK(run(prefixed, " Hi") == V{" Hi"});
}

TEST_CASE("tokenizer: Digits pre-tokenizer uses Unicode numbers", "[tokenizer][pre_tokenizer]") {
  PreTokenizer individual;
  individual.add_digits(true, "test");
  CHECK(run(individual, "a12٣") == V{"a", "1", "2", "٣"});
  PreTokenizer runs;
  runs.add_digits(false, "test");
  CHECK(run(runs, "a12٣b") == V{"a", "12٣", "b"});
}

TEST_CASE("tokenizer: Caseless contractions of the Llama 3 pattern", "[tokenizer][pre_tokenizer]") {
  PreTokenizer pre;
  pre.add_split(std::make_shared<OnigRegex>(std::string(pretokenizer_patterns::kLlama3), "test"),
                SplitBehavior::Isolated, false);
  CHECK(run(pre, "IT'S we'LL") == V{"IT", "'S", " we", "'LL"});
  CHECK(run(pre, "12345") == V{"123", "45"});
}

// Seed-Coder's expression, pieces from Python's `regex` module (re.findall).
TEST_CASE("tokenizer: Seed-Coder's pattern splits as Python's regex module does", "[tokenizer][pre_tokenizer]") {
  PreTokenizer pre;
  pre.add_split(std::make_shared<OnigRegex>(std::string(pretokenizer_patterns::kSeedCoder), "test"),
                SplitBehavior::Isolated, false);
  CHECK(run(pre, "I'M here 12345!!\n\n  x = a+b;") ==
        V{"I", "'M", " here", " ", "1", "2", "3", "4", "5", "!!", "\n\n", " ", " x", " =", " a", "+b", ";"});
  CHECK(run(pre, "def f(x):\n    return x**2  # 平方") ==
        V{"def", " f", "(x", "):", "\n", "   ", " return", " x", "**", "2", " ", " #", " 平方"});
}

// DeepSeek-Coder's sequence, pieces from Hugging Face `tokenizers` (pre_tokenize_str of the same
// Split steps and Digits(individual_digits)).
TEST_CASE("tokenizer: DeepSeek-Coder's split sequence matches Hugging Face's pre-tokenizer", "[tokenizer][pre_tokenizer]") {
  PreTokenizer pre;
  for (const std::string_view pattern : pretokenizer_patterns::kDeepSeekCoder) {
    pre.add_split(std::make_shared<OnigRegex>(std::string(pattern), "test"), SplitBehavior::Isolated, false);
  }
  pre.add_digits(true, "test");
  CHECK(run(pre, "I'M here 12345!!\n\n  x = a+b;") ==
        V{"I", "'", "M", " here", " ", "1", "2", "3", "4", "5", "!!", "\n", "\n", " ", " x", " =", " a", "+", "b", ";"});
  CHECK(run(pre, "def f(x):\n    return x**2  # 平方") ==
        V{"def", " f", "(", "x", "):", "\n", "   ", " return", " x", "**", "2", " ", " #", " ", "平方"});
  CHECK(run(pre, "안녕하세요 世界 42") == V{"안녕하세요", " ", "世界", " ", "4", "2"});
}

// Pieces from Python's `regex` module (re.findall with the same expression, tiktoken's semantics).
TEST_CASE("tokenizer: GPT-4o's o200k pattern splits as Python's regex module does", "[tokenizer][pre_tokenizer]") {
  PreTokenizer pre;
  pre.add_split(std::make_shared<OnigRegex>(std::string(pretokenizer_patterns::kGpt4o), "test"),
                SplitBehavior::Isolated, false);
  CHECK(run(pre, "HelloWorld's 1234567 I'M here") == V{"Hello", "World's", " ", "123", "456", "7", " I'M", " here"});
  CHECK(run(pre, "getHTTPResponse(x) // ok\n\n  done") == V{"get", "HTTPResponse", "(x", ")", " //", " ok", "\n\n", " ", " done"});
  CHECK(run(pre, "नमस्ते दुनिया 42") == V{"नमस्ते", " दुनिया", " ", "42"});
  CHECK(run(pre, "DON'T   stop\t") == V{"DON'T", "  ", " stop", "\t"});
}

// Pieces from Hugging Face's tokenizers (0.23.3): pre_tokenizers.Sequence of Split(digits, "isolated")
// and Split(GPT-4o's expression, "isolated"), as Tiny Aya's tokenizer.json splits (the digits'
// expression as llama.cpp quotes it from there).
TEST_CASE("tokenizer: Tiny Aya groups digit runs by three from the right, then splits as GPT-4o",
          "[tokenizer][pre_tokenizer]") {
  PreTokenizer pre;
  for (const std::string_view pattern : {pretokenizer_patterns::kTinyAyaDigits, pretokenizer_patterns::kGpt4o}) {
    pre.add_split(std::make_shared<OnigRegex>(std::string(pattern), "test"), SplitBehavior::Isolated, false);
  }
  CHECK(run(pre, "Population 1234567 in 2024, 12345.678 km") ==
        V{"Population", " ", "1", "234", "567", " in", " ", "2", "024", ",", " ", "12", "345", ".", "678", " km"});
  CHECK(run(pre, "v2 1234abc x99 \u0663\u0664\u0665\u0666\u0667 10,000,000") ==
        V{"v", "2", " ", "123", "4", "abc", " x", "99", " ", "\u0663\u0664", "\u0665\u0666\u0667", " ", "10", ",", "000", ",", "000"});
  CHECK(run(pre, "HelloWorld's 1234567 I'M here") == V{"Hello", "World's", " ", "1", "234", "567", " I'M", " here"});
}

// Pieces from Python's `regex` module with Qwen3.5's tokenizer.json pattern and Qwen2.5's.
TEST_CASE("tokenizer: Qwen3.5's pattern keeps combining marks in words, where Qwen2's splits at them",
          "[tokenizer][pre_tokenizer]") {
  const auto split = [](std::string_view pattern, const std::string& text) {
    PreTokenizer pre;
    pre.add_split(std::make_shared<OnigRegex>(std::string(pattern), "test"), SplitBehavior::Isolated, false);
    return run(pre, text);
  };
  CHECK(split(pretokenizer_patterns::kQwen35, "नमस्ते दुनिया 42") == V{"नमस्ते", " दुनिया", " ", "4", "2"});
  CHECK(split(pretokenizer_patterns::kQwen2, "नमस्ते दुनिया 42") ==
        V{"नमस", "्त", "े", " द", "ुन", "िय", "ा", " ", "4", "2"});
  const std::string ascii = "HelloWorld's 123 I'M here\n\n  x";
  CHECK(split(pretokenizer_patterns::kQwen35, ascii) ==
        V{"HelloWorld", "'s", " ", "1", "2", "3", " I", "'M", " here", "\n\n", " ", " x"});
  CHECK(split(pretokenizer_patterns::kQwen35, ascii) == split(pretokenizer_patterns::kQwen2, ascii));
}

}  // namespace troupe
