#pragma once
// Granite 3.x's tool calls (vLLM's granite parser): the reply, after blanks, is <|tool_call|>
// (Granite 3.0) or <tool_call> (3.1), or neither, then a JSON array of {"name", "arguments"}
// objects. A reply whose first character after the optional tag is not '[' is content, whole
// (the tag's text included); an array that does not read as calls makes the reply content too.
// The calls stream as the array arrives (RequiredCallsParser reads it). <|tool_call|> is a special
// token of Granite 3's vocabulary: with skip_special_tokens (the default) its text is gone before
// the parser sees the reply, which then starts with the array.
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_parsers.hpp"

namespace troupe {

class GraniteCallParser final : public ToolCallParser {
 public:
  GraniteCallParser() : array_({"arguments"}) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return array_.calls(); }
  bool failed() const override { return state_ == State::Array && array_.failed(); }

 private:
  // Undecided: before the first character after blanks and the tag (held, for content). Array:
  // the calls. Text: content to the end.
  enum class State { Undecided, Array, Text };
  State state_ = State::Undecided;
  std::string held_;  // the reply so far while Undecided
  RequiredCallsParser array_;
};

}  // namespace troupe
