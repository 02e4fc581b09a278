#include "pipeline/openai/stream_encoder.hpp"

#include <stdexcept>

#include "pipeline/openai/chat_response.hpp"
#include "pipeline/openai/completion_response.hpp"
#include "pipeline/openai/error_body.hpp"
#include "pipeline/openai/usage_json.hpp"

namespace troupe {

StreamEncoder::StreamEncoder(Endpoint endpoint, ResponseIdentity identity, int n, bool with_logprobs,
                             bool include_usage)
    : endpoint_(endpoint),
      identity_(std::move(identity)),
      with_logprobs_(with_logprobs),
      include_usage_(include_usage),
      started_(static_cast<std::size_t>(n), false),
      text_offsets_(static_cast<std::size_t>(n), 0) {}

std::vector<std::string> StreamEncoder::encode(const GenerationEvent& event) {
  std::vector<std::string> payloads;
  if (event.error) {
    payloads.push_back(error_json(*event.error));
    return payloads;
  }
  if (event.prompt_tokens > 0) prompt_tokens_ = event.prompt_tokens;
  for (const ChoiceDelta& delta : event.choices) {
    if (delta.index < 0 || static_cast<std::size_t>(delta.index) >= started_.size()) {
      throw std::out_of_range("engine sent a delta for choice " + std::to_string(delta.index) + " of " +
                              std::to_string(started_.size()));
    }
    completion_tokens_ += static_cast<int64_t>(delta.token_ids.size());
    // A delta with nothing to say (no text, no tokens, no finish) would only be noise.
    if (delta.text.empty() && delta.logprobs.empty() && !delta.finish) continue;
    payloads.push_back(choice_chunk(delta));
  }
  if (event.done && include_usage_) payloads.push_back(usage_chunk(event));
  return payloads;
}

std::string StreamEncoder::choice_chunk(const ChoiceDelta& delta) {
  const std::size_t index = static_cast<std::size_t>(delta.index);
  const bool first = !started_[index];
  started_[index] = true;
  if (endpoint_ == Endpoint::ChatCompletions) {
    return boost::json::serialize(chat_chunk(identity_, delta, with_logprobs_, first));
  }
  return boost::json::serialize(completion_chunk(identity_, delta, with_logprobs_, text_offsets_[index]));
}

std::string StreamEncoder::usage_chunk(const GenerationEvent& event) const {
  Usage usage;
  if (event.usage) {
    usage = *event.usage;
  } else {
    usage.prompt_tokens = prompt_tokens_;
    usage.completion_tokens = completion_tokens_;
  }
  const std::string_view object = endpoint_ == Endpoint::ChatCompletions ? "chat.completion.chunk" : "text_completion";
  return boost::json::serialize(boost::json::object{{"id", identity_.id},
                                                    {"object", object},
                                                    {"created", identity_.created},
                                                    {"model", identity_.model},
                                                    {"choices", boost::json::array()},
                                                    {"usage", usage_json(usage)}});
}

}  // namespace troupe
