#pragma once
// What request parsing needs to know about the server: the model name clients must ask for and
// the context length that bounds max_tokens.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

struct ApiContext {
  std::string served_model_name;
  int64_t max_model_len = 0;  // 0: unknown, max_tokens is then only checked to be positive
  // tool_choice "auto" (and tools without a tool_choice): the model may call tools, parsed in
  // tool_call_format (--tool-call-parser, else the chat template's); without a format it answers
  // in text. Off (--disable-auto-tool-choice): vLLM's 400.
  bool enable_auto_tool_choice = true;
  std::optional<ToolCallFormat> tool_call_format;
  // --reasoning-parser: chat replies' reasoning split off as `reasoning` (thinking_parser.hpp).
  ReasoningFormat reasoning = ReasoningFormat::None;
  // --structured-outputs-config's disable_any_whitespace: the default of every JSON constraint
  // (forced tool calls included); a request's structured_outputs.disable_any_whitespace overrides.
  bool disable_any_whitespace = false;
  // Reported as system_fingerprint: the troupe version and a hash of what shapes the output
  // (model, dtype, context length), so a client can tell when the backend configuration changed.
  std::string system_fingerprint;
  // Logit row width of the model (its config's vocab_size): token ids in logit_bias,
  // allowed_token_ids and stop_token_ids must be below it. 0: unknown, only negative ids refused.
  int64_t vocab_size = 0;
};

// StopCriteria::max_tokens for a chat request that did not set max_tokens /
// max_completion_tokens: "as many as the context leaves". The prompt length is only known after
// tokenizing, so the engine replaces this value with max_model_len - prompt tokens; an explicit
// value larger than that is the client's error, this one never is.
inline constexpr int64_t kMaxTokensFromContext = std::numeric_limits<int64_t>::max();

// Completions' default when max_tokens is absent (OpenAI and vLLM).
inline constexpr int64_t kCompletionsDefaultMaxTokens = 16;

// Most choices one request may ask for (OpenAI's limit). The most top logprobs per token is
// kMaxTopLogprobs in pipeline/sampling/sampler.hpp.
inline constexpr int64_t kMaxChoices = 128;

}  // namespace troupe
