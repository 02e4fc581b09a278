#pragma once
// Streaming decode: token ids arrive one at a time and text leaves in chunks that are always valid
// UTF-8; a character split across tokens is held back until its last byte arrives. The
// concatenation of all chunks (including finish()) equals Tokenizer::decode of all ids.
#include <cstdint>
#include <string>

#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe {

class IncrementalDetokenizer {
 public:
  // Keeps a copy of `tokenizer` (cheap: copies share the loaded tables).
  explicit IncrementalDetokenizer(Tokenizer tokenizer, bool skip_special_tokens = true);

  // Adds one id and returns the text it completes (possibly empty). Bytes that can never become
  // valid UTF-8 come out as U+FFFD, as in decode().
  std::string push(int32_t id);

  // Ends the stream: returns the held bytes of an unfinished character as U+FFFD (empty when none).
  std::string finish();

  // Bytes held back because they may start a character that the next token completes (0 to 3).
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  Tokenizer tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;
};

}  // namespace troupe
