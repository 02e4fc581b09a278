#pragma once
// How a chat request's output turns into tool calls, decided from `tools`, `tool_choice` and the
// server's --enable-auto-tool-choice / --tool-call-parser.
#include <optional>
#include <string>
#include <map>
#include <string_view>

namespace troupe {

enum class ToolCallFormat {
  Hermes,      // <tool_call>{"name": ..., "arguments": {...}}</tool_call> (Qwen2.5, Qwen3, Hermes)
  Llama3Json,  // [<|python_tag|>]{"name": ..., "parameters": {...}}; {...} (Llama 3.1 / 3.2)
  Mistral,     // [TOOL_CALLS][{"name": ..., "arguments": {...}}, ...] or, from tokenizer v11,
               // [TOOL_CALLS]name[ARGS]{...} per call (Mistral 7B v0.3, NeMo, Small 3, Devstral)
  Harmony,     // gpt-oss's channels: commentary to=functions.NAME <|message|>{...}<|call|>; its
               // replies are parsed (reasoning, content) even without tools (harmony_parser.hpp)
  Qwen3Coder,  // <tool_call><function=NAME><parameter=P>value</parameter></function></tool_call>
               // (Qwen3-Coder, Qwen3.5; xml_call_parser.hpp)
  Glm45,       // <tool_call>NAME <arg_key>K</arg_key><arg_value>V</arg_value></tool_call>
               // (GLM-4.5, 4.6, 4.7; glm_call_parser.hpp)
  MinimaxM2,   // <minimax:tool_call><invoke name="NAME"><parameter name="P">value</parameter></invoke>...
               // </minimax:tool_call> (MiniMax-M2; xml_call_parser.hpp)
  SeedOss,     // Qwen3Coder's calls in <seed:tool_call> blocks (Seed-OSS; xml_call_parser.hpp)
  Lfm2,        // <|tool_call_start|>[name(key=value, ...), ...]<|tool_call_end|>: Python calls
               // (LFM2, LFM2.5; pythonic_call_parser.hpp)
  Pythonic,    // the whole reply a Python list of calls (Llama 3.2 / 4 with pythonic templates)
  Granite,     // [<|tool_call|>][{"name": ..., "arguments": {...}}, ...] (Granite 3.x; granite_call_parser.hpp)
  Gemma4,      // <|tool_call>call:name{key:value,...}<tool_call|> in Gemma's notation (Gemma 4; gemma4_call_parser.hpp)
  KimiK2,      // <|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:0<|tool_call_argument_begin|>{...}
               // <|tool_call_end|>...<|tool_calls_section_end|> (Kimi K2; kimi_k2_call_parser.hpp)
  NemotronJson,  // text, then <TOOLCALL>[{"name": ..., "arguments": {...}}, ...]</TOOLCALL> (Nemotron Nano 2;
                 // nemotron_call_parser.hpp)
};

// Per function, per parameter: the JSON Schema type the request's tools give it ("" when the
// schema names none), for the formats that write parameters as text (Qwen3Coder, Glm45, MinimaxM2, SeedOss).
using ParameterTypes = std::map<std::string, std::map<std::string, std::string>>;

// Whether `format` writes each parameter as text, which the request's tool schema types.
inline bool writes_parameters_as_text(ToolCallFormat format) {
  return format == ToolCallFormat::Qwen3Coder || format == ToolCallFormat::Glm45 || format == ToolCallFormat::MinimaxM2 ||
         format == ToolCallFormat::SeedOss;
}

// The type `types` gives `function`'s `parameter`; nullptr when the tools do not list it.
inline const std::string* parameter_type(const ParameterTypes& types, const std::string& function,
                                         const std::string& parameter) {
  const auto f = types.find(function);
  if (f == types.end()) return nullptr;
  const auto p = f->second.find(parameter);
  return p == f->second.end() ? nullptr : &p->second;
}

// vLLM's --reasoning-parser: how a reply's reasoning is told from its content (thinking_parser.hpp).
// gpt-oss's harmony channels are parsed whenever the format is Harmony, with or without it.
// Mistral: between [THINK] and [/THINK] (Magistral, Ministral 3 Reasoning), control tokens.
// SeedOss: DeepSeekR1's rule between <seed:think> and </seed:think> (Seed-OSS).
// AppendThink: nothing split off; the reply, which its template opened inside <think>, is content
// with that <think> put back in front (vLLM's minimax_m2_append_think).
// Granite: qwen3's rule with phrases for tags, "Here is my thought process:" (or "Here's ...") and
// "Here is my response:" (or "Here's ..."), as Granite 3.2 and 3.3 write them when asked to think.
// Gemma4: qwen3's rule between <|channel>thought and <channel|> (control tokens; the whitespace
// after "thought" dropped), as Gemma 4 writes its thinking channel.
// KimiK2: DeepSeekR1's rule (vLLM's kimi_k2 in its default, thinking mode), a tool-call section
// (<|tool_calls_section_begin|>) ending thoughts left open, as vLLM's parser reads Kimi K2 Thinking.
enum class ReasoningFormat { None, DeepSeekR1, Qwen3, Mistral, SeedOss, AppendThink, Granite, Gemma4, KimiK2 };

struct ToolCallMode {
  enum class Kind {
    None,      // plain text: no tools, tool_choice "none", or auto tools not enabled
    Auto,      // the model may call tools in `format`; the parser finds them in its text
    Required,  // constrained to a JSON array of {"name", "parameters"} objects (minItems 1)
    Named,     // constrained to the arguments of `function_name`: the whole text is its arguments
  };
  Kind kind = Kind::None;
  ToolCallFormat format = ToolCallFormat::Hermes;
  std::string function_name;  // Kind::Named
  // Reasoning split off before the tool-call format reads the rest (Kind::None and Auto only: a
  // forced call's JSON constraint leaves no room for it).
  ReasoningFormat reasoning = ReasoningFormat::None;
  // The prompt ended inside a reasoning block the chat template opened (prompt_opens_reasoning):
  // a qwen3 reply starts in reasoning. Known once the prompt is tokenized (the first event says).
  bool reasoning_opened = false;
  ParameterTypes parameter_types;  // Qwen3Coder, Glm45, MinimaxM2, SeedOss: from the request's tools
};

// The --tool-call-parser names: "hermes", "llama3_json" (and vLLM's alias "llama4_json"), "mistral",
// "openai" (vLLM's name for gpt-oss's harmony), "qwen3_coder", "glm45" (and "glm47"), "minimax_m2", "seed_oss",
// "lfm2", "pythonic", "granite", "nemotron_json" (the name of NVIDIA's vLLM plugin for Nemotron Nano 2),
// "gemma4", "kimi_k2".
bool tool_call_format_from_name(const std::string& name, ToolCallFormat& format);
// "hermes, llama3_json, ...": every --tool-call-parser name, for messages that list them.
std::string tool_call_parser_names();
std::string_view tool_call_format_name(ToolCallFormat format);

// The --reasoning-parser names: "deepseek_r1", "qwen3" (and "glm45", GLM-4.5's, and "nemotron_v3",
// Nemotron 3's, which split as qwen3 does: the reply reasons when it opens with <think>, or when the
// prompt did), "granite" (Granite 3.2/3.3's phrases), "mistral", "seed_oss", "minimax_m2" (as
// deepseek_r1), "minimax_m2_append_think", and "openai_gptoss" (gpt-oss: harmony,
// which sets no ReasoningFormat but the Harmony tool-call format). False for any other name.
bool reasoning_format_from_name(const std::string& name, ReasoningFormat& reasoning, bool& harmony);
// "deepseek_r1, qwen3, ...": every --reasoning-parser name, for messages that list them.
std::string reasoning_parser_names();

// The format a chat template asks tool calls in, read off the template's text as llama.cpp's
// server reads it: one that writes <tool_call> blocks is Hermes (Qwen2.5, Qwen3, Hermes, ChatML
// coders), one with Llama 3.1's ipython turn or <|python_tag|> is llama3_json, one that writes
// [TOOL_CALLS] is Mistral's, one with harmony's <|channel|> gpt-oss's, one with <function= (checked
// before <tool_call>) Qwen3-Coder's, one with <arg_key> GLM-4.5's, one with <minimax:tool_call>
// MiniMax-M2's, one with <seed:tool_call> (checked before <function=) Seed-OSS's, a ChatML one that
// lists the tools as "List of tools: " (LFM2's and LFM2.5's, whose calls the template does not
// write back) or writes <|tool_call_start|> LFM2's, one that writes <TOOLCALL> Nemotron Nano 2's; nullopt when the
// template renders no tool call troupe can parse (SmolLM2, Gemma, most base models).
std::optional<ToolCallFormat> tool_call_format_of_template(std::string_view template_source);

}  // namespace troupe
