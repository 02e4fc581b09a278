#pragma once
// vLLM's /tokenize and /detokenize bodies.
//   /tokenize   {"model", "prompt", "add_special_tokens"=true}
//            or {"model", "messages", "add_generation_prompt"=true, "continue_final_message"=false,
//                "add_special_tokens"=false, "tools", "chat_template_kwargs"} (rendered as a chat
//                completion's prompt is)
//            → {"count", "max_model_len", "tokens"}
//   /detokenize {"model", "tokens"} → {"prompt"}
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/openai/api_context.hpp"

namespace troupe {

struct TokenizeRequest {
  std::string prompt;
  boost::json::array messages;
  bool use_messages = false;
  bool add_special_tokens = true;
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  std::optional<boost::json::array> tools;  // rendered by the template, as for a chat request
  boost::json::object chat_template_kwargs;
};

struct DetokenizeRequest {
  std::vector<int32_t> tokens;
};

// Both throw ApiException (400 for shape problems, 404 for an unknown model).
TokenizeRequest parse_tokenize_request(std::string_view body, const ApiContext& context);
DetokenizeRequest parse_detokenize_request(std::string_view body, const ApiContext& context);

boost::json::object tokenize_response(const std::vector<int32_t>& tokens, int64_t max_model_len);
boost::json::object detokenize_response(const std::string& text);

}  // namespace troupe
