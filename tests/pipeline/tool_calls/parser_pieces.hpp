#pragma once
// What the tool-call parser tests share: a reply fed to a parser in pieces of `piece` bytes, as a
// stream delivers it (markers and tags split anywhere), the deltas appended; and one call's
// arguments gathered from such deltas.
#include <cstddef>
#include <string>
#include <string_view>

#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe::test {

inline MessageDelta fed_in_pieces(ToolCallParser& parser, std::string_view text, std::size_t piece) {
  MessageDelta all;
  for (std::size_t at = 0; at < text.size(); at += piece) all.append(parser.push(text.substr(at, piece)));
  all.append(parser.finish());
  return all;
}

inline std::string arguments_of(const MessageDelta& delta, int index) {
  std::string args;
  for (const ToolCallDelta& call : delta.tool_calls) {
    if (call.index == index && call.arguments) args += *call.arguments;
  }
  return args;
}

}  // namespace troupe::test
