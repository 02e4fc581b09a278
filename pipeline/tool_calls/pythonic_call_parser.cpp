#include "pipeline/tool_calls/pythonic_call_parser.hpp"

#include "pipeline/tool_calls/call_object_scanner.hpp"  // partial_tag_suffix, trim
#include "pipeline/tool_calls/python_calls.hpp"

namespace troupe {

void PythonicCallParser::close_block(std::string_view block, MessageDelta& out) {
  std::optional<std::vector<ToolCall>> calls = python_calls(trim(block));
  if (!calls) {
    failed_ = true;
    out.content += std::string(dialect_.open) + std::string(block);
    return;
  }
  for (ToolCall& call : *calls) {
    // OpenAI's shape: id, name and empty arguments first, then the arguments.
    out.tool_calls.push_back(ToolCallDelta{calls_, std::move(call.id), std::move(call.name), std::string()});
    out.tool_calls.push_back(ToolCallDelta{calls_, std::nullopt, std::nullopt, std::move(call.arguments)});
    ++calls_;
  }
}

std::string PythonicCallParser::held_content(std::string_view held) const {
  const std::size_t orphan = held.rfind(dialect_.close);
  return std::string(orphan == std::string_view::npos ? held : held.substr(orphan + dialect_.close.size()));
}

MessageDelta PythonicCallParser::push(std::string_view text) {
  MessageDelta out;
  pending_ += text;
  if (dialect_.open.empty()) {
    // pythonic: the first non-blank character decides; a list is read whole at the end.
    if (state_ == State::Undecided) {
      const std::string_view rest = trim(pending_);
      if (rest.empty()) return out;
      state_ = rest.front() == '[' ? State::Block : State::Plain;
    }
    if (state_ == State::Plain) {
      out.content = std::move(pending_);
      pending_.clear();
    }
    return out;
  }
  for (;;) {
    if (state_ == State::Text || state_ == State::After) {
      const std::size_t open = pending_.find(dialect_.open);
      if (open == std::string::npos) {
        if (state_ == State::After) return out;  // held until the reply ends or a block starts
        const std::size_t keep = partial_tag_suffix(pending_, dialect_.open);
        out.content += pending_.substr(0, pending_.size() - keep);
        pending_.erase(0, pending_.size() - keep);
        return out;
      }
      const std::string_view before = std::string_view(pending_).substr(0, open);
      out.content += state_ == State::After ? held_content(before) : std::string(before);
      pending_.erase(0, open + dialect_.open.size());
      state_ = State::Block;
      continue;
    }
    // Block: buffered until its close marker.
    const std::size_t close = pending_.find(dialect_.close);
    if (close == std::string::npos) return out;
    close_block(std::string_view(pending_).substr(0, close), out);
    if (failed_) out.content += dialect_.close;
    pending_.erase(0, close + dialect_.close.size());
    state_ = State::After;
  }
}

MessageDelta PythonicCallParser::finish() {
  MessageDelta out;
  switch (state_) {
    case State::Undecided:
    case State::Text:
    case State::Plain: out.content = std::move(pending_); break;
    case State::Block:
      // An unclosed block (the reply was cut short, or the format has no markers): read what there is.
      close_block(pending_, out);
      break;
    case State::After: out.content = held_content(pending_); break;
  }
  pending_.clear();
  return out;
}

}  // namespace troupe
