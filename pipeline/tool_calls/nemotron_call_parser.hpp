#pragma once
// Nemotron Nano 2's tool calls (the nemotron_json parser NVIDIA ships for vLLM): text, then
// <TOOLCALL> and a JSON array of {"name", "arguments"} objects, then </TOOLCALL>. The text before
// <TOOLCALL> is content; the calls stream as the array arrives (RequiredCallsParser reads it);
// what follows the array (the closing tag) ends the reply. An array that does not read as calls
// makes the reply content, as written.
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
  bool failed() const override { return in_calls_ && array_.failed(); }

 private:
  bool in_calls_ = false;  // past <TOOLCALL>
  std::string held_;       // text that may be the start of <TOOLCALL>
  RequiredCallsParser array_;
};

}  // namespace troupe
