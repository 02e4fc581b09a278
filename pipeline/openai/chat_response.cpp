#include "pipeline/openai/chat_response.hpp"

#include "pipeline/openai/logprobs_json.hpp"
#include "pipeline/openai/usage_json.hpp"

namespace troupe {

namespace {

boost::json::object chat_envelope(const ResponseIdentity& identity, std::string_view object,
                                  boost::json::array choices) {
  return boost::json::object{{"id", identity.id},
                             {"object", object},
                             {"created", identity.created},
                             {"model", identity.model},
                             {"choices", std::move(choices)}};
}

}  // namespace

boost::json::object chat_response(const ResponseIdentity& identity, const ResponseAccumulator& result,
                                  bool with_logprobs) {
  boost::json::array choices;
  for (const AccumulatedChoice& choice : result.choices()) {
    boost::json::value logprobs = nullptr;
    if (with_logprobs) logprobs = chat_logprobs(choice.logprobs);
    choices.emplace_back(boost::json::object{
        {"index", choice.index},
        {"message", boost::json::object{{"role", "assistant"}, {"content", choice.text}}},
        {"logprobs", std::move(logprobs)},
        {"finish_reason", finish_reason_json(choice.finish)},
        {"stop_reason", stop_reason_json(choice.stop_reason)}});
  }
  boost::json::object response = chat_envelope(identity, "chat.completion", std::move(choices));
  response["usage"] = usage_json(result.usage());
  return response;
}

boost::json::object chat_chunk(const ResponseIdentity& identity, const ChoiceDelta& delta, bool with_logprobs,
                               bool first) {
  boost::json::object message;
  if (first) message["role"] = "assistant";
  message["content"] = delta.text;
  boost::json::value logprobs = nullptr;
  if (with_logprobs) logprobs = chat_logprobs(delta.logprobs);
  boost::json::array choices;
  choices.emplace_back(boost::json::object{{"index", delta.index},
                                           {"delta", std::move(message)},
                                           {"logprobs", std::move(logprobs)},
                                           {"finish_reason", finish_reason_json(delta.finish)},
                                           {"stop_reason", stop_reason_json(delta.stop_reason)}});
  return chat_envelope(identity, "chat.completion.chunk", std::move(choices));
}

}  // namespace troupe
