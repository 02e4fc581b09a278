// The byte-level families a GGUF's tokenizer.ggml.pre names: every name llama.cpp's converter
// writes for a family tokenizes as that family (one vocabulary, a probe on which the families
// differ), and the families that llama.cpp gives a BOS by default add one when the file does not
// say. Each family's own expression is checked against its real tokenizer in
// tokenizer_parity_test.cpp (Llama 3.2, Qwen2.5, SmolLM2, Mistral NeMo's Tekken).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

#include "common/error.hpp"
#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"
#include "tests/model/gguf_builder.hpp"

namespace troupe {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kU32 = 4, kBool = 7;  // GGUF value types

// Printable ASCII (its byte-level spelling is itself), "Ġ" (space), "Ċ" (newline), merges that
// cross the families' different splits (camel case, digit runs, contractions, punctuation before a
// line break, letters after a contraction), and
// "HelloWorld", a token no merge makes (taken whole only with ignore_merges). Token 0 is <s>.
test::GgufBuilder vocabulary(const std::string& pre) {
  std::vector<std::string> tokens{"<s>", "\xC4\xA0", "\xC4\x8A"};
  for (char c = 0x21; c < 0x7F; ++c) tokens.emplace_back(1, c);
  const std::vector<std::string> merges{"o W", "l l", "ll o", "1 2", "12 3", "4 5", "45 6", "' M", "\xC4\xA0 1",
                                        "' m", "! \xC4\x8A", "e Y"};
  for (const std::string& m : merges) tokens.push_back(m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1));
  tokens.emplace_back("HelloWorld");
  test::GgufBuilder w;
  w.kv_string("tokenizer.ggml.model", "gpt2");
  w.kv_string("tokenizer.ggml.pre", pre);
  w.kv_string_array("tokenizer.ggml.tokens", tokens);
  w.kv_string_array("tokenizer.ggml.merges", merges);
  w.kv("tokenizer.ggml.bos_token_id", kU32, uint32_t{0});
  return w;
}

Tokenizer load(const test::GgufBuilder& b, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("troupe-gguf-pre-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / (name + ".gguf");
  std::ofstream(path, std::ios::binary) << b.build();
  const GgufFile file(path);
  return tokenizer_from_gguf(file);
}

// "x've" then "Y": DeepSeek-V3 takes a punctuation mark with the letters after it ("'veY", merging
// "eY"), Llama 3's expression the contraction alone.
const std::string kProbe = "HelloWorld 123456 I'M here\nHelloWorld i'm!!\n x'veY";

std::vector<int32_t> probe_ids(const std::string& pre) { return load(vocabulary(pre), pre).encode(kProbe, false); }

}  // namespace

TEST_CASE("tokenizer: every tokenizer.ggml.pre name of a family tokenizes as that family", "[tokenizer][gguf]") {
  // family → the other names llama.cpp's converter writes for it
  const std::map<std::string, std::vector<std::string>> families{
      {"gpt2", {"default", "gpt-2", "phi-2", "mpt", "olmo", "jais", "trillion", "mellum", "a.x-4.0", "exaone4"}},
      {"smollm", {"starcoder", "refact", "codeshell", "command-r", "exaone", "minerva-7b"}},
      {"llama-bpe", {"llama3", "llama-v3", "falcon3", "falcon-h1", "lfm2", "midm-2.0"}},
      {"dbrx", {"smaug-bpe"}},
      {"qwen2", {"deepseek-r1-qwen", "stablelm2"}},
      {"tekken", {"pixtral"}},
      {"gpt-4o", {"minimax-m2"}},
      {"seed-coder", {}},
      {"deepseek-coder", {}},
      {"deepseek-v3", {}},
      {"deepseek-llm", {}},
  };
  std::map<std::vector<int32_t>, std::string> seen;
  for (const auto& [family, names] : families) {
    const std::vector<int32_t> want = probe_ids(family);
    INFO(family << " tokenizes the probe as " << seen[want]);
    CHECK(seen[want].empty());  // the probe tells the families apart
    seen[want] = family;
    for (const std::string& name : names) {
      INFO(name << " (" << family << ")");
      CHECK(probe_ids(name) == want);
    }
  }
  // Tekken splits at case changes ("Hello" | "World"); Qwen2 keeps the word, whose first merge is
  // then "o W"; Llama 3 takes "HelloWorld" whole (a token: ignore_merges) and digits by three.
  const auto piece = [](const std::string& pre, std::size_t i) {
    const std::vector<int32_t> one{probe_ids(pre).at(i)};
    return load(vocabulary(pre), pre).decode(one);
  };
  CHECK(piece("tekken", 2) == "llo");
  CHECK(piece("qwen2", 3) == "oW");
  CHECK(piece("llama-bpe", 0) == "HelloWorld");
  CHECK(piece("llama-bpe", 2) == "123");
  CHECK(piece("dbrx", 0) == "H");
  // Qwen3.5's splits as Qwen2's on this ASCII probe (they differ in combining marks:
  // pre_tokenizer_test.cpp).
  CHECK(probe_ids("qwen35") == probe_ids("qwen2"));
  // Tiny Aya's splits as GPT-4o's but for its digit runs, grouped by three from the right.
  CHECK(probe_ids("tiny_aya") == probe_ids("gpt-4o"));
  const auto seven_digits = [](const std::string& pre) { return load(vocabulary(pre), pre).encode("1234567", false); };
  CHECK(seven_digits("tiny_aya") != seven_digits("gpt-4o"));
  CHECK(seven_digits("tiny_aya").size() == 7);  // 1 | 234 | 567: no merge joins them
  // GLM's names split as Llama 3 does; they differ from it only in the BOS (below).
  for (const std::string glm : {"glm4", "glm5"}) CHECK(probe_ids(glm) == probe_ids("llama-bpe"));
}

TEST_CASE("tokenizer: Llama 3 and Tekken GGUFs without tokenizer.ggml.add_bos_token add BOS, as llama.cpp does",
          "[tokenizer][gguf]") {
  for (const std::string pre : {"llama-bpe", "falcon3", "tekken"}) {
    INFO(pre);
    CHECK(load(vocabulary(pre), pre).encode("ab", true).front() == 0);
    test::GgufBuilder said_no = vocabulary(pre);
    said_no.kv("tokenizer.ggml.add_bos_token", kBool, false);
    CHECK(load(said_no, pre + "-no-bos").encode("ab", true).front() != 0);
  }
  for (const std::string pre : {"gpt2", "qwen2", "smollm", "dbrx", "glm4"}) {
    INFO(pre);
    CHECK(load(vocabulary(pre), pre).encode("ab", true).front() != 0);
  }
}

TEST_CASE("tokenizer: the error for an unknown tokenizer.ggml.pre lists the supported names", "[tokenizer][gguf]") {
  try {
    (void)load(vocabulary("made-up"), "made-up");
    FAIL("loaded an unknown pre-tokenizer");
  } catch (const ModelError& e) {
    const std::string message = e.what();
    CHECK(message.find("\"made-up\"") != std::string::npos);
    CHECK(message.find("tekken") != std::string::npos);
    CHECK(message.find("falcon3") != std::string::npos);
  }
}

}  // namespace troupe
