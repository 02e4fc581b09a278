#pragma once
// Turns one choice's generated text into content and tool calls, in the request's ToolCallMode.
// Streaming: push() each text delta as it is generated and send what it returns; finish() at the
// end. Non-streaming: parse_message() on the whole text. Both come from the same state machine,
// so a stream's deltas add up to the non-streaming message (see docs/API.md for the one case
// where vLLM differs: text after a tool call).
#include <memory>
#include <string_view>

#include "pipeline/tool_calls/tool_call.hpp"
#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

class ToolCallParser {
 public:
  virtual ~ToolCallParser() = default;
  virtual MessageDelta push(std::string_view text) = 0;
  virtual MessageDelta finish() = 0;
  // Calls reported so far (a call counts once its name went out).
  virtual int calls() const = 0;
  // The text could not be read as the format promises (malformed JSON, a call without name or
  // arguments). A non-streaming reply then falls back to the whole text as content, as vLLM's does.
  virtual bool failed() const = 0;
  // Whether a successful non-streaming reply keeps its content null when only calls were made
  // (auto formats) or reports "" (forced calls, as vLLM does).
  virtual bool content_null_when_empty() const { return true; }
};

// A parser for `mode`; nullptr for ToolCallMode::Kind::None (the text is plain content).
std::unique_ptr<ToolCallParser> make_tool_call_parser(const ToolCallMode& mode);

// The whole text of one choice as a message, as vLLM's non-streaming reply reports it.
ParsedMessage parse_message(const ToolCallMode& mode, std::string_view text);

}  // namespace troupe
