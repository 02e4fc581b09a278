#pragma once
// Qwen3-Coder's (and Qwen3.5's) tool calls, vLLM's qwen3_coder format: text, then blocks of
//
//   <tool_call>
//   <function=get_weather>
//   <parameter=city>
//   Paris
//   </parameter>
//   </function>
//   </tool_call>
//
// Each parameter's text (one newline after its opening tag and one before its closing tag
// removed) becomes a JSON value by the type the request's tool schema gives it, as vLLM converts
// it: strings as they are, integers and numbers parsed (a number with no fraction as an integer),
// booleans from true / false, "null" as null, and anything else (objects, arrays, untyped) as the
// JSON it is, else a string; a parameter the schema does not list stays a string. The arguments
// are the object of those values in Python's json.dumps form, streamed one parameter at a time:
// "{" and the first parameter when it closes, ", " and each next, "}" at </function>.
//
// Seed-OSS writes Qwen3-Coder's calls inside <seed:tool_call> blocks (vLLM's seed_oss).
// MiniMax-M2's calls (vLLM's minimax_m2) are the same shape under other tags, several to a block:
//
//   <minimax:tool_call>
//   <invoke name="get_weather">
//   <parameter name="city">Paris</parameter>
//   </invoke>
//   </minimax:tool_call>
//
// names quoted, values trimmed of surrounding whitespace, and "none" / "nil" read as null, yes / no,
// on / off, 1 / 0 as booleans where the schema says boolean.
#include <map>
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_mode.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

// The whole of `text` as one JSON value in Python's json.dumps form, or "" when it is not one.
std::string whole_json_value(std::string_view text);

// A parameter's text as the JSON value its schema `type` makes of it ("" for none given).
std::string xml_parameter_json(std::string_view text, std::string_view type);

// The tags of one XML-style format. A call's name runs from function_open to '>', a parameter's
// from parameter_open to '>', each with surrounding quotes removed.
struct XmlCallDialect {
  std::string_view call_open, call_close;          // the block the calls come in
  std::string_view function_open, function_close;  // one call
  std::string_view parameter_open;                 // one parameter, closed by </parameter>
  bool trim_values = false;    // true: values trimmed; false: one newline off each end
  bool lenient_words = false;  // none / nil as null; yes, no, on, off, 1, 0 as booleans
};
inline constexpr XmlCallDialect kQwen3CoderCalls{"<tool_call>", "</tool_call>", "<function=", "</function>",
                                                 "<parameter=", false, false};
// Seed-OSS (vLLM's seed_oss): Qwen3-Coder's calls in <seed:tool_call> blocks.
inline constexpr XmlCallDialect kSeedOssCalls{"<seed:tool_call>", "</seed:tool_call>", "<function=", "</function>",
                                              "<parameter=", false, false};
inline constexpr XmlCallDialect kMinimaxM2Calls{"<minimax:tool_call>", "</minimax:tool_call>", "<invoke name=",
                                                "</invoke>", "<parameter name=", true, true};

class XmlCallParser final : public ToolCallParser {
 public:
  XmlCallParser(const ParameterTypes& types, const XmlCallDialect& dialect = kQwen3CoderCalls)
      : types_(types), dialect_(dialect) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return calls_; }
  bool failed() const override { return failed_; }

 private:
  enum class State { Text, Call, Function, Parameter, AfterFunction };
  void drain(MessageDelta& out, bool at_end);
  void close_parameter(std::string_view value, MessageDelta& out);
  void close_function(MessageDelta& out);

  ParameterTypes types_;
  XmlCallDialect dialect_;
  State state_ = State::Text;
  bool failed_ = false;
  std::string pending_;
  std::string function_, parameter_;
  int calls_ = 0, parameters_ = 0;
};

}  // namespace troupe
