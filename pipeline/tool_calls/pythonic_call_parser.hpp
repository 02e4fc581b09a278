#pragma once
// Replies whose tool calls are a Python list of calls (python_calls.hpp), in two dialects:
//
// - LFM2 / LFM2.5 (vLLM's lfm2): text, then <|tool_call_start|>[call(a=1), ...]<|tool_call_end|>,
//   then text. The text around the block is content. LFM2 sometimes echoes the call after the
//   block and caps the echo with a second <|tool_call_end|>: text up to such an orphan end marker
//   is dropped, as vLLM drops it. Text after a block is therefore held until the reply ends (or
//   another block starts). A block that does not read as calls makes the reply content, whole.
//   The markers are special tokens: the request keeps their text (chat_request.cpp).
// - pythonic (Llama 3.2 and 4 with their pythonic templates): the whole reply, when its first
//   non-blank character is '[', is the list; otherwise it is content.
//
// A block's calls go out when it closes (the list is read whole, so its arguments arrive in one
// delta per call, after the delta that names it).
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

struct PythonicDialect {
  std::string_view open, close;  // the block's markers; empty: the whole reply is the list
};
inline constexpr PythonicDialect kLfm2Calls{"<|tool_call_start|>", "<|tool_call_end|>"};
inline constexpr PythonicDialect kPythonicCalls{"", ""};

class PythonicCallParser final : public ToolCallParser {
 public:
  explicit PythonicCallParser(const PythonicDialect& dialect)
      : dialect_(dialect), state_(dialect.open.empty() ? State::Undecided : State::Text) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return calls_; }
  bool failed() const override { return failed_; }

 private:
  // Text: content, watching for the open marker (Undecided: pythonic, before the first non-blank
  // character). Block: inside the markers (or the whole reply), buffered. After: text after a
  // block, held. Plain: content to the end.
  enum class State { Undecided, Text, Block, After, Plain };
  // The block's text read as calls: their deltas, or (not calls) the block as written, as content.
  void close_block(std::string_view block, MessageDelta& out);
  // Text `held` after a block, less any echo up to the last orphan close marker.
  std::string held_content(std::string_view held) const;

  PythonicDialect dialect_;
  State state_;
  std::string pending_;
  int calls_ = 0;
  bool failed_ = false;
};

}  // namespace troupe
