#include "pipeline/openai/chat_response.hpp"

#include "pipeline/openai/logprobs_json.hpp"
#include "pipeline/openai/usage_json.hpp"
#include "pipeline/tool_calls/tool_call_parser.hpp"

namespace troupe {

namespace {

boost::json::value fingerprint_json(const ResponseIdentity& identity) {
  if (identity.system_fingerprint.empty()) return nullptr;
  return boost::json::string(identity.system_fingerprint);
}

}  // namespace

boost::json::object tool_call_json(const ToolCall& call) {
  return boost::json::object{{"id", call.id},
                             {"type", "function"},
                             {"function", boost::json::object{{"name", call.name}, {"arguments", call.arguments}}}};
}

boost::json::value chat_finish_reason(const std::optional<FinishReason>& finish, const ToolCallMode& mode, bool called) {
  const bool forced_or_auto = mode.kind == ToolCallMode::Kind::Auto || mode.kind == ToolCallMode::Kind::Required;
  if (called && forced_or_auto && finish == FinishReason::Stop) return "tool_calls";
  return finish_reason_json(finish);
}

boost::json::object chat_response(const ResponseOptions& options, const ResponseAccumulator& result) {
  boost::json::array choices;
  for (const AccumulatedChoice& choice : result.choices()) {
    ToolCallMode mode = options.tool_calls;
    mode.reasoning_opened = mode.reasoning_opened || result.reasoning_opened();
    ParsedMessage parsed = parse_message(mode, choice.text);
    if (!options.parallel_tool_calls && parsed.tool_calls.size() > 1) parsed.tool_calls.resize(1);
    if (options.chat_echo) parsed.content = *options.chat_echo + parsed.content.value_or("");
    // vLLM's ChatMessage: OpenAI's fields, unset ones null; tool_calls only when there are some.
    boost::json::object message{{"role", "assistant"},
                                {"content", parsed.content ? boost::json::value(*parsed.content) : nullptr},
                                {"refusal", nullptr},
                                {"annotations", nullptr},
                                {"audio", nullptr},
                                {"function_call", nullptr}};
    if (parsed.reasoning) message["reasoning"] = *parsed.reasoning;
    if (!parsed.tool_calls.empty()) {
      boost::json::array calls;
      for (const ToolCall& call : parsed.tool_calls) calls.emplace_back(tool_call_json(call));
      message["tool_calls"] = std::move(calls);
    }
    boost::json::value logprobs = nullptr;
    if (options.with_logprobs) logprobs = chat_logprobs(choice.logprobs);
    choices.emplace_back(boost::json::object{
        {"index", choice.index},
        {"message", std::move(message)},
        {"logprobs", std::move(logprobs)},
        {"finish_reason", chat_finish_reason(choice.finish, options.tool_calls, !parsed.tool_calls.empty())},
        {"stop_reason", stop_reason_json(choice.stop_reason)}});
    if (options.return_token_ids) choices.back().as_object()["token_ids"] = token_ids_json(choice.token_ids);
  }
  const ResponseIdentity& identity = options.identity;
  boost::json::object response{{"id", identity.id},
                             {"object", "chat.completion"},
                             {"created", identity.created},
                             {"model", identity.model},
                             {"choices", std::move(choices)},
                             {"service_tier", nullptr},
                             {"system_fingerprint", fingerprint_json(identity)},
                             {"usage", usage_json(result.usage())},
                             {"prompt_logprobs", nullptr},
                             {"kv_transfer_params", nullptr}};
  // vLLM's is the request's (its choices share the prompt): the first choice's.
  const auto& first = result.choices().front();
  if (options.prompt_logprobs && first.prompt_logprobs) response["prompt_logprobs"] = prompt_logprobs_json(*first.prompt_logprobs);
  if (options.return_token_ids) {
    const auto& prompts = result.prompt_token_ids();
    response["prompt_token_ids"] = prompts.empty() ? boost::json::value(nullptr) : boost::json::value(token_ids_json(prompts[0]));
  }
  return response;
}

boost::json::object chat_chunk_envelope(const ResponseIdentity& identity, boost::json::array choices) {
  return boost::json::object{{"id", identity.id},
                             {"object", "chat.completion.chunk"},
                             {"created", identity.created},
                             {"model", identity.model},
                             {"choices", std::move(choices)}};
}

boost::json::object chat_delta_json(const MessageDelta& delta, bool plain_text) {
  boost::json::object out;
  // Plain text always says its content (vLLM's DeltaMessage(content=...)); with a tool parser only
  // what the piece produced is set.
  if (!delta.reasoning.empty()) out["reasoning"] = delta.reasoning;
  if (plain_text || !delta.content.empty()) out["content"] = delta.content;
  if (!delta.tool_calls.empty()) {
    boost::json::array calls;
    for (const ToolCallDelta& call : delta.tool_calls) {
      boost::json::object function;
      if (call.name) function["name"] = *call.name;
      if (call.arguments) function["arguments"] = *call.arguments;
      boost::json::object item;
      if (call.id) {
        item["id"] = *call.id;
        item["type"] = "function";
      }
      item["index"] = call.index;
      item["function"] = std::move(function);
      calls.emplace_back(std::move(item));
    }
    out["tool_calls"] = std::move(calls);
  }
  return out;
}

}  // namespace troupe
