#include "pipeline/tool_calls/tool_call.hpp"

#include <cstdint>
#include <random>
#include <string_view>
#include <utility>

#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

void MessageDelta::append(MessageDelta other) {
  content += other.content;
  reasoning += other.reasoning;
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

namespace {

// `prefix` then `length` characters drawn uniformly from `alphabet`, from one generator per thread.
std::string random_id(std::string_view prefix, std::string_view alphabet, int length) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string id(prefix);
  for (int i = 0; i < length; ++i) id += alphabet[pick(rng)];
  return id;
}

}  // namespace

std::string make_tool_call_id() { return random_id("chatcmpl-tool-", "0123456789abcdef", 32); }

std::string make_mistral_tool_call_id() {
  return random_id("", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 9);
}

std::string_view tool_call_format_name(ToolCallFormat format) {
  switch (format) {
    case ToolCallFormat::Hermes: return "hermes";
    case ToolCallFormat::Llama3Json: return "llama3_json";
    case ToolCallFormat::Mistral: return "mistral";
    case ToolCallFormat::Harmony: return "openai";
    case ToolCallFormat::Qwen3Coder: return "qwen3_coder";
    case ToolCallFormat::Glm45: return "glm45";
    case ToolCallFormat::MinimaxM2: return "minimax_m2";
    case ToolCallFormat::SeedOss: return "seed_oss";
    case ToolCallFormat::Lfm2: return "lfm2";
    case ToolCallFormat::Pythonic: return "pythonic";
    case ToolCallFormat::Granite: return "granite";
    case ToolCallFormat::NemotronJson: return "nemotron_json";
    case ToolCallFormat::Gemma4: return "gemma4";
    case ToolCallFormat::KimiK2: return "kimi_k2";
  }
  return "hermes";
}

std::optional<ToolCallFormat> tool_call_format_of_template(std::string_view source) {
  if (source.find("<|channel|>") != std::string_view::npos) return ToolCallFormat::Harmony;
  if (source.find("<|tool_call>call:") != std::string_view::npos) return ToolCallFormat::Gemma4;
  if (source.find("<|tool_calls_section_begin|>") != std::string_view::npos) return ToolCallFormat::KimiK2;
  if (source.find("<minimax:tool_call>") != std::string_view::npos) return ToolCallFormat::MinimaxM2;
  if (source.find("<seed:tool_call>") != std::string_view::npos) return ToolCallFormat::SeedOss;
  if (source.find("<function=") != std::string_view::npos) return ToolCallFormat::Qwen3Coder;
  if (source.find("<arg_key>") != std::string_view::npos) return ToolCallFormat::Glm45;
  if (source.find("<tool_call>") != std::string_view::npos) return ToolCallFormat::Hermes;
  if (source.find("<|tool_call|>") != std::string_view::npos) return ToolCallFormat::Granite;  // Granite 3.x
  if (source.find("<TOOLCALL>") != std::string_view::npos) return ToolCallFormat::NemotronJson;  // Nemotron Nano 2
  if (source.find("<|tool_call_start|>") != std::string_view::npos ||
      (source.find("List of tools: ") != std::string_view::npos && source.find("<|im_start|>") != std::string_view::npos)) {
    return ToolCallFormat::Lfm2;
  }
  if (source.find("[TOOL_CALLS]") != std::string_view::npos) return ToolCallFormat::Mistral;
  // Llama 3's (<|start_header_id|>) and Llama 4's (<|header_start|>, <|python_start|>) JSON calls.
  if (source.find("<|python_tag|>") != std::string_view::npos || source.find("<|python_start|>") != std::string_view::npos ||
      (source.find("ipython") != std::string_view::npos && source.find("<|start_header_id|>") != std::string_view::npos)) {
    return ToolCallFormat::Llama3Json;
  }
  return std::nullopt;
}

namespace {

// vLLM's --reasoning-parser names (minimax_m2 is deepseek_r1's rule under its name; glm45 and
// nemotron_v3 are qwen3's). openai_gptoss sets no format: harmony's channels.
constexpr std::pair<std::string_view, ReasoningFormat> kReasoningNames[] = {
    {"deepseek_r1", ReasoningFormat::DeepSeekR1}, {"qwen3", ReasoningFormat::Qwen3},
    {"glm45", ReasoningFormat::Qwen3},            {"nemotron_v3", ReasoningFormat::Qwen3},
    {"granite", ReasoningFormat::Granite},        {"gemma4", ReasoningFormat::Gemma4},
    {"kimi_k2", ReasoningFormat::KimiK2},
    {"mistral", ReasoningFormat::Mistral},
    {"seed_oss", ReasoningFormat::SeedOss},       {"minimax_m2", ReasoningFormat::DeepSeekR1},
    {"minimax_m2_append_think", ReasoningFormat::AppendThink}, {"openai_gptoss", ReasoningFormat::None},
};

}  // namespace

std::string reasoning_parser_names() {
  std::string names;
  for (const auto& [name, format] : kReasoningNames) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

bool reasoning_format_from_name(const std::string& name, ReasoningFormat& reasoning, bool& harmony) {
  harmony = false;
  reasoning = ReasoningFormat::None;
  for (const auto& [known, format] : kReasoningNames) {
    if (name != known) continue;
    reasoning = format;
    harmony = name == "openai_gptoss";
    return true;
  }
  return false;
}

namespace {

// vLLM's --tool-call-parser names (llama4_json and glm47 are its aliases).
constexpr std::pair<std::string_view, ToolCallFormat> kNames[] = {
      {"hermes", ToolCallFormat::Hermes},          {"llama3_json", ToolCallFormat::Llama3Json},
      {"llama4_json", ToolCallFormat::Llama3Json}, {"mistral", ToolCallFormat::Mistral},
      {"openai", ToolCallFormat::Harmony},         {"qwen3_coder", ToolCallFormat::Qwen3Coder},
      {"glm45", ToolCallFormat::Glm45},            {"glm47", ToolCallFormat::Glm45},
      {"minimax_m2", ToolCallFormat::MinimaxM2},   {"seed_oss", ToolCallFormat::SeedOss},
      {"lfm2", ToolCallFormat::Lfm2},              {"pythonic", ToolCallFormat::Pythonic},
      {"granite", ToolCallFormat::Granite},        {"nemotron_json", ToolCallFormat::NemotronJson},
      {"gemma4", ToolCallFormat::Gemma4},          {"kimi_k2", ToolCallFormat::KimiK2},
};

}  // namespace

std::string tool_call_parser_names() {
  std::string names;
  for (const auto& [name, format] : kNames) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

bool tool_call_format_from_name(const std::string& name, ToolCallFormat& format) {
  for (const auto& [known, value] : kNames) {
    if (name == known) {
      format = value;
      return true;
    }
  }
  return false;
}

}  // namespace troupe
