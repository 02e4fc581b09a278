#pragma once
// What shapes the response of one generation request, kept by the HTTP layer once the request
// itself has gone to the engine.
#include <optional>
#include <string>

#include "pipeline/openai/response_identity.hpp"
#include "pipeline/request/generation_request.hpp"
#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

struct ResponseOptions {
  Endpoint endpoint = Endpoint::Completions;
  ResponseIdentity identity;
  int choices = 1;                 // n per prompt × prompts
  bool with_logprobs = false;
  bool include_usage = false;      // stream_options.include_usage
  bool continuous_usage = false;   // stream_options.continuous_usage_stats (with include_usage)
  ToolCallMode tool_calls;         // chat: how each choice's text becomes tool calls
  bool parallel_tool_calls = true; // false: only a choice's first call is reported
  bool return_token_ids = false;   // vLLM's token_ids / prompt_token_ids fields
  bool prompt_logprobs = false;    // vLLM's prompt_logprobs field (non-streaming)
  // Chat echo (vLLM's): the text put before each choice's content; "" when the last message is
  // not the assistant's.
  std::optional<std::string> chat_echo;
};

ResponseOptions response_options(const GenerationRequest& request, ResponseIdentity identity);

}  // namespace troupe
