// Real models' GGUF vocabularies against the ids Hugging Face's tokenizers give: llama.cpp's own test
// vocabularies (models/ggml-vocab-NAME.gguf, written by its converter from each model's tokenizer, with
// tokenizer.ggml.pre set), the texts it checks them on (.inp: edge cases of spaces, digits, accents,
// emoji, code) and the ids Hugging Face's tokenizers gave those texts without special tokens (.out).
// tools/make_tokenizer_fixtures.py --fetch-only puts them in the tokenizer cache, from the llama.cpp
// tree the PyPI sdist of llama-cpp-python vendors.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"
#include "tests/pipeline/tokenizer/tokenizer_fixtures.hpp"

namespace troupe {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The .inp file's texts: separated by "\n__ggml_vocab_test__\n" (most files end with one, Gemma 4's not).
std::vector<std::string> texts(const fs::path& p) {
  const std::string all = read_text(p);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  std::size_t at = 0;
  for (std::size_t end; (end = all.find(sep, at)) != std::string::npos; at = end + sep.size()) {
    out.push_back(all.substr(at, end - at));
  }
  if (at < all.size()) out.push_back(all.substr(at));
  return out;
}

// The .out file's id lists, one line each.
std::vector<std::vector<int32_t>> id_lines(const fs::path& p) {
  std::istringstream in(read_text(p));
  std::vector<std::vector<int32_t>> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ids(line);
    std::vector<int32_t>& row = out.emplace_back();
    for (int32_t id = 0; ids >> id;) row.push_back(id);
  }
  return out;
}

}  // namespace

TEST_CASE("tokenizers: real models' GGUF vocabularies give Hugging Face's ids on llama.cpp's test texts",
          "[pipeline][tokenizer][gguf]") {
  const fs::path dir = test::tokenizer_cache_dir() / "llamacpp-vocab";
  INFO("fill the tokenizer cache with `python3 tools/make_tokenizer_fixtures.py --fetch-only`");
  REQUIRE(fs::exists(dir / "complete"));
  // Byte-level BPE by tokenizer.ggml.pre (GPT-2, StarCoder, Falcon, MPT, Refact, Command R, Qwen2 and
  // Qwen3.5, Llama 3, DeepSeek's two, Gemma 4's) and SentencePiece (Llama 2, Phi-3).
  for (const std::string name : {"gpt-2", "starcoder", "falcon", "mpt", "refact", "command-r", "qwen2", "qwen35", "llama-bpe",
                                 "deepseek-coder", "deepseek-llm", "gemma-4", "llama-spm", "phi-3"}) {
    INFO(name);
    const fs::path base = dir / ("ggml-vocab-" + name + ".gguf");
    const GgufFile file(base);
    const Tokenizer tokenizer = tokenizer_from_gguf(file);
    const std::vector<std::string> inputs = texts(base.string() + ".inp");
    const std::vector<std::vector<int32_t>> expected = id_lines(base.string() + ".out");
    REQUIRE(inputs.size() == expected.size());
    REQUIRE(inputs.size() > 30);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      INFO("text " << i << ": \"" << inputs[i] << "\"");
      CHECK(tokenizer.encode(inputs[i], /*add_special_tokens=*/false) == expected[i]);
    }
  }
}

}  // namespace troupe
