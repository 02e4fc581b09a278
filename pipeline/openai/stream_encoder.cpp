#include "pipeline/openai/stream_encoder.hpp"

#include <algorithm>
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
  if (!event.prompt_token_ids.empty()) prompt_token_ids_ = event.prompt_token_ids;
  if (!started_) {
    started_ = true;
    if (options_.endpoint == Endpoint::ChatCompletions) {
      if (event.reasoning_opened && !options_.tool_calls.reasoning_opened) {  // before any text was parsed
        options_.tool_calls.reasoning_opened = true;
        for (ChoiceState& choice : choices_) choice.tool_parser = make_tool_call_parser(options_.tool_calls);
      }
      role_chunks(payloads);
    }
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
    choice_chunks(delta, state, payloads);
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
    if (options_.return_token_ids && !prompt_token_ids_.empty()) chunk["prompt_token_ids"] = token_ids_json(prompt_token_ids_[0]);
    finish_chunk(chunk, 0, false);
    payloads.push_back(boost::json::serialize(chunk));
  }
  // Chat echo: the assistant message being continued, one chunk per choice, before any content.
  if (options_.chat_echo && !options_.chat_echo->empty()) {
    for (int i = 0; i < options_.choices; ++i) {
      boost::json::array choices;
      choices.emplace_back(boost::json::object{{"index", i},
                                               {"delta", boost::json::object{{"content", *options_.chat_echo}}},
                                               {"logprobs", nullptr},
                                               {"finish_reason", nullptr}});
      boost::json::object chunk = chat_chunk_envelope(options_.identity, std::move(choices));
      finish_chunk(chunk, 0, false);
      payloads.push_back(boost::json::serialize(chunk));
    }
  }
}

namespace {

// A message delta as the chunks that carry it: a new chunk wherever a tool call's delta would
// share one with an earlier delta of the same call (a call's first delta, with its name and empty
// arguments, and its first arguments then go out one after the other, as OpenAI streams them).
std::vector<MessageDelta> chunk_pieces(MessageDelta message) {
  std::vector<MessageDelta> pieces(1);
  pieces.back().content = std::move(message.content);
  pieces.back().reasoning = std::move(message.reasoning);
  for (ToolCallDelta& call : message.tool_calls) {
    const auto& current = pieces.back().tool_calls;
    if (std::any_of(current.begin(), current.end(), [&](const ToolCallDelta& c) { return c.index == call.index; })) {
      pieces.emplace_back();
    }
    pieces.back().tool_calls.push_back(std::move(call));
  }
  return pieces;
}

}  // namespace

void StreamEncoder::choice_chunks(const ChoiceDelta& delta, ChoiceState& state, std::vector<std::string>& payloads) {
  const bool finishing = delta.finish.has_value();
  if (finishing) state.finished = true;
  // Token ids the client asked for must all arrive, also those of a delta without text.
  const bool has_token_ids = options_.return_token_ids && !delta.token_ids.empty();
  if (options_.endpoint == Endpoint::Completions) {
    // A delta with nothing to say (no text, no tokens, no finish) would only be noise.
    if (delta.text.empty() && delta.logprobs.empty() && !finishing && !has_token_ids) return;
    boost::json::object chunk = completion_chunk(options_.identity, delta, options_.with_logprobs, state.text_offset);
    if (options_.return_token_ids) {
      boost::json::object& choice = chunk["choices"].as_array()[0].as_object();
      if (!state.prompt_ids_sent && !prompt_token_ids_.empty()) {
        const std::size_t per_prompt = choices_.size() / prompt_token_ids_.size();
        const std::size_t p = static_cast<std::size_t>(delta.index) / std::max<std::size_t>(per_prompt, 1);
        if (p < prompt_token_ids_.size()) choice["prompt_token_ids"] = token_ids_json(prompt_token_ids_[p]);
        state.prompt_ids_sent = true;
      }
      choice["token_ids"] = token_ids_json(delta.token_ids);
    }
    finish_chunk(chunk, state.completion_tokens, finishing);
    payloads.push_back(boost::json::serialize(chunk));
    return;
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
  const bool empty = state.tool_parser ? message.empty() : delta.text.empty();
  if (!finishing && !has_logprobs && !has_token_ids && empty) return;
  std::vector<MessageDelta> pieces = chunk_pieces(std::move(message));
  // Logprobs and the finish reason ride on the last chunk.
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const bool last = i + 1 == pieces.size();
    payloads.push_back(chat_chunk(delta, state, pieces[i], last, finishing && last));
  }
}

std::string StreamEncoder::chat_chunk(const ChoiceDelta& delta, ChoiceState& state, const MessageDelta& message,
                                      bool with_logprobs, bool finishing) {
  boost::json::object choice{{"index", delta.index},
                             {"delta", chat_delta_json(message, state.tool_parser == nullptr)},
                             {"logprobs", options_.with_logprobs && with_logprobs
                                              ? boost::json::value(chat_logprobs(delta.logprobs))
                                              : boost::json::value(nullptr)}};
  // A delta's token ids ride with its logprobs, on its last chunk.
  if (options_.return_token_ids) {
    choice["token_ids"] = with_logprobs ? token_ids_json(delta.token_ids) : boost::json::array();
  }
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
