#pragma once
// Reads one JSON value from text that arrives in pieces and writes it back out as Python's
// json.dumps(json.loads(value), ensure_ascii=...) would (separators ", " and ": ", escapes
// re-encoded, floats in Python's repr). vLLM reports tool-call arguments that way, so the
// argument fragments streamed from this canonical text concatenate to exactly the arguments a
// non-streaming response carries.
//
// The stream stops consuming at the end of the value: push() returns how many bytes it took, so
// whatever follows ("</tool_call>", "; {...}") stays with the caller. A number at the very end of
// the text is only known to be complete at finish().
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

class JsonValueStream {
 public:
  explicit JsonValueStream(bool ensure_ascii = false) : ensure_ascii_(ensure_ascii) {}

  // Consumes bytes of `text` until the value is complete or the text ends; returns the bytes
  // consumed. Leading whitespace is skipped. Malformed JSON sets failed() and consumes nothing more.
  std::size_t push(std::string_view text);
  // End of input: completes a top-level number; a value still open fails.
  void finish();

  bool complete() const { return state_ == State::Done; }
  bool failed() const { return state_ == State::Failed; }
  bool started() const { return started_; }
  // The canonical text written so far; take_output() hands it over and clears it.
  const std::string& output() const { return output_; }
  std::string take_output();
  // When the value is a string: its decoded contents (valid once complete()).
  bool is_string() const { return top_is_string_; }
  const std::string& string_value() const { return string_value_; }

 private:
  enum class State { Value, Scalar, Done, Failed };
  enum class Frame { ObjectKeyOrEnd, ObjectKey, ObjectColon, ObjectValue, ObjectCommaOrEnd,
                     ArrayValueOrEnd, ArrayValue, ArrayCommaOrEnd };
  enum class Scalar { None, String, Number, Literal };

  bool step(char c);          // one byte; false: not consumed (the value ended before it)
  bool begin_value(char c);   // a value starts with c
  void end_value();           // a value (scalar or container) completed
  bool string_byte(char c);
  bool finish_number();
  void append_code_point(char32_t c);
  void fail() { state_ = State::Failed; }

  bool ensure_ascii_;
  State state_ = State::Value;
  std::vector<Frame> frames_;
  Scalar scalar_ = Scalar::None;
  bool started_ = false;
  bool top_is_string_ = false;
  std::string output_;
  std::string scalar_text_;      // number or literal being read
  std::string string_value_;     // decoded text of a top-level string
  // String lexing: escape progress, \u digits, a high surrogate waiting for its pair, and the
  // bytes of a UTF-8 sequence being collected (only needed for ensure_ascii).
  int escape_ = 0;  // 0 none, 1 after '\\', 2..5 reading the 4 hex digits of \u
  char32_t unit_ = 0;
  char32_t high_surrogate_ = 0;
  std::string utf8_pending_;
};

}  // namespace troupe
