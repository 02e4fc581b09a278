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
  if (request.endpoint == Endpoint::ChatCompletions && request.echo) {
    options.chat_echo = "";
    const boost::json::object* last = request.messages.empty() ? nullptr : request.messages.back().if_object();
    if (last != nullptr && last->contains("role") && last->at("role") == "assistant" && last->contains("content") &&
        last->at("content").is_string()) {
      options.chat_echo = std::string(last->at("content").as_string());
    }
  }
  return options;
}

}  // namespace troupe
