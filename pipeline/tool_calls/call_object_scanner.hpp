#pragma once
// Reads one tool-call object, {"name": "...", "<arguments key>": <JSON>, ...}, from text that
// arrives in pieces. The name is known as soon as its string closes; the arguments come out as
// canonical JSON text (JsonValueStream) while they arrive, so they can be streamed. Other keys are
// read and ignored.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/tool_calls/json_value_stream.hpp"

namespace troupe {

class CallObjectScanner {
 public:
  // `argument_keys`: the keys whose value is the call's arguments ("arguments", "parameters").
  explicit CallObjectScanner(std::vector<std::string> argument_keys, bool ensure_ascii = false);

  // Consumes bytes until the object's closing brace (or the end of `text`); returns the count.
  std::size_t push(std::string_view text);
  void finish();  // end of input: an object still open fails

  bool started() const { return state_ != State::Open; }
  bool complete() const { return state_ == State::Done; }
  // Malformed JSON, or (once complete) no string name or no arguments.
  bool failed() const { return state_ == State::Failed; }
  const std::optional<std::string>& name() const { return name_; }
  bool arguments_started() const { return arguments_started_; }
  // Canonical arguments text produced since the last call.
  std::string take_arguments();

 private:
  enum class State { Open, KeyOrEnd, Key, Colon, Value, CommaOrEnd, Done, Failed };
  enum class ValueKind { Name, Arguments, Other };

  bool ensure_ascii_;
  std::vector<std::string> argument_keys_;
  State state_ = State::Open;
  JsonValueStream value_;
  ValueKind kind_ = ValueKind::Other;
  std::optional<std::string> name_;
  bool arguments_started_ = false;
  bool arguments_done_ = false;
  std::string arguments_;
};

// Length of the longest end of `text` that is a proper prefix of `tag`: text that must be held
// back because the next piece may complete the tag.
std::size_t partial_tag_suffix(std::string_view text, std::string_view tag);
// The same for the longest of several tags (one of which the next piece may complete).
std::size_t partial_tags_suffix(std::string_view text, std::span<const std::string_view> tags);
// The first of `tags` in `text`: its position and length (npos and 0 when none).
std::pair<std::size_t, std::size_t> find_first_tag(std::string_view text, std::span<const std::string_view> tags);

// `text` without the whitespace at either end (the XML-style formats' names and values).
std::string_view trim(std::string_view text);

}  // namespace troupe
