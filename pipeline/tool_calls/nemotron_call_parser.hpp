#pragma once
// Nemotron Nano 2's tool calls (the nemotron_json parser NVIDIA ships for vLLM): text, then
// <TOOLCALL> and a JSON array of {"name", "arguments"} objects, then </TOOLCALL>. The text before
// <TOOLCALL> is content; the calls stream as the array arrives (RequiredCallsParser reads it);
// what follows the array (the closing tag) ends the reply. A tag not followed by '[' makes the rest
// content, and an array that does not read as calls makes the reply content, as written.
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_parsers.hpp"

namespace troupe {

class NemotronCallParser final : public ToolCallParser {
 public:
  NemotronCallParser() : array_({"arguments"}) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return array_.calls(); }
  bool failed() const override { return state_ == State::Calls && array_.failed(); }

 private:
  // Content: before <TOOLCALL> (held_: an end that may be its start). Undecided: after it, until the
  // first character past blanks (held_: the tag on). Calls: the array. Text: content to the end
  // (the tag was not followed by a list).
  enum class State { Content, Undecided, Calls, Text };
  State state_ = State::Content;
  std::string held_;
  RequiredCallsParser array_;
};

}  // namespace troupe
