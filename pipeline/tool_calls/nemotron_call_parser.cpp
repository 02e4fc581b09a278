#include "pipeline/tool_calls/nemotron_call_parser.hpp"

#include "pipeline/tool_calls/call_object_scanner.hpp"  // partial_tag_suffix

namespace troupe {

namespace {

constexpr std::string_view kOpen = "<TOOLCALL>";

}  // namespace

MessageDelta NemotronCallParser::push(std::string_view text) {
  if (state_ == State::Calls) return array_.push(text);
  MessageDelta out;
  if (state_ == State::Text) {
    out.content = std::string(text);
    return out;
  }
  held_ += text;
  if (state_ == State::Content) {
    const std::size_t open = held_.find(kOpen);
    if (open == std::string::npos) {
      // Content, but for an end that may be the start of the tag.
      const std::size_t keep = partial_tag_suffix(held_, kOpen);
      out.content = held_.substr(0, held_.size() - keep);
      held_.erase(0, held_.size() - keep);
      return out;
    }
    out.content = held_.substr(0, open);
    held_.erase(0, open);
    state_ = State::Undecided;
  }
  // After <TOOLCALL>: '[' (after blanks) begins the calls; anything else makes the rest content.
  const std::size_t first = held_.find_first_not_of(" \t\r\n", kOpen.size());
  if (first == std::string::npos) return out;
  if (held_[first] == '[') {
    state_ = State::Calls;
    out.append(array_.push(std::string_view(held_).substr(first)));
  } else {
    state_ = State::Text;
    out.content += held_;
  }
  held_.clear();
  return out;
}

MessageDelta NemotronCallParser::finish() {
  if (state_ == State::Calls) return array_.finish();
  MessageDelta out{.content = std::move(held_)};  // text, or a tag with nothing after it, as written
  held_.clear();
  return out;
}

}  // namespace troupe
