#include "pipeline/tool_calls/kimi_k2_call_parser.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "pipeline/tool_calls/call_object_scanner.hpp"  // find_first_tag, partial_tags_suffix, trim
#include "pipeline/tool_calls/xml_call_parser.hpp"      // whole_json_value

namespace troupe {
namespace {

constexpr std::array<std::string_view, 2> kSectionBegin{"<|tool_calls_section_begin|>", "<|tool_call_section_begin|>"};
constexpr std::array<std::string_view, 2> kSectionEnd{"<|tool_calls_section_end|>", "<|tool_call_section_end|>"};
constexpr std::string_view kCallBegin = "<|tool_call_begin|>", kArgumentBegin = "<|tool_call_argument_begin|>",
                           kCallEnd = "<|tool_call_end|>";

// "functions.get_weather:0" -> "get_weather".
std::string_view name_of(std::string_view id) {
  if (const std::size_t colon = id.rfind(':'); colon != std::string_view::npos) id = id.substr(0, colon);
  if (id.starts_with("functions.")) id.remove_prefix(std::string_view("functions.").size());
  return trim(id);
}

}  // namespace

MessageDelta KimiK2CallParser::push(std::string_view text) {
  MessageDelta out;
  pending_.append(text);
  drain(out, /*at_end=*/false);
  return out;
}

MessageDelta KimiK2CallParser::finish() {
  MessageDelta out;
  drain(out, /*at_end=*/true);
  // Cut off inside a call: the reply is no whole set of calls.
  if (state_ == State::Id || state_ == State::Arguments) failed_ = true;
  pending_.clear();
  return out;
}

void KimiK2CallParser::drain(MessageDelta& out, bool at_end) {
  while (!pending_.empty() && !failed_) {
    switch (state_) {
      case State::Text: {
        const auto [open, length] = find_first_tag(pending_, kSectionBegin);
        const std::size_t end =
            open != std::string::npos ? open : pending_.size() - (at_end ? 0 : partial_tags_suffix(pending_, kSectionBegin));
        out.content.append(pending_, 0, end);
        if (open == std::string::npos) {
          pending_.erase(0, end);
          return;
        }
        pending_.erase(0, open + length);
        state_ = State::Section;
        continue;
      }
      case State::Section: {
        const std::string_view rest = trim(pending_);
        if (rest.starts_with(kCallBegin)) {
          pending_.erase(0, pending_.find(kCallBegin) + kCallBegin.size());
          state_ = State::Id;
          continue;
        }
        const auto [close, length] = find_first_tag(rest, kSectionEnd);
        if (close == 0) {
          pending_.clear();
          state_ = State::Done;
          return;
        }
        const bool partial = kCallBegin.starts_with(rest) || kSectionEnd[0].starts_with(rest) || kSectionEnd[1].starts_with(rest);
        if (partial && !at_end) return;
        failed_ = !rest.empty();  // anything else between calls is no call
        pending_.clear();
        return;
      }
      case State::Id: {
        const std::size_t arguments = pending_.find(kArgumentBegin);
        if (arguments == std::string::npos) return;
        const std::string id(trim(std::string_view(pending_).substr(0, arguments)));
        const std::string_view name = name_of(id);
        if (name.empty()) {
          failed_ = true;
          return;
        }
        out.tool_calls.push_back(ToolCallDelta{calls_++, id, std::string(name), std::string()});
        pending_.erase(0, arguments + kArgumentBegin.size());
        state_ = State::Arguments;
        continue;
      }
      case State::Arguments: {
        const std::size_t end = pending_.find(kCallEnd);
        if (end == std::string::npos) return;
        const std::string_view arguments = trim(std::string_view(pending_).substr(0, end));
        if (!arguments.starts_with('{') || whole_json_value(arguments).empty()) {
          failed_ = true;
          return;
        }
        out.tool_calls.push_back(ToolCallDelta{calls_ - 1, std::nullopt, std::nullopt, std::string(arguments)});
        pending_.erase(0, end + kCallEnd.size());
        state_ = State::Section;
        continue;
      }
      case State::Done:
        pending_.clear();
        return;
    }
  }
}

}  // namespace troupe
