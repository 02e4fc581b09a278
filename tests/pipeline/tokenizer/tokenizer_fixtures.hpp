#pragma once
// Access to tests/fixtures/tokenizer (made by tools/make_tokenizer_fixtures.py): the corpus, the
// Hugging Face reference ids, and the tokenizer files, some of which live in the tokenizer cache.
#include <boost/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe::test {

std::filesystem::path tokenizer_fixtures_dir();

// Where the uncommitted tokenizer files are: $TROUPE_TOKENIZER_CACHE, else the fixtures' cache/.
std::filesystem::path tokenizer_cache_dir();

// One tokenizer file to load and the reference expectations it must reproduce.
struct TokenizerLoad {
  std::string name;
  std::string expected;  // name of expected/<expected>.jsonl
  std::string format;    // "json", "gguf" or "sentencepiece" (a tokenizer.model)
  std::filesystem::path file;
  bool in_cache = false;
  bool in_models = false;  // a model file in troupe's model cache (tools/fetch_model.sh)
  // What add_special_tokens puts first, when it differs from the expected set's (a load sharing
  // another's ids, such as the same model under another tokenizer class).
  std::optional<std::vector<int32_t>> prefix;
};

// troupe's model cache, where tools/fetch_model.sh puts models.
std::filesystem::path models_dir();

// What Hugging Face produced for one corpus line.
struct ExpectedLine {
  std::vector<int32_t> ids;                  // encode(text, add_special_tokens=False)
  std::vector<int32_t> ids_literal_special;  // same with special tokens not recognized
  std::string decoded;                       // decode(ids, skip_special_tokens=False)
  std::string decoded_skip_special;          // decode(ids, skip_special_tokens=True)
  // The text the ids add when they continue a sequence (skipping special tokens): what a stream
  // of them decodes to. Differs from decoded_skip_special where decoding a whole sequence drops
  // the space a SentencePiece tokenizer put before it.
  std::string decoded_continuation;
};

struct ExpectedSet {
  std::vector<int32_t> prefix;  // what add_special_tokens puts before / after the text
  std::vector<int32_t> suffix;
  int32_t vocab_size = 0;
  std::vector<ExpectedLine> lines;
};

const std::vector<std::string>& corpus();
std::vector<TokenizerLoad> tokenizer_loads();
const TokenizerLoad& tokenizer_load(const std::string& name);
ExpectedSet expected_set(const std::string& name);

// Loads a tokenizer of the manifest. A file missing from the cache fails with the command that
// fetches it (these tests must not pass silently without their data).
Tokenizer load_tokenizer(const TokenizerLoad& load);
Tokenizer load_tokenizer(const std::string& name);

std::string describe_ids(const std::vector<int32_t>& ids);

}  // namespace troupe::test
