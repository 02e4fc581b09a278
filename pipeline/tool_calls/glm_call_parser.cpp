#include "pipeline/tool_calls/glm_call_parser.hpp"

#include <algorithm>

#include "pipeline/structured_output/json_text.hpp"
#include "pipeline/tool_calls/call_object_scanner.hpp"  // partial_tag_suffix, trim
#include "pipeline/tool_calls/xml_call_parser.hpp"      // whole_json_value

namespace troupe {
namespace {

using structured_output::json_quote;  // Python's json.dumps of a string, ensure_ascii=False

constexpr std::string_view kCallOpen = "<tool_call>", kCallClose = "</tool_call>";
constexpr std::string_view kKeyOpen = "<arg_key>", kKeyClose = "</arg_key>";
constexpr std::string_view kValueOpen = "<arg_value>", kValueClose = "</arg_value>";

}  // namespace

std::string glm_argument_json(std::string_view text, bool string) {
  const std::string_view value = trim(text);
  if (string) return json_quote(value);
  // Python's literals, which vLLM's fallback (ast.literal_eval) reads.
  if (value == "True") return "true";
  if (value == "False") return "false";
  if (value == "None") return "null";
  const std::string json = whole_json_value(value);
  return json.empty() ? json_quote(value) : json;
}

MessageDelta GlmCallParser::push(std::string_view text) {
  MessageDelta out;
  pending_.append(text);
  drain(out, /*at_end=*/false);
  return out;
}

MessageDelta GlmCallParser::finish() {
  MessageDelta out;
  drain(out, /*at_end=*/true);
  // A reply cut off inside a call: its name, its last value and the arguments closed as they stand.
  if (state_ == State::Name) open_call(pending_, out);
  if (state_ == State::Value) close_argument(pending_, out);
  if (state_ == State::Key) failed_ = true;  // a key without its value
  if (state_ == State::Arguments) close_call(out);
  pending_.clear();
  return out;
}

void GlmCallParser::open_call(std::string_view name, MessageDelta& out) {
  function_ = std::string(trim(name));
  if (function_.empty()) failed_ = true;
  out.tool_calls.push_back(ToolCallDelta{calls_++, make_tool_call_id(), function_, std::string()});
  arguments_ = 0;
  state_ = State::Arguments;
}

void GlmCallParser::close_argument(std::string_view value, MessageDelta& out) {
  const std::string* type = parameter_type(types_, function_, key_);
  const bool string = type != nullptr && *type == "string";
  std::string fragment = arguments_++ == 0 ? "{" : ", ";
  fragment += json_quote(key_) + ": " + glm_argument_json(value, string);
  out.tool_calls.push_back(ToolCallDelta{calls_ - 1, std::nullopt, std::nullopt, std::move(fragment)});
  state_ = State::Arguments;
}

void GlmCallParser::close_call(MessageDelta& out) {
  out.tool_calls.push_back(ToolCallDelta{calls_ - 1, std::nullopt, std::nullopt, arguments_ == 0 ? "{}" : "}"});
  state_ = State::Text;
}

void GlmCallParser::drain(MessageDelta& out, bool at_end) {
  while (!pending_.empty()) {
    switch (state_) {
      case State::Text: {
        // Content up to a call; between calls only whitespace, which is dropped.
        const std::size_t call = pending_.find(kCallOpen);
        if (call == std::string::npos) {
          const std::size_t keep = at_end ? 0 : partial_tag_suffix(pending_, kCallOpen);
          std::string_view text(pending_.data(), pending_.size() - keep);
          if (calls_ > 0 && trim(text).empty() && !at_end) return;  // maybe another call follows
          if (!(calls_ > 0 && trim(text).empty())) out.content.append(text);
          pending_.erase(0, pending_.size() - keep);
          return;
        }
        const std::string_view before(pending_.data(), call);
        if (!(calls_ > 0 && trim(before).empty())) out.content.append(before);
        pending_.erase(0, call + kCallOpen.size());
        state_ = State::Name;
        break;
      }
      case State::Name: {
        // The name ends at its line's end, or at the first key (GLM-4.7) or the call's end.
        std::size_t end = pending_.find('\n');
        for (std::string_view tag : {kKeyOpen, kCallClose}) end = std::min(end, pending_.find(tag));
        if (end == std::string::npos) return;  // at the end, finish() takes the rest as the name
        const std::string name = pending_.substr(0, end);
        pending_.erase(0, end);
        open_call(name, out);
        break;
      }
      case State::Arguments: {
        const std::size_t key = pending_.find(kKeyOpen), close = pending_.find(kCallClose);
        if (close != std::string::npos && (key == std::string::npos || close < key)) {
          pending_.erase(0, close + kCallClose.size());
          close_call(out);
          break;
        }
        if (key == std::string::npos) return;
        pending_.erase(0, key + kKeyOpen.size());
        state_ = State::Key;
        break;
      }
      case State::Key: {
        const std::size_t close = pending_.find(kKeyClose);
        const std::size_t value = close == std::string::npos ? close : pending_.find(kValueOpen, close);
        if (value == std::string::npos) return;
        key_ = std::string(trim(std::string_view(pending_).substr(0, close)));
        pending_.erase(0, value + kValueOpen.size());
        state_ = State::Value;
        break;
      }
      case State::Value: {
        // The value ends at </arg_value>, or at the next key or the call's end if the model left it out.
        std::size_t end = pending_.find(kValueClose), skip = kValueClose.size();
        for (std::string_view tag : {kKeyOpen, kCallClose}) {
          const std::size_t at = pending_.find(tag);
          if (at < end) end = at, skip = 0;
        }
        if (end == std::string::npos) return;  // at the end, finish() takes the rest as the value
        const std::string value = pending_.substr(0, end);
        pending_.erase(0, end + skip);
        close_argument(value, out);
        break;
      }
    }
  }
}

}  // namespace troupe
