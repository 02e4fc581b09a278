// Files troupe cannot tokenize exactly are rejected with the file and the unsupported construct
// named, never loaded into a tokenizer that would encode differently.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "common/error.hpp"
#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/gguf_tokenizer.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"
#include "tests/model/gguf_builder.hpp"

namespace troupe {
namespace {

namespace fs = std::filesystem;
using test::GgufBuilder;

fs::path scratch_dir() {
  const fs::path dir = fs::temp_directory_path() / ("troupe-tokenizer-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

fs::path write_file(const std::string& name, const std::string& contents) {
  const fs::path path = scratch_dir() / name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

// A tokenizer.json around the given model / normalizer / pre-tokenizer / decoder sections.
std::string tokenizer_json(const std::string& model, const std::string& pre_tokenizer,
                           const std::string& normalizer = "null", const std::string& decoder = "null") {
  return R"({"version":"1.0","added_tokens":[],"normalizer":)" + normalizer + R"(,"pre_tokenizer":)" +
         pre_tokenizer + R"(,"post_processor":null,"decoder":)" + decoder + R"(,"model":)" + model + "}";
}

const std::string kByteLevel = R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})";
const std::string kTinyBpe = R"({"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]})";

// Expects ModelError whose message names both the file and `construct`.
void require_rejected(const fs::path& path, const std::string& construct) {
  try {
    (void)Tokenizer::from_tokenizer_json(path);
    FAIL("loaded " << path << " although it uses " << construct);
  } catch (const ModelError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find(construct) != std::string::npos);
  }
}

void require_gguf_rejected(const GgufBuilder& builder, const std::string& name, const std::string& construct) {
  const fs::path path = write_file(name, builder.build());
  const GgufFile file(path);
  try {
    (void)tokenizer_from_gguf(file);
    FAIL("loaded " << path << " although it uses " << construct);
  } catch (const ModelError& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK(message.find(path.string()) != std::string::npos);
    CHECK(message.find(construct) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("tokenizer: A minimal byte-level BPE tokenizer.json loads and merges", "[tokenizer][errors]") {
  // Sanity check of the helpers below: the same file with a supported layout loads.
  const std::string vocab = R"({"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"\u0120":3},"merges":["a b"]})";
  const Tokenizer t = Tokenizer::from_tokenizer_json(write_file("ok.json", tokenizer_json(vocab, kByteLevel)));
  CHECK(t.encode("ab ab", false) == std::vector<int32_t>{2, 3, 2});
  CHECK(t.decode(t.encode("ab ab", false)) == "ab ab");
}

TEST_CASE("tokenizer: Unsupported tokenizer.json model types are rejected", "[tokenizer][errors]") {
  require_rejected(write_file("unigram.json", tokenizer_json(R"({"type":"Unigram","vocab":[["a",0.0]]})", kByteLevel)),
                   "Unigram");
  require_rejected(write_file("wordpiece.json",
                              tokenizer_json(R"({"type":"WordPiece","vocab":{"a":0},"unk_token":"a"})", kByteLevel)),
                   "WordPiece");
  require_rejected(write_file("wordlevel.json", tokenizer_json(R"({"type":"WordLevel","vocab":{"a":0}})", kByteLevel)),
                   "WordLevel");
  require_rejected(
      write_file("fallback.json",
                 tokenizer_json(R"({"type":"BPE","vocab":{"a":0},"merges":[],"byte_fallback":true})", kByteLevel)),
      "byte_fallback");
}

TEST_CASE("tokenizer: Unsupported normalizers, pre-tokenizers and decoders are rejected", "[tokenizer][errors]") {
  // A SentencePiece-style pre-tokenizer with the byte-level decoder: the two alphabets disagree.
  require_rejected(write_file("metaspace.json", tokenizer_json(kTinyBpe, R"({"type":"Metaspace","replacement":"\u2581"})",
                                                               "null", R"({"type":"ByteLevel"})")),
                   "ByteLevel decoder without a ByteLevel pre-tokenizer");
  require_rejected(write_file("regex_replace.json",
                              tokenizer_json(kTinyBpe, "null",
                                             R"({"type":"Replace","pattern":{"Regex":"\\s"},"content":"\u2581"})")),
                   "regex pattern");
  require_rejected(write_file("strip_stop.json",
                              tokenizer_json(kTinyBpe, "null", "null",
                                             R"({"type":"Strip","content":" ","start":1,"stop":1})")),
                   "Strip decoder with stop");
  require_rejected(write_file("lowercase.json", tokenizer_json(kTinyBpe, kByteLevel, R"({"type":"Lowercase"})")),
                   "Lowercase");
  require_rejected(write_file("wp_decoder.json", tokenizer_json(kTinyBpe, kByteLevel, "null",
                                                                R"({"type":"WordPiece","prefix":"##"})")),
                   "WordPiece");
  require_rejected(
      write_file("bad_regex.json",
                 tokenizer_json(kTinyBpe, R"({"type":"Sequence","pretokenizers":[{"type":"Split","pattern":)"
                                          R"({"Regex":"(unclosed"},"behavior":"Isolated","invert":false},)" +
                                              kByteLevel + "]}")),
      "(unclosed");
}

TEST_CASE("tokenizer: Malformed tokenizer files are rejected with the file named", "[tokenizer][errors]") {
  require_rejected(write_file("broken.json", "{\"model\": "), "not valid JSON");
  require_rejected(write_file("bad_merge.json", tokenizer_json(R"({"type":"BPE","vocab":{"a":0},"merges":["a z"]})",
                                                               kByteLevel)),
                   "a z");
  require_rejected(scratch_dir() / "does-not-exist.json", "cannot open");
}

TEST_CASE("tokenizer: GGUF tokenizers troupe cannot reproduce are rejected", "[tokenizer][errors]") {
  GgufBuilder wordpiece;
  wordpiece.kv_string("tokenizer.ggml.model", "bert");
  wordpiece.kv_string_array("tokenizer.ggml.tokens", {"[UNK]", "a"});
  require_gguf_rejected(wordpiece, "bert.gguf", "\"bert\"");

  GgufBuilder no_scores;  // a SentencePiece vocabulary merges by its scores
  no_scores.kv_string("tokenizer.ggml.model", "llama");
  no_scores.kv_string_array("tokenizer.ggml.tokens", {"<unk>", "a"});
  require_gguf_rejected(no_scores, "spm.gguf", "tokenizer.ggml.scores");

  GgufBuilder unknown_pre;
  unknown_pre.kv_string("tokenizer.ggml.model", "gpt2");
  unknown_pre.kv_string("tokenizer.ggml.pre", "made-up-family");
  unknown_pre.kv_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
  unknown_pre.kv_string_array("tokenizer.ggml.merges", {"a b"});
  require_gguf_rejected(unknown_pre, "pre.gguf", "made-up-family");

  GgufBuilder no_tokenizer;
  no_tokenizer.kv_string("general.architecture", "llama");
  require_gguf_rejected(no_tokenizer, "none.gguf", "tokenizer.ggml.model");
}

}  // namespace troupe
