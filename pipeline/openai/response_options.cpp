#include "pipeline/openai/response_options.hpp"

namespace troupe {

ResponseOptions response_options(const GenerationRequest& request, ResponseIdentity identity) {
  ResponseOptions options;
  options.endpoint = request.endpoint;
  options.identity = std::move(identity);
  options.choices = request.n * request.num_prompts();
  options.with_logprobs = request.logprobs.has_value();
  options.include_usage = request.stream && request.include_usage;
  // vLLM: continuous usage stats only with include_usage.
  options.continuous_usage = options.include_usage && request.continuous_usage_stats;
  if (request.endpoint == Endpoint::ChatCompletions) options.tool_calls = request.tool_calls;
  options.parallel_tool_calls = request.parallel_tool_calls;
  options.return_token_ids = request.return_token_ids;
  options.prompt_logprobs = request.prompt_logprobs.has_value();
  return options;
}

}  // namespace troupe
