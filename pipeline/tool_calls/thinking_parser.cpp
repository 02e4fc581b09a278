#include "pipeline/tool_calls/thinking_parser.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <utility>

#include "pipeline/tool_calls/call_object_scanner.hpp"  // partial_tag_suffix, find_first_tag

namespace troupe {

namespace {

// The tool-call marker that closes the thoughts when their end is left out (vLLM's reading): Gemma 4's
// and Kimi K2's; "" for the other formats.
std::string_view call_marker(ReasoningFormat format) {
  return format == ReasoningFormat::Gemma4   ? "<|tool_call>"
         : format == ReasoningFormat::KimiK2 ? "<|tool_calls_section_begin|>"
                                             : "";
}

// Granite's phrases, each in its two spellings.
constexpr std::array<std::string_view, 2> kGraniteStart{"Here is my thought process:", "Here's my thought process:"};
constexpr std::array<std::string_view, 2> kGraniteEnd{"Here is my response:", "Here's my response:"};

// The texts that may open (close) the reasoning in `format`: one tag, or Granite's two spellings.
std::span<const std::string_view> starts(ReasoningFormat format, const std::string_view& one) {
  return format == ReasoningFormat::Granite ? std::span<const std::string_view>(kGraniteStart) : std::span(&one, 1);
}
std::span<const std::string_view> ends(ReasoningFormat format, const std::string_view& one) {
  return format == ReasoningFormat::Granite ? std::span<const std::string_view>(kGraniteEnd) : std::span(&one, 1);
}

}  // namespace

std::string_view reasoning_start(ReasoningFormat format) {
  return format == ReasoningFormat::Mistral   ? "[THINK]"
         : format == ReasoningFormat::SeedOss ? "<seed:think>"
         : format == ReasoningFormat::Granite ? kGraniteStart[0]
         : format == ReasoningFormat::Gemma4  ? "<|channel>thought"
                                              : "<think>";
}
std::string_view reasoning_end(ReasoningFormat format) {
  return format == ReasoningFormat::Mistral   ? "[/THINK]"
         : format == ReasoningFormat::SeedOss ? "</seed:think>"
         : format == ReasoningFormat::Granite ? kGraniteEnd[0]
         : format == ReasoningFormat::Gemma4  ? "<channel|>"
                                              : "</think>";
}

MessageDelta ThinkingParser::push(std::string_view text) {
  MessageDelta out;
  pending_.append(text);
  drain(out, /*at_end=*/false);
  return out;
}

MessageDelta ThinkingParser::finish() {
  MessageDelta out;
  drain(out, /*at_end=*/true);
  if (content_) out.append(content_->finish());
  return out;
}

void ThinkingParser::to_content(std::string_view text, MessageDelta& out) {
  if (text.empty()) return;
  if (content_) {
    out.append(content_->push(text));
  } else {
    out.content.append(text);
  }
}

void ThinkingParser::drain(MessageDelta& out, bool at_end) {
  const std::string_view kOpen = reasoning_start(format_), kClose = reasoning_end(format_);
  const std::span<const std::string_view> opens = starts(format_, kOpen), closes = ends(format_, kClose);
  if (state_ == State::Start) {
    const auto opened = std::find_if(opens.begin(), opens.end(), [&](std::string_view t) { return pending_.starts_with(t); });
    const bool partly = std::any_of(opens.begin(), opens.end(), [&](std::string_view t) { return t.starts_with(pending_); });
    if (format_ == ReasoningFormat::AppendThink) {  // all content, the prompt's <think> first
      to_content(kOpen, out);
      state_ = State::Content;
    } else if (format_ == ReasoningFormat::Mistral) {
      state_ = State::BeforeReasoning;
    } else if (opened != opens.end()) {
      pending_.erase(0, opened->size());
      state_ = State::Reasoning;
    } else if (partly && !at_end) {
      return;  // "<thi" so far
    } else {
      const bool starts_inside = format_ == ReasoningFormat::DeepSeekR1 || format_ == ReasoningFormat::SeedOss ||
                                 format_ == ReasoningFormat::KimiK2;
      state_ = starts_inside ? State::Reasoning : State::Content;
    }
  }
  while (state_ == State::BeforeReasoning) {
    const std::size_t open = pending_.find(kOpen), close = pending_.find(kClose);
    if (close < open) {  // a stray [/THINK]: dropped, the text around it content
      to_content(std::string_view(pending_).substr(0, close), out);
      pending_.erase(0, close + kClose.size());
      continue;
    }
    if (open == std::string::npos) {
      const std::size_t keep = at_end ? 0 : std::max(partial_tag_suffix(pending_, kOpen), partial_tag_suffix(pending_, kClose));
      to_content(std::string_view(pending_).substr(0, pending_.size() - keep), out);
      pending_.erase(0, pending_.size() - keep);
      return;
    }
    to_content(std::string_view(pending_).substr(0, open), out);
    pending_.erase(0, open + kOpen.size());
    state_ = State::Reasoning;
  }
  if (state_ == State::Reasoning && format_ == ReasoningFormat::Gemma4 && !reasoned_) {
    // Gemma 4 writes "<|channel>thought" and a newline before its thoughts: the whitespace goes.
    const std::size_t text = pending_.find_first_not_of(" \t\r\n");
    pending_.erase(0, text == std::string::npos ? pending_.size() : text);
    if (pending_.empty() && !at_end) return;
    reasoned_ = true;
  }
  const std::string_view marker = call_marker(format_);
  if (state_ == State::Reasoning && !marker.empty()) {
    // A call ends the thoughts too (Gemma 4, Kimi K2): the marker goes on to the call parser.
    const std::size_t call = pending_.find(marker);
    if (call != std::string::npos && call < find_first_tag(pending_, closes).first) {
      out.reasoning.append(pending_, 0, call);
      pending_.erase(0, call);
      state_ = State::Content;
    }
  }
  if (state_ == State::Reasoning) {
    const auto [close, length] = find_first_tag(pending_, closes);
    if (close == std::string::npos) {
      std::size_t keep = at_end ? 0 : partial_tags_suffix(pending_, closes);
      if (!marker.empty() && !at_end) keep = std::max(keep, partial_tag_suffix(pending_, marker));
      out.reasoning.append(pending_, 0, pending_.size() - keep);
      pending_.erase(0, pending_.size() - keep);
      return;
    }
    out.reasoning.append(pending_, 0, close);
    pending_.erase(0, close + length);
    state_ = State::Content;
  }
  to_content(pending_, out);
  pending_.clear();
}

std::optional<int32_t> grammar_start_token(ReasoningFormat format, std::optional<int32_t> end_token,
                                           std::span<const int32_t> prompt,
                                           const std::function<std::string(std::span<const int32_t>)>& text_of) {
  if (format == ReasoningFormat::None || format == ReasoningFormat::Mistral || !end_token) return std::nullopt;
  for (std::size_t i = prompt.size(); i-- > 0;) {
    if (prompt[i] != *end_token) continue;
    const std::string after = text_of(prompt.subspan(i + 1));
    const bool closes = after.find_first_not_of(" \t\r\n") == std::string::npos;
    return closes ? std::nullopt : end_token;
  }
  return end_token;
}

bool prompt_opens_reasoning(ReasoningFormat format, std::span<const int32_t> prompt,
                            const std::function<std::string(std::span<const int32_t>)>& text_of) {
  if (format != ReasoningFormat::Qwen3 || prompt.empty()) return false;
  // The last tokens hold the opening tag and the whitespace after it (one or two tokens in the
  // vocabularies of these models; more where the tag is spelled out in pieces).
  const std::string tail = text_of(prompt.subspan(prompt.size() - std::min<std::size_t>(prompt.size(), 16)));
  const std::size_t end = tail.find_last_not_of(" \t\r\n");
  const std::string_view start = reasoning_start(format);
  return end != std::string::npos && std::string_view(tail).substr(0, end + 1).ends_with(start);
}

}  // namespace troupe
