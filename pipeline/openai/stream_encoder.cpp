#include "pipeline/openai/stream_encoder.hpp"

#include <stdexcept>

#include "pipeline/openai/chat_response.hpp"
#include "pipeline/openai/completion_response.hpp"
#include "pipeline/openai/error_body.hpp"
#include "pipeline/openai/logprobs_json.hpp"
#include "pipeline/openai/usage_json.hpp"

namespace troupe {

StreamEncoder::StreamEncoder(ResponseOptions options) : options_(std::move(options)) {
  choices_.resize(static_cast<std::size_t>(options_.choices));
  if (options_.endpoint == Endpoint::ChatCompletions) {
    for (ChoiceState& choice : choices_) choice.tool_parser = make_tool_call_parser(options_.tool_calls);
  }
}

std::vector<std::string> StreamEncoder::encode(const GenerationEvent& event) {
  std::vector<std::string> payloads;
  if (event.error) {
    payloads.push_back(error_json(*event.error));
    return payloads;
  }
  if (event.prompt_tokens > 0) prompt_tokens_ = event.prompt_tokens;
  if (!started_) {
    started_ = true;
    if (options_.endpoint == Endpoint::ChatCompletions) role_chunks(payloads);
  }
  for (const ChoiceDelta& delta : event.choices) {
    if (delta.index < 0 || static_cast<std::size_t>(delta.index) >= choices_.size()) {
      throw std::out_of_range("engine sent a delta for choice " + std::to_string(delta.index) + " of " +
                              std::to_string(choices_.size()));
    }
    ChoiceState& state = choices_[static_cast<std::size_t>(delta.index)];
    if (state.finished) continue;
    const auto tokens = static_cast<int64_t>(delta.token_ids.size());
    completion_tokens_ += tokens;
    state.completion_tokens += tokens;
    bool skip = false;
    std::string payload = choice_chunk(delta, state, skip);
    if (!skip) payloads.push_back(std::move(payload));
  }
  if (event.done && options_.include_usage) payloads.push_back(usage_chunk(event));
  return payloads;
}

void StreamEncoder::role_chunks(std::vector<std::string>& payloads) {
  for (int i = 0; i < options_.choices; ++i) {
    boost::json::array choices;
    choices.emplace_back(boost::json::object{{"index", i},
                                             {"delta", boost::json::object{{"role", "assistant"}, {"content", ""}}},
                                             {"logprobs", nullptr},
                                             {"finish_reason", nullptr}});
    boost::json::object chunk = chat_chunk_envelope(options_.identity, std::move(choices));
    finish_chunk(chunk, 0, false);
    payloads.push_back(boost::json::serialize(chunk));
  }
}

std::string StreamEncoder::choice_chunk(const ChoiceDelta& delta, ChoiceState& state, bool& skip) {
  const bool finishing = delta.finish.has_value();
  if (finishing) state.finished = true;
  if (options_.endpoint == Endpoint::Completions) {
    // A delta with nothing to say (no text, no tokens, no finish) would only be noise.
    skip = delta.text.empty() && delta.logprobs.empty() && !finishing;
    boost::json::object chunk = completion_chunk(options_.identity, delta, options_.with_logprobs, state.text_offset);
    finish_chunk(chunk, state.completion_tokens, finishing);
    return boost::json::serialize(chunk);
  }
  MessageDelta message;
  if (state.tool_parser) {
    message = state.tool_parser->push(delta.text);
    if (finishing) message.append(state.tool_parser->finish());
    if (!options_.parallel_tool_calls) {
      std::erase_if(message.tool_calls, [](const ToolCallDelta& call) { return call.index > 0; });
    }
  } else {
    message.content = delta.text;
  }
  const bool has_logprobs = options_.with_logprobs && !delta.logprobs.empty();
  skip = !finishing && !has_logprobs && (state.tool_parser ? message.empty() : delta.text.empty());
  boost::json::object choice{{"index", delta.index},
                             {"delta", chat_delta_json(message, state.tool_parser == nullptr)},
                             {"logprobs", options_.with_logprobs ? boost::json::value(chat_logprobs(delta.logprobs))
                                                                 : boost::json::value(nullptr)}};
  if (finishing) {
    const bool called = state.tool_parser && state.tool_parser->calls() > 0;
    choice["finish_reason"] = chat_finish_reason(delta.finish, options_.tool_calls, called);
    choice["stop_reason"] = stop_reason_json(delta.stop_reason);
  } else {
    choice["finish_reason"] = nullptr;
  }
  boost::json::array choices;
  choices.emplace_back(std::move(choice));
  boost::json::object chunk = chat_chunk_envelope(options_.identity, std::move(choices));
  finish_chunk(chunk, state.completion_tokens, finishing);
  return boost::json::serialize(chunk);
}

void StreamEncoder::finish_chunk(boost::json::object& chunk, int64_t choice_completion_tokens, bool finishing) const {
  if (options_.continuous_usage) {
    Usage usage;
    usage.prompt_tokens = prompt_tokens_;
    usage.completion_tokens = choice_completion_tokens;
    boost::json::object json = usage_json(usage);
    json.erase("prompt_tokens_details");
    chunk["usage"] = std::move(json);
  } else if (options_.include_usage) {
    chunk["usage"] = nullptr;  // OpenAI: every chunk but the last has "usage": null
  }
  // The fingerprint rides on the last message of the stream: the usage chunk when there is one.
  if (finishing && !options_.include_usage && !options_.identity.system_fingerprint.empty()) {
    chunk["system_fingerprint"] = options_.identity.system_fingerprint;
  }
}

std::string StreamEncoder::usage_chunk(const GenerationEvent& event) const {
  Usage usage;
  if (event.usage) {
    usage = *event.usage;
  } else {
    usage.prompt_tokens = prompt_tokens_;
    usage.completion_tokens = completion_tokens_;
  }
  const std::string_view object = options_.endpoint == Endpoint::ChatCompletions ? "chat.completion.chunk" : "text_completion";
  boost::json::object chunk{{"id", options_.identity.id},
                            {"object", object},
                            {"created", options_.identity.created},
                            {"model", options_.identity.model},
                            {"choices", boost::json::array()},
                            {"usage", usage_json(usage)}};
  if (!options_.identity.system_fingerprint.empty()) chunk["system_fingerprint"] = options_.identity.system_fingerprint;
  return boost::json::serialize(chunk);
}

}  // namespace troupe
