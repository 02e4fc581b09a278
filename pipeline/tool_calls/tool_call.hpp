#pragma once
// Tool calls as the chat API reports them: whole (a non-streaming message's `tool_calls`) and as
// streaming deltas (OpenAI's shape: the first delta of a call carries its index, id, type, function
// name and empty arguments ""; later ones carry only the index and a fragment of the arguments —
// so that `arguments += delta.arguments` works from the first delta on).
#include <optional>
#include <string>
#include <vector>

namespace troupe {

struct ToolCall {
  std::string id;         // "chatcmpl-tool-" + 32 hex digits
  std::string name;
  std::string arguments;  // JSON text
};

struct ToolCallDelta {
  int index = 0;                         // the call's position in the message
  std::optional<std::string> id;         // first delta of a call only (with type "function")
  std::optional<std::string> name;       // first delta of a call only
  std::optional<std::string> arguments;  // a fragment; "" on a call's first delta
};

// What one piece of model text adds to the reply: plain content and/or tool-call deltas.
struct MessageDelta {
  std::string content;
  std::string reasoning;  // the model's reasoning (gpt-oss's analysis channel): vLLM's `reasoning`
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return content.empty() && reasoning.empty() && tool_calls.empty(); }
  void append(MessageDelta other);
};

// A whole reply: content is absent (JSON null) when a tool call took the whole text.
struct ParsedMessage {
  std::optional<std::string> content;
  std::optional<std::string> reasoning;  // absent when the model gave none
  std::vector<ToolCall> tool_calls;
};

// "chatcmpl-tool-" followed by 32 random hex digits, as vLLM names calls.
std::string make_tool_call_id();
// 9 random letters and digits: Mistral's templates (and mistral-common) refuse any other tool-call
// id when the call comes back in the conversation, so vLLM's Mistral parser makes these.
std::string make_mistral_tool_call_id();

}  // namespace troupe
