#include "pipeline/sampling/bad_words.hpp"

#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {

namespace {

// Python's str.lstrip(): drops leading characters for which str.isspace() holds — Unicode
// White_Space plus the information separators U+001C..U+001F.
std::string_view python_lstrip(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t length = 0;
    const char32_t cp = utf8::decode(text, pos, length);
    if (!utf8::is_white_space(cp) && !(cp >= 0x1C && cp <= 0x1F)) break;
    pos += length;
  }
  return text.substr(pos);
}

}  // namespace

std::vector<std::vector<int32_t>> bad_words_token_ids(const Tokenizer& tokenizer, std::span<const std::string> words) {
  std::vector<std::vector<int32_t>> sequences;
  for (const std::string& word : words) {
    const std::string_view stripped = python_lstrip(word);
    std::vector<int32_t> plain = tokenizer.encode(stripped, /*add_special_tokens=*/false);
    if (plain.empty()) throw BadWordsError("bad_words entries must tokenize to at least one token.");
    std::vector<int32_t> spaced = tokenizer.encode(" " + std::string(stripped), /*add_special_tokens=*/false);
    // vLLM keeps the spaced form when it starts with another token and has as many tokens: a
    // different spelling of the same word, not the word plus a separate space token.
    const bool keep_spaced = !spaced.empty() && spaced.front() != plain.front() && spaced.size() == plain.size();
    sequences.push_back(std::move(plain));
    if (keep_spaced) sequences.push_back(std::move(spaced));
  }
  return sequences;
}

}  // namespace troupe
