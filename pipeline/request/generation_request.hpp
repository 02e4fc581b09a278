#pragma once
// One client request as the serving pipeline sees it, after the HTTP layer has parsed and
// validated the OpenAI JSON (pipeline/openai/) and before tokenization. Everything here is plain
// data: it crosses actor boundaries by value.
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pipeline/request/request_timeline.hpp"
#include "pipeline/request/structured_output_request.hpp"
#include "pipeline/sampling/sampler.hpp"
#include "pipeline/tool_calls/tool_call_mode.hpp"

namespace troupe {

// When a sequence stops. Token-level criteria (max/min tokens, eos, stop ids) are applied by the
// scheduler; stop strings by the request's output processor, on detokenized text.
struct StopCriteria {
  int64_t max_tokens = 16;                 // new tokens per choice; capped by the context left
  int64_t min_tokens = 0;                  // eos and stop ids are ignored before this many tokens
  std::vector<std::string> stop;           // stop strings: matched across token boundaries, never emitted
  std::vector<int32_t> stop_token_ids;     // extra ids that end a choice (finish_reason "stop")
  bool ignore_eos = false;
  bool include_stop_str_in_output = false;
};

enum class Endpoint { Completions, ChatCompletions };

// One completions prompt: text, or token ids (then `text` is empty).
struct PromptInput {
  std::string text;
  std::vector<int32_t> ids;
};

struct GenerationRequest {
  std::string id;  // "cmpl-…" or "chatcmpl-…", unique per server run
  Endpoint endpoint = Endpoint::Completions;
  std::string model;  // the served model name the client asked for

  // Completions: a text prompt, or token ids (then `prompt` is empty).
  std::string prompt;
  std::vector<int32_t> prompt_ids;
  // Completions: prepend the prompt to the output. Chat (vLLM's): prepend the last message's
  // content when it is the assistant's (a reply being continued).
  bool echo = false;
  // Completions with several prompts ("prompt": ["A", "B"] or [[1, 2], [3]]): every one, in order,
  // and `prompt` / `prompt_ids` unused. Choice j of prompt p is reported as index p * n + j, as the
  // OpenAI API numbers them.
  std::vector<PromptInput> batch;
  int num_prompts() const { return batch.empty() ? 1 : static_cast<int>(batch.size()); }
  // Prompt p of this request (the single prompt when there is no batch).
  PromptInput prompt_at(int p) const { return batch.empty() ? PromptInput{prompt, prompt_ids} : batch.at(static_cast<std::size_t>(p)); }

  // Chat: OpenAI messages, rendered with the model's chat template.
  boost::json::array messages;
  std::optional<boost::json::array> tools;  // rendered into the prompt (tool_choice "none" included)
  ToolCallMode tool_calls;                   // how the output becomes tool calls
  // tool_choice "auto" on a model with no tool-call format: answered in text (counted on /metrics).
  bool auto_tools_as_text = false;
  bool parallel_tool_calls = true;           // false: a reply keeps only its first call
  boost::json::object chat_template_kwargs;  // extra template variables (enable_thinking, ...)
  bool add_generation_prompt = true;
  bool continue_final_message = false;       // the last (assistant) message is continued, left open

  SamplingParams sampling;
  // vLLM's bad_words as the client wrote them (distinct, in order). The tokenizer actor turns them
  // into token sequences for sampling.logit_rules (pipeline/sampling/logit_rules.hpp).
  std::vector<std::string> bad_words;
  StopCriteria stop;
  // Output constrained by a grammar mask (response_format, structured outputs, forced tool calls).
  std::optional<StructuredOutputRequest> structured_output;
  int n = 1;                       // choices, each its own sequence sharing the prompt's KV blocks
  bool stream = false;
  bool include_usage = false;      // stream_options.include_usage
  bool continuous_usage_stats = false;  // stream_options.continuous_usage_stats: usage on every chunk
  std::optional<int> logprobs;     // completions: top-N per token; chat: set when logprobs=true
                                   // (value = top_logprobs, 0 for the chosen token only)
  std::optional<int> prompt_logprobs;  // vLLM's: top-N per prompt token (non-streaming only)
  // vLLM's truncate_prompt_tokens: only the last N tokens of each (rendered) prompt are kept; 0 or
  // unset keeps all.
  int64_t truncate_prompt_tokens = 0;
  bool skip_special_tokens = true;  // vLLM's: special tokens (control tokens) left out of the text
  bool return_token_ids = false;    // vLLM's: the prompt's and each choice's token ids in the response
  std::string tenant = "anonymous";  // the API key's configured name, for accounting
  std::chrono::steady_clock::time_point arrival = std::chrono::steady_clock::now();
  // Shared with everything that handles the request: each marks its instants there. Null when the
  // caller keeps none; the engine then makes one (arrival as Received and Parsed).
  std::shared_ptr<RequestTimeline> timeline;
};

}  // namespace troupe
