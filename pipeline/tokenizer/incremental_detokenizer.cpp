#include "pipeline/tokenizer/incremental_detokenizer.hpp"

#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {

IncrementalDetokenizer::IncrementalDetokenizer(Tokenizer tokenizer, bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_tokens_(skip_special_tokens) {}

std::string IncrementalDetokenizer::push(int32_t id) {
  if (id < 0 || id >= tokenizer_.vocab_size()) return {};
  if (skip_special_tokens_ && tokenizer_.is_special(id)) return {};
  pending_ += tokenizer_.token_bytes(id);
  // Everything up to the last possibly-unfinished character is final: replacing ill-formed bytes
  // depends only on the bytes up to them, so emitting it now matches decoding the whole stream.
  const std::size_t ready = utf8::complete_prefix_length(pending_);
  std::string out = utf8::to_valid_lossy(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string IncrementalDetokenizer::finish() {
  std::string out = utf8::to_valid_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace troupe
