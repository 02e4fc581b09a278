#include "pipeline/openai/tokenize_api.hpp"

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/chat_messages.hpp"
#include "pipeline/openai/field_reader.hpp"
#include "pipeline/openai/generation_fields.hpp"
#include "pipeline/openai/request_body.hpp"

namespace troupe {

TokenizeRequest parse_tokenize_request(std::string_view body, const ApiContext& context) {
  const boost::json::object object = parse_request_object(body);
  const FieldReader fields(object);
  read_model(fields, context);
  TokenizeRequest request;
  const std::optional<std::string> prompt = fields.string("prompt");
  const boost::json::array* messages = fields.array("messages");
  if (prompt && messages) throw_invalid("Give either 'prompt' or 'messages', not both.", "messages");
  if (!prompt && !messages) throw_invalid("'prompt' or 'messages' is required.", "prompt");
  if (messages) {
    request.use_messages = true;
    request.messages = normalize_messages(*messages);
    // Rendered chat text already holds the template's special tokens.
    request.add_special_tokens = fields.boolean("add_special_tokens").value_or(false);
    request.add_generation_prompt = fields.boolean("add_generation_prompt").value_or(true);
    request.continue_final_message = fields.boolean("continue_final_message").value_or(false);
    if (request.continue_final_message && request.add_generation_prompt) {
      throw_invalid("Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
                    "continue_final_message");
    }
    // What a chat completion renders with them, so that clients that count prompt tokens here
    // (with tools) get the chat completion's prompt.
    if (const boost::json::array* tools = fields.array("tools")) {
      validate_tools(*tools);
      request.tools = *tools;
    }
    if (const boost::json::object* kwargs = fields.object("chat_template_kwargs")) request.chat_template_kwargs = *kwargs;
  } else {
    request.prompt = *prompt;
    request.add_special_tokens = fields.boolean("add_special_tokens").value_or(true);
  }
  return request;
}

DetokenizeRequest parse_detokenize_request(std::string_view body, const ApiContext& context) {
  const boost::json::object object = parse_request_object(body);
  const FieldReader fields(object);
  read_model(fields, context);
  const std::optional<std::vector<int64_t>> tokens =
      fields.integers("tokens", 0, std::numeric_limits<int32_t>::max());
  if (!tokens) throw_invalid("'tokens' is required.", "tokens");
  DetokenizeRequest request;
  request.tokens.assign(tokens->begin(), tokens->end());
  return request;
}

boost::json::object tokenize_response(const std::vector<int32_t>& tokens, int64_t max_model_len) {
  boost::json::array ids(tokens.begin(), tokens.end());
  return boost::json::object{
      {"count", static_cast<int64_t>(tokens.size())}, {"max_model_len", max_model_len}, {"tokens", std::move(ids)}};
}

boost::json::object detokenize_response(const std::string& text) { return boost::json::object{{"prompt", text}}; }

}  // namespace troupe
