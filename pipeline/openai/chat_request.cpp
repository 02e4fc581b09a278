#include "pipeline/openai/chat_request.hpp"

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/chat_messages.hpp"
#include "pipeline/openai/field_reader.hpp"
#include "pipeline/openai/generation_fields.hpp"
#include "pipeline/openai/logit_fields.hpp"
#include "pipeline/openai/request_body.hpp"
#include "pipeline/openai/structured_output_fields.hpp"
#include "pipeline/openai/tool_choice.hpp"

namespace troupe {

namespace {

void read_messages(const FieldReader& fields, GenerationRequest& request) {
  const boost::json::array* messages = fields.array("messages");
  if (messages == nullptr) throw_invalid("'messages' is required.", "messages");
  request.messages = normalize_messages(*messages);
}

void read_template_fields(const FieldReader& fields, GenerationRequest& request) {
  if (const boost::json::object* kwargs = fields.object("chat_template_kwargs")) request.chat_template_kwargs = *kwargs;
  // OpenAI's reasoning_effort reaches the template as a variable of that name (gpt-oss's writes it
  // into its system message), as vLLM passes it; chat_template_kwargs' own value wins.
  if (auto effort = fields.string("reasoning_effort"); effort && !request.chat_template_kwargs.contains("reasoning_effort")) {
    if (*effort != "none" && *effort != "minimal" && *effort != "low" && *effort != "medium" && *effort != "high") {
      throw_invalid("'reasoning_effort' must be one of none, minimal, low, medium, high; got '" + *effort + "'.",
                    "reasoning_effort");
    }
    request.chat_template_kwargs["reasoning_effort"] = *effort;
  }
  if (auto add = fields.boolean("add_generation_prompt")) request.add_generation_prompt = *add;
  request.continue_final_message = fields.boolean("continue_final_message").value_or(false);
  if (auto echo = fields.boolean("echo")) request.echo = *echo;
  // add_generation_prompt defaults to true, so continuing takes an explicit false (as in vLLM,
  // where transformers refuses the pair).
  if (request.continue_final_message && request.add_generation_prompt) {
    throw_invalid("Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
                  "continue_final_message");
  }
  // A vLLM extension that would render a different prompt than the model's template does.
  if (fields.string("chat_template")) {
    throw_invalid("'chat_template' is not supported; the model's own template is used.", "chat_template");
  }
}

void read_logprobs(const FieldReader& fields, GenerationRequest& request) {
  const bool logprobs = fields.boolean("logprobs").value_or(false);
  const std::optional<int64_t> top = fields.integer("top_logprobs", 0, kMaxTopLogprobs);
  if (top && *top > 0 && !logprobs) {
    throw_invalid("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
  }
  if (logprobs) {
    request.logprobs = static_cast<int>(top.value_or(0));
    request.sampling.logprobs = request.logprobs;
  }
}

}  // namespace

GenerationRequest parse_chat_request(std::string_view body, const ApiContext& context) {
  const boost::json::object object = parse_request_object(body);
  const FieldReader fields(object);
  GenerationRequest request;
  request.endpoint = Endpoint::ChatCompletions;
  request.model = read_model(fields, context);
  read_messages(fields, request);
  read_tool_fields(fields, context, request);
  read_template_fields(fields, request);
  read_sampling_fields(fields, request.sampling);
  read_stop_fields(fields, context, request.stop, {"max_completion_tokens", "max_tokens"}, kMaxTokensFromContext);
  read_delivery_fields(fields, request);
  read_logprobs(fields, request);
  read_prompt_logprobs(fields, request);
  read_prompt_truncation(fields, context, request);
  read_structured_output_fields(fields, context, request);
  read_logit_fields(fields, context, request);
  reject_unsupported_fields(fields, request);
  // Mistral's [TOOL_CALLS], LFM2's <|tool_call_start|>, Nemotron Nano 2's <TOOLCALL>, Gemma 4's
  // <|tool_call> (and its <|"|> quotes) and Kimi K2's section and call markers are control tokens: their parsers read the text of control tokens, as vLLM's MistralToolParser and
  // Lfm2ToolParser.adjust_request keep them.
  if (request.tool_calls.kind == ToolCallMode::Kind::Auto &&
      (request.tool_calls.format == ToolCallFormat::Mistral || request.tool_calls.format == ToolCallFormat::Lfm2 ||
       request.tool_calls.format == ToolCallFormat::NemotronJson || request.tool_calls.format == ToolCallFormat::Gemma4 ||
       request.tool_calls.format == ToolCallFormat::KimiK2)) {
    request.skip_special_tokens = false;
  }
  // Mistral's [THINK] and [/THINK] are control tokens too (tokenizer v13 on), Gemma 4's channel markers,
  // and Kimi K2's <think> and tool-call section.
  if ((request.tool_calls.reasoning == ReasoningFormat::Mistral || request.tool_calls.reasoning == ReasoningFormat::Gemma4 ||
       request.tool_calls.reasoning == ReasoningFormat::KimiK2) &&
      (request.tool_calls.kind == ToolCallMode::Kind::None || request.tool_calls.kind == ToolCallMode::Kind::Auto)) {
    request.skip_special_tokens = false;
  }
  // gpt-oss's harmony markers (<|channel|>, <|message|>, ...) are special tokens too: every chat
  // reply of such a model is read by the harmony parser, which needs them (reasoning, content and
  // calls are told apart by them) and removes them.
  if (request.tool_calls.format == ToolCallFormat::Harmony &&
      (request.tool_calls.kind == ToolCallMode::Kind::None || request.tool_calls.kind == ToolCallMode::Kind::Auto)) {
    request.skip_special_tokens = false;
  }
  return request;
}

}  // namespace troupe
