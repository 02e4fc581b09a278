#pragma once
// GLM-4.5's (and GLM-4.6's, GLM-4.7's) tool calls, vLLM's glm45 format: text, then blocks of
//
//   <tool_call>get_weather
//   <arg_key>city</arg_key>
//   <arg_value>Paris</arg_value>
//   <arg_key>days</arg_key>
//   <arg_value>3</arg_value>
//   </tool_call>
//
// (GLM-4.7 writes the first <arg_key> on the name's line.) Each value is stripped of surrounding
// whitespace and becomes JSON as vLLM's parser makes it: a parameter the request's tool schema types
// "string" stays text; any other is read as JSON (True, False, None as Python writes them too),
// else kept as text. The arguments are the object of those values, streamed one argument at a
// time: "{" and the first when its </arg_value> arrives, ", " and each next, "}" at </tool_call>.
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_mode.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

// An argument's text as the JSON value GLM's parser makes of it (`string`: the schema types it so).
std::string glm_argument_json(std::string_view text, bool string);

class GlmCallParser final : public ToolCallParser {
 public:
  explicit GlmCallParser(const ParameterTypes& types) : types_(types) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return calls_; }
  bool failed() const override { return failed_; }

 private:
  enum class State { Text, Name, Arguments, Key, Value };
  void drain(MessageDelta& out, bool at_end);
  void open_call(std::string_view name, MessageDelta& out);
  void close_argument(std::string_view value, MessageDelta& out);
  void close_call(MessageDelta& out);

  ParameterTypes types_;
  State state_ = State::Text;
  bool failed_ = false;
  std::string pending_;
  std::string function_, key_;
  int calls_ = 0, arguments_ = 0;
};

}  // namespace troupe
