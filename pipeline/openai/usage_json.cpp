#include "pipeline/openai/usage_json.hpp"

namespace troupe {

boost::json::object usage_json(const Usage& usage) {
  return boost::json::object{
      {"prompt_tokens", usage.prompt_tokens},
      {"completion_tokens", usage.completion_tokens},
      {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
      {"prompt_tokens_details", boost::json::object{{"cached_tokens", usage.cached_prompt_tokens}}},
  };
}

boost::json::value finish_reason_json(const std::optional<FinishReason>& finish) {
  if (!finish) return nullptr;
  return boost::json::string(finish_reason_name(*finish));
}

boost::json::value stop_reason_json(const std::optional<StopReason>& stop_reason) {
  if (!stop_reason) return nullptr;
  if (const int32_t* id = std::get_if<int32_t>(&*stop_reason)) return *id;
  return boost::json::string(std::get<std::string>(*stop_reason));
}

boost::json::array token_ids_json(const std::vector<int32_t>& ids) {
  boost::json::array out;
  out.reserve(ids.size());
  for (const int32_t id : ids) out.emplace_back(id);
  return out;
}

}  // namespace troupe
