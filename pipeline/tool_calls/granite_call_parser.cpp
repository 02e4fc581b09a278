#include "pipeline/tool_calls/granite_call_parser.hpp"

#include <array>

namespace troupe {

namespace {

constexpr std::array<std::string_view, 2> kTags{"<|tool_call|>", "<tool_call>"};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

MessageDelta GraniteCallParser::push(std::string_view text) {
  if (state_ == State::Array) return array_.push(text);
  if (state_ == State::Text) return MessageDelta{.content = std::string(text)};
  held_ += text;
  // Blanks, at most one tag, blanks: then '[' begins the calls; anything else is content.
  std::string_view rest(held_);
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  for (const std::string_view tag : kTags) {
    if (rest.starts_with(tag)) {
      rest.remove_prefix(tag.size());
      while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
      break;
    }
    if (tag.starts_with(rest)) return {};  // blanks so far, or a tag still arriving
  }
  if (rest.empty()) return {};
  if (rest.front() == '[') {
    state_ = State::Array;
    MessageDelta out = array_.push(rest);
    held_.clear();
    return out;
  }
  state_ = State::Text;
  MessageDelta out{.content = std::move(held_)};
  held_.clear();
  return out;
}

MessageDelta GraniteCallParser::finish() {
  if (state_ == State::Array) return array_.finish();
  // Blanks or a tag alone: the reply as written.
  MessageDelta out{.content = std::move(held_)};
  held_.clear();
  return out;
}

}  // namespace troupe
