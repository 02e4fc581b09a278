#pragma once
// Kimi K2's tool calls (vLLM's kimi_k2 parser; llama.cpp's Kimi K2 format): text, then one section
//
//   <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|>
//   <|tool_call_begin|>functions.search:1<|tool_call_argument_begin|>{...}<|tool_call_end|><|tool_calls_section_end|>
//
// as Kimi K2's chat template writes the calls it shows the model (all of these are special tokens of
// its vocabulary; "tool_call_section" is read beside "tool_calls_section", as vLLM reads it). The
// text before the section is content; what follows its end is dropped (vLLM's reading). A call's id
// is the model's ("functions.NAME:N", which the template writes back itself), its name that id
// without the "functions." prefix and the ":N" index; the name goes out when the argument tag
// arrives, the arguments — the model's JSON object as written — when the call's end tag does. A
// call without a name or whose arguments are no JSON object fails the reply (failed()), which a
// whole reply then gives as content.
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

class KimiK2CallParser final : public ToolCallParser {
 public:
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return calls_; }
  bool failed() const override { return failed_; }

 private:
  // Text: content, up to the section. Section: between calls. Id: after <|tool_call_begin|>.
  // Arguments: after <|tool_call_argument_begin|>. Done: after the section's end.
  enum class State { Text, Section, Id, Arguments, Done };
  void drain(MessageDelta& out, bool at_end);

  State state_ = State::Text;
  bool failed_ = false;
  std::string pending_;
  int calls_ = 0;
};

}  // namespace troupe
