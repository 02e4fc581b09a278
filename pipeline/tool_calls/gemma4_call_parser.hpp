#pragma once
// Gemma 4's tool calls (vLLM's gemma4 parser; llama.cpp's peg-gemma4): text, then one or more
//
//   <|tool_call>call:get_weather{city:<|"|>Paris<|"|>,days:3,units:{metric:true},tags:[<|"|>a<|"|>]}<tool_call|>
//
// in Gemma's own notation, which its chat template writes for calls it shows the model: strings
// between <|"|> marks (a control token), keys bare (or marked so), numbers, true, false, null, and
// {...} and [...] nested; a plain JSON string ("...") is read too, as vLLM's parser tolerates it. The text before the first call is content; whitespace between calls is
// dropped. Each call's name goes out as soon as its "{" arrives, its arguments — the notation read
// into JSON, with json.dumps's ", " and ": " — when its <tool_call|> does. A call whose arguments do
// not read as the notation fails the reply (failed()), which a whole reply then gives as content.
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

// `text`, one value in Gemma's notation (surrounding whitespace allowed), as JSON; nullopt when it
// is not one. A bare word that is no literal or number reads as a string (as the model meant it).
std::optional<std::string> gemma4_value_json(std::string_view text);

class Gemma4CallParser final : public ToolCallParser {
 public:
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return calls_; }
  bool failed() const override { return failed_; }

 private:
  // Text: content, up to a call. Call: after <|tool_call>, until <tool_call|>.
  enum class State { Text, Call };
  void drain(MessageDelta& out, bool at_end);
  // The call's name once `call` (the text after <|tool_call>) holds "call:NAME{"; its arguments
  // from `body` (that text without the closing tag).
  void send_name(std::string_view call, MessageDelta& out);
  void close_call(std::string_view body, MessageDelta& out);

  State state_ = State::Text;
  bool failed_ = false;
  bool name_sent_ = false;
  std::string pending_;
  int calls_ = 0;
};

}  // namespace troupe
