#pragma once
// The concrete parsers behind make_tool_call_parser (one class per format).
#include <optional>
#include <string>
#include <vector>

#include "pipeline/tool_calls/call_object_scanner.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

// Shared by every format: the call being read, and turning its progress into deltas (the id and
// name once the name is known, then argument fragments).
class CallDeltas {
 public:
  using IdMaker = std::string (*)();
  explicit CallDeltas(std::vector<std::string> argument_keys, IdMaker make_id = make_tool_call_id)
      : argument_keys_(std::move(argument_keys)), make_id_(make_id) {}
  void start();  // a new call object begins
  CallObjectScanner& scanner() { return *scanner_; }
  bool active() const { return scanner_.has_value(); }
  // Deltas for what the scanner read since the last call.
  void emit(MessageDelta& out);
  int calls() const { return sent_; }

 private:
  std::vector<std::string> argument_keys_;
  IdMaker make_id_;
  std::optional<CallObjectScanner> scanner_;
  int index_ = 0;   // the current call's index
  int sent_ = 0;    // calls whose name went out
  bool name_sent_ = false;
  std::string held_arguments_;  // arguments read before the name
};

// Qwen2.5 / Qwen3 / Hermes: text, then <tool_call>{...}</tool_call> blocks.
class HermesParser final : public ToolCallParser {
 public:
  HermesParser() : deltas_({"arguments"}) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return deltas_.calls(); }
  bool failed() const override { return failed_; }

 private:
  enum class State { Text, Call, AfterCall };
  State state_ = State::Text;
  bool seen_call_ = false;
  bool failed_ = false;
  std::string pending_;  // text not yet handled (a possible partial tag)
  CallDeltas deltas_;
};

// Llama 3.1 / 3.2 JSON calls: an optional <|python_tag|>, then {...} objects separated by ";".
// A reply whose first non-blank text is not "{" is plain content.
class Llama3JsonParser final : public ToolCallParser {
 public:
  Llama3JsonParser() : deltas_({"arguments", "parameters"}) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return deltas_.calls(); }
  bool failed() const override { return failed_; }

 private:
  enum class State { Undecided, Text, Call, Between, Ignore };
  State state_ = State::Undecided;
  bool failed_ = false;
  std::string pending_;
  CallDeltas deltas_;
};

// tool_choice "required": the output is a JSON array of {"name", "parameters"} objects. (Also
// Mistral's array of {"name", "arguments"} objects, with its ids.)
class RequiredCallsParser final : public ToolCallParser {
 public:
  explicit RequiredCallsParser(std::vector<std::string> argument_keys = {"parameters"},
                               CallDeltas::IdMaker make_id = make_tool_call_id)
      : deltas_(std::move(argument_keys), make_id) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return deltas_.calls(); }
  bool failed() const override { return failed_; }
  bool content_null_when_empty() const override { return false; }

 private:
  enum class State { Open, ElementOrEnd, Element, CommaOrEnd, Done };
  State state_ = State::Open;
  bool failed_ = false;
  CallDeltas deltas_;
};

// Mistral: text, then [TOOL_CALLS] and either a JSON array of {"name", "arguments"} objects
// (tokenizers before v11: Mistral 7B v0.3, NeMo, Small 3) or name[ARGS]{...} after each
// [TOOL_CALLS] (v11 on: Devstral, Magistral; name[CALL_ID]id[ARGS]{...} where the model writes an
// id, which is replaced like every id). Text before the first [TOOL_CALLS] is content; the calls
// end the reply. [TOOL_CALLS] is a control token: the request keeps control tokens' text
// (tool_choice.cpp turns skip_special_tokens off, as vLLM's parser does).
class MistralParser final : public ToolCallParser {
 public:
  MistralParser() : array_({"arguments"}, make_mistral_tool_call_id) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return array_.calls() + named_calls_; }
  bool failed() const override { return failed_; }

 private:
  enum class State { Text, Undecided, Array, Name, CallId, Arguments, Between, Ignore };
  void start_arguments(MessageDelta& out);
  State state_ = State::Text;
  bool failed_ = false;
  std::string pending_;
  RequiredCallsParser array_;
  // v11 calls: the name being read, the arguments' stream.
  std::string name_;
  std::optional<JsonValueStream> arguments_;
  int named_calls_ = 0;
};

// tool_choice naming a function: the whole output is that function's arguments, passed through
// as generated (vLLM does not re-serialize them).
class NamedCallParser final : public ToolCallParser {
 public:
  explicit NamedCallParser(std::string name) : name_(std::move(name)) {}
  MessageDelta push(std::string_view text) override;
  MessageDelta finish() override;
  int calls() const override { return started_ ? 1 : 0; }
  bool failed() const override { return false; }
  bool content_null_when_empty() const override { return false; }

 private:
  std::string name_;
  bool started_ = false;
};

}  // namespace troupe
