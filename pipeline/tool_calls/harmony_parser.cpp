#include "pipeline/tool_calls/harmony_parser.hpp"

#include <array>

namespace troupe {
namespace {

constexpr std::string_view kStart = "<|start|>", kChannel = "<|channel|>", kMessage = "<|message|>";
constexpr std::array<std::string_view, 3> kEnds{"<|end|>", "<|return|>", "<|call|>"};
constexpr std::array<std::string_view, 7> kMarkers{"<|start|>", "<|channel|>", "<|message|>", "<|constrain|>",
                                                  "<|end|>",   "<|return|>",  "<|call|>"};

// Whether `tail` (which starts with '<') is the beginning of a marker not yet complete.
bool marker_prefix(std::string_view tail) {
  for (std::string_view m : kMarkers) {
    if (tail.size() < m.size() && m.starts_with(tail)) return true;
  }
  return false;
}

// The word after `key` in `header` (up to a space, a marker or the end); empty when absent.
std::string_view word_after(std::string_view header, std::string_view key) {
  const std::size_t at = header.find(key);
  if (at == std::string_view::npos) return {};
  std::string_view rest = header.substr(at + key.size());
  const std::size_t end = rest.find_first_of(" <\n");
  return rest.substr(0, end);
}

}  // namespace

MessageDelta HarmonyParser::push(std::string_view text) {
  MessageDelta out;
  pending_.append(text);
  drain(out, /*at_end=*/false);
  return out;
}

MessageDelta HarmonyParser::finish() {
  MessageDelta out;
  drain(out, /*at_end=*/true);
  pending_.clear();  // an unfinished header says nothing
  return out;
}

void HarmonyParser::emit(std::string_view text, MessageDelta& out) {
  if (text.empty()) return;
  switch (target_) {
    case Target::Content: out.content.append(text); break;
    case Target::Reasoning: out.reasoning.append(text); break;
    case Target::Call: {
      const int index = calls_ - 1;
      if (!out.tool_calls.empty() && out.tool_calls.back().index == index && !out.tool_calls.back().id) {
        out.tool_calls.back().arguments->append(text);
      } else {
        out.tool_calls.push_back(ToolCallDelta{index, std::nullopt, std::nullopt, std::string(text)});
      }
      break;
    }
  }
}

void HarmonyParser::open_message(std::string_view header, MessageDelta& out) {
  const std::string_view channel = word_after(header, kChannel);
  const std::string_view recipient = word_after(header, "to=");
  constexpr std::string_view kFunctions = "functions.";
  if (channel == "analysis") {
    target_ = Target::Reasoning;
  } else if (calls_allowed_ && recipient.starts_with(kFunctions) && recipient.size() > kFunctions.size()) {
    target_ = Target::Call;
    out.tool_calls.push_back(
        ToolCallDelta{calls_, make_tool_call_id(), std::string(recipient.substr(kFunctions.size())), std::string()});
    ++calls_;
  } else {
    target_ = Target::Content;  // final, a commentary preamble, or a call no tool was offered for
  }
}

void HarmonyParser::drain(MessageDelta& out, bool at_end) {
  while (!pending_.empty()) {
    if (state_ == State::Start) {
      // Between messages: a header begins with <|start|> or <|channel|>; anything else is text the
      // model wrote without one, taken as content.
      if (pending_.starts_with(kStart) || pending_.starts_with(kChannel)) {
        state_ = State::Header;
      } else if (pending_.front() == '<' && marker_prefix(pending_) && !at_end) {
        return;  // wait for the rest of the marker
      } else {
        target_ = Target::Content;
        state_ = State::Body;
      }
      continue;
    }
    if (state_ == State::Header) {
      const std::size_t at = pending_.find(kMessage);
      if (at == std::string::npos) return;  // the header goes on (or, at the end, never finished)
      open_message(std::string_view(pending_).substr(0, at), out);
      pending_.erase(0, at + kMessage.size());
      state_ = State::Body;
      continue;
    }
    // Body: text up to the next marker.
    const std::size_t at = pending_.find("<|");
    if (at == std::string::npos) {
      // A lone '<' at the end may begin a marker.
      const std::size_t keep = !at_end && pending_.back() == '<' ? 1 : 0;
      emit(std::string_view(pending_).substr(0, pending_.size() - keep), out);
      pending_.erase(0, pending_.size() - keep);
      return;
    }
    emit(std::string_view(pending_).substr(0, at), out);
    pending_.erase(0, at);
    bool ended = false;
    for (std::string_view end : kEnds) {
      if (pending_.starts_with(end)) {
        pending_.erase(0, end.size());
        ended = true;
        break;
      }
    }
    if (ended || pending_.starts_with(kStart) || pending_.starts_with(kChannel)) {
      state_ = State::Start;  // the message is over (a new header without an end marker ends it too)
      continue;
    }
    if (marker_prefix(pending_) && !at_end) return;
    emit(pending_.substr(0, 2), out);  // "<|" that begins no marker is text
    pending_.erase(0, 2);
  }
}

}  // namespace troupe
