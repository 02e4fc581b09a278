#pragma once
// vLLM's bad_words as token sequences (SamplingParams.update_from_tokenizer): each word, its
// leading whitespace stripped, is encoded as written and with one leading space, since a word is
// spelled with different tokens at the start of a text and after a space. The spaced form is kept
// only when it is a different word start of the same length, as vLLM keeps it. The sampler then
// bans the last token of a sequence whenever the output ends with the rest (logit_rules.hpp).
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe {

// A bad word the tokenizer turns into no token at all (vLLM's message).
class BadWordsError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

std::vector<std::vector<int32_t>> bad_words_token_ids(const Tokenizer& tokenizer, std::span<const std::string> words);

}  // namespace troupe
