#include "pipeline/openai/completion_request.hpp"

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/field_reader.hpp"
#include "pipeline/openai/generation_fields.hpp"
#include "pipeline/openai/logit_fields.hpp"
#include "pipeline/openai/request_body.hpp"
#include "pipeline/openai/request_limits.hpp"
#include "pipeline/openai/structured_output_fields.hpp"

namespace troupe {

namespace {

constexpr std::string_view kPromptShapes =
    "a string, an array of strings, an array of token ids, or an array of arrays of token ids";

std::vector<int32_t> token_ids(const boost::json::array& items) {
  std::vector<int32_t> ids;
  ids.reserve(items.size());
  for (const boost::json::value& item : items) {
    const std::optional<int64_t> id = as_integer(item);
    if (!id) throw_invalid("'prompt' must be " + std::string(kPromptShapes) + ".", "prompt");
    if (*id < 0 || *id > std::numeric_limits<int32_t>::max()) {
      throw_invalid("'prompt' token ids must be non-negative, got " + std::to_string(*id) + ".", "prompt");
    }
    ids.push_back(static_cast<int32_t>(*id));
  }
  return ids;
}

// One element of a batch: a string or an array of token ids, never empty.
PromptInput batch_prompt(const boost::json::value& item, std::size_t index) {
  PromptInput input;
  if (item.is_string()) {
    input.text = std::string(item.as_string());
  } else if (item.is_array()) {
    input.ids = token_ids(item.as_array());
  } else {
    throw_invalid("'prompt' must be " + std::string(kPromptShapes) + "; element " + std::to_string(index) + " is " +
                      std::string(json_kind_name(item)) + ".",
                  "prompt");
  }
  if (input.text.empty() && input.ids.empty()) {
    throw_invalid("'prompt' element " + std::to_string(index) + " is empty.", "prompt");
  }
  return input;
}

void read_prompt(const FieldReader& fields, GenerationRequest& request) {
  const boost::json::value* prompt = fields.find("prompt");
  if (prompt == nullptr) throw_invalid("'prompt' is required.", "prompt");
  if (prompt->is_string()) {
    request.prompt = std::string(prompt->as_string());
  } else if (prompt->is_array()) {
    const boost::json::array& items = prompt->as_array();
    if (items.empty()) throw_invalid("'prompt' must not be empty.", "prompt");
    const boost::json::value& first = items.front();
    if (first.is_string() || first.is_array()) {
      // A batch: all strings, or all lists of token ids. vLLM's schema (list[str] | list[list[int]])
      // refuses a mix, and so does this.
      check_list_length("prompt", items.size(), kMaxCompletionPrompts, "prompts");
      std::vector<PromptInput> batch;
      batch.reserve(items.size());
      for (std::size_t i = 0; i < items.size(); ++i) {
        if ((items[i].is_string() || items[i].is_array()) && items[i].is_string() != first.is_string()) {
          throw_invalid("'prompt' must be " + std::string(kPromptShapes) + ": element 0 is " +
                            std::string(json_kind_name(first)) + " but element " + std::to_string(i) + " is " +
                            std::string(json_kind_name(items[i])) + ".",
                        "prompt");
        }
        batch.push_back(batch_prompt(items[i], i));
      }
      if (batch.size() == 1) {
        request.prompt = std::move(batch[0].text);
        request.prompt_ids = std::move(batch[0].ids);
      } else {
        request.batch = std::move(batch);
      }
    } else {
      request.prompt_ids = token_ids(items);
    }
  } else {
    throw_invalid("'prompt' must be " + std::string(kPromptShapes) + ", got " +
                      std::string(json_kind_name(*prompt)) + ".",
                  "prompt");
  }
  if (request.batch.empty() && request.prompt.empty() && request.prompt_ids.empty()) {
    throw_invalid("'prompt' must not be empty.", "prompt");
  }
}

}  // namespace

GenerationRequest parse_completion_request(std::string_view body, const ApiContext& context) {
  const boost::json::object object = parse_request_object(body);
  const FieldReader fields(object);
  GenerationRequest request;
  request.endpoint = Endpoint::Completions;
  request.model = read_model(fields, context);
  read_prompt(fields, request);
  read_sampling_fields(fields, request.sampling);
  read_stop_fields(fields, context, request.stop, {"max_tokens"}, kCompletionsDefaultMaxTokens);
  read_delivery_fields(fields, request);
  if (auto echo = fields.boolean("echo")) request.echo = *echo;
  if (auto logprobs = fields.integer("logprobs", 0, kMaxTopLogprobs)) {
    request.logprobs = static_cast<int>(*logprobs);
    request.sampling.logprobs = request.logprobs;
    // Echoed text gets logprobs too: the prompt's tokens, as vLLM computes them (prompt_logprobs).
    if (request.echo) request.sampling.prompt_logprobs = request.logprobs;
  }
  if (fields.find("suffix") != nullptr) throw_invalid("'suffix' is not supported.", "suffix");
  // A chat field: the legacy completions API (OpenAI's) refuses it, and honouring or ignoring it
  // would silently use max_tokens' default of 16 instead of what the client meant.
  if (fields.find("max_completion_tokens") != nullptr) {
    throw_invalid("'max_completion_tokens' is a chat completions field; /v1/completions takes 'max_tokens'.",
                  "max_completion_tokens");
  }
  read_structured_output_fields(fields, context, request);  // response_format among them, validated
  read_logit_fields(fields, context, request);
  read_prompt_logprobs(fields, request);
  read_prompt_truncation(fields, context, request);
  reject_unsupported_fields(fields, request);
  return request;
}

}  // namespace troupe
