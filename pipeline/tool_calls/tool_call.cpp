#include "pipeline/tool_calls/tool_call.hpp"

#include <cstdint>
#include <random>

#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

void MessageDelta::append(MessageDelta other) {
  content += other.content;
  for (ToolCallDelta& call : other.tool_calls) {
    // A fragment for the call the last delta already speaks of extends it — unless that delta is
    // the call's first, which keeps its empty arguments (OpenAI's shape).
    if (!tool_calls.empty() && tool_calls.back().index == call.index && !tool_calls.back().id && !call.id &&
        call.arguments) {
      ToolCallDelta& last = tool_calls.back();
      last.arguments = last.arguments.value_or("") + *call.arguments;
      continue;
    }
    tool_calls.push_back(std::move(call));
  }
}

std::string make_tool_call_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "chatcmpl-tool-";
  for (int word = 0; word < 2; ++word) {
    uint64_t bits = rng();
    for (int i = 0; i < 16; ++i, bits >>= 4) id += kHex[bits & 0xF];
  }
  return id;
}

std::string make_mistral_tool_call_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr std::string_view kAlphanumeric = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<std::size_t> pick(0, kAlphanumeric.size() - 1);
  std::string id;
  for (int i = 0; i < 9; ++i) id += kAlphanumeric[pick(rng)];
  return id;
}

std::string_view tool_call_format_name(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::Hermes: return "hermes";
    case ToolCallFormat::Llama3Json: return "llama3_json";
    case ToolCallFormat::Mistral: return "mistral";
  }
  return "hermes";
}

std::optional<ToolCallFormat> tool_call_format_of_template(std::string_view source) {
  if (source.find("<tool_call>") != std::string_view::npos) return ToolCallFormat::Hermes;
  if (source.find("[TOOL_CALLS]") != std::string_view::npos) return ToolCallFormat::Mistral;
  if (source.find("<|python_tag|>") != std::string_view::npos ||
      (source.find("ipython") != std::string_view::npos && source.find("<|start_header_id|>") != std::string_view::npos)) {
    return ToolCallFormat::Llama3Json;
  }
  return std::nullopt;
}

bool tool_call_format_from_name(const std::string& name, ToolCallFormat& format) {
  if (name == "hermes") {
    format = ToolCallFormat::Hermes;
    return true;
  }
  if (name == "llama3_json" || name == "llama4_json") {
    format = ToolCallFormat::Llama3Json;
    return true;
  }
  if (name == "mistral") {
    format = ToolCallFormat::Mistral;
    return true;
  }
  return false;
}

}  // namespace troupe
