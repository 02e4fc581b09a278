#pragma once
// gpt-oss's replies in OpenAI's harmony format, turned into a chat message as vLLM reports them:
// what the model writes on the analysis channel is the message's `reasoning`, the final channel
// its content, and a commentary message addressed to a function (`to=functions.NAME`) a tool call
// whose arguments are the message's body. The reply is a sequence of messages,
//
//   <|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final<|message|>…
//   <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{…}
//
// the first message's <|start|>assistant being the prompt's last tokens, and the reply ending in
// <|return|> or <|call|> (end-of-generation tokens, whose text the output leaves out). The markers
// are special tokens: the chat request keeps their text in the output (skip_special_tokens off)
// for this parser, which removes them. Text before any header is content, as is a commentary
// message without a function recipient (a preamble); calls are parsed only when the request
// offered tools (`calls`), otherwise their bodies are content too.
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

class HarmonyParser : public ToolCallParser {
 public:
  explicit HarmonyParser(bool calls) : calls_allowed_(calls) {}

  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return calls_; }
  bool failed() const override { return false; }

 private:
  enum class State { Start, Header, Body, Between };
  enum class Target { Content, Reasoning, Call };

  // Consumes what it can of pending_, appending to `out`; leaves a possible marker's first part.
  void drain(MessageDelta& out, bool at_end);
  void open_message(std::string_view header, MessageDelta& out);
  void emit(std::string_view text, MessageDelta& out);

  bool calls_allowed_;
  State state_ = State::Start;
  Target target_ = Target::Content;
  std::string pending_;  // text not yet given out
  int calls_ = 0;
};

}  // namespace troupe
