#include "pipeline/tool_calls/nemotron_call_parser.hpp"

#include "pipeline/tool_calls/call_object_scanner.hpp"  // partial_tag_suffix

namespace troupe {

namespace {

constexpr std::string_view kOpen = "<TOOLCALL>";

}  // namespace

MessageDelta NemotronCallParser::push(std::string_view text) {
  if (in_calls_) return array_.push(text);
  held_ += text;
  MessageDelta out;
  const std::size_t open = held_.find(kOpen);
  if (open == std::string::npos) {
    // Content, but for an end that may be the start of the tag.
    const std::size_t keep = partial_tag_suffix(held_, kOpen);
    out.content = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
  }
  out.content = held_.substr(0, open);
  in_calls_ = true;
  out.append(array_.push(std::string_view(held_).substr(open + kOpen.size())));
  held_.clear();
  return out;
}

MessageDelta NemotronCallParser::finish() {
  if (in_calls_) return array_.finish();
  MessageDelta out{.content = std::move(held_)};
  held_.clear();
  return out;
}

}  // namespace troupe
