#include "pipeline/openai/completion_response.hpp"

#include "pipeline/openai/logprobs_json.hpp"
#include "pipeline/openai/usage_json.hpp"

namespace troupe {

namespace {

boost::json::object completion_envelope(const ResponseIdentity& identity, boost::json::array choices) {
  return boost::json::object{{"id", identity.id},
                             {"object", "text_completion"},
                             {"created", identity.created},
                             {"model", identity.model},
                             {"choices", std::move(choices)}};
}

}  // namespace

boost::json::object completion_response(const ResponseOptions& options, const ResponseAccumulator& result) {
  const ResponseIdentity& identity = options.identity;
  const bool with_logprobs = options.with_logprobs;
  boost::json::array choices;
  const auto& prompts = result.prompt_token_ids();
  for (const AccumulatedChoice& choice : result.choices()) {
    boost::json::value logprobs = nullptr;
    if (with_logprobs) logprobs = completion_logprobs(choice.logprobs, 0);
    boost::json::object json{{"index", choice.index},
                             {"text", choice.text},
                             {"logprobs", std::move(logprobs)},
                             {"finish_reason", finish_reason_json(choice.finish)},
                             {"stop_reason", stop_reason_json(choice.stop_reason)}};
    if (options.prompt_logprobs) {
      json["prompt_logprobs"] = choice.prompt_logprobs ? boost::json::value(prompt_logprobs_json(*choice.prompt_logprobs))
                                                       : boost::json::value(nullptr);
    }
    if (options.return_token_ids) {
      // vLLM puts each choice's prompt beside its tokens (a batch's choices have different ones).
      json["token_ids"] = token_ids_json(choice.token_ids);
      const std::size_t per_prompt = prompts.empty() ? 1 : result.choices().size() / prompts.size();
      const std::size_t p = static_cast<std::size_t>(choice.index) / per_prompt;
      json["prompt_token_ids"] = p < prompts.size() ? boost::json::value(token_ids_json(prompts[p])) : nullptr;
    }
    choices.emplace_back(std::move(json));
  }
  boost::json::object response = completion_envelope(identity, std::move(choices));
  response["service_tier"] = nullptr;
  response["system_fingerprint"] =
      identity.system_fingerprint.empty() ? boost::json::value(nullptr) : boost::json::value(identity.system_fingerprint);
  response["usage"] = usage_json(result.usage());
  response["kv_transfer_params"] = nullptr;
  return response;
}

boost::json::object completion_chunk(const ResponseIdentity& identity, const ChoiceDelta& delta, bool with_logprobs,
                                     int64_t& text_offset) {
  boost::json::value logprobs = nullptr;
  if (with_logprobs) logprobs = completion_logprobs(delta.logprobs, text_offset, &text_offset);
  boost::json::array choices;
  choices.emplace_back(boost::json::object{{"index", delta.index},
                                           {"text", delta.text},
                                           {"logprobs", std::move(logprobs)},
                                           {"finish_reason", finish_reason_json(delta.finish)},
                                           {"stop_reason", stop_reason_json(delta.stop_reason)}});
  return completion_envelope(identity, std::move(choices));
}

}  // namespace troupe
