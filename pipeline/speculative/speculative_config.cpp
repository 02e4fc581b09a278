#include "pipeline/speculative/speculative_config.hpp"

#include <boost/json.hpp>
#include <optional>

#include "common/error.hpp"

namespace troupe {

namespace {

[[noreturn]] void fail(const std::string& message) { throw ConfigError("--speculative-config: " + message); }

int64_t integer(const boost::json::value& v, const char* key) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.as_uint64());
  fail(std::string("\"") + key + "\" must be an integer, got " + boost::json::serialize(v));
}

}  // namespace

SpeculativeConfig parse_speculative_config(const std::string& json_text) {
  SpeculativeConfig config;
  if (json_text.empty()) return config;
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(json_text, ec);
  if (ec || !parsed.is_object()) fail("not a JSON object: " + json_text);

  std::optional<std::string> method, model;
  std::optional<int64_t> k, lookup_min, lookup_max;
  for (const auto& [key, value] : parsed.as_object()) {
    if (key == "method") {
      if (!value.is_string()) fail("\"method\" must be a string");
      method = std::string(value.as_string());
    } else if (key == "model") {
      if (!value.is_string()) fail("\"model\" must be a string");
      model = std::string(value.as_string());
    } else if (key == "num_speculative_tokens") {
      k = integer(value, "num_speculative_tokens");
    } else if (key == "prompt_lookup_min") {
      lookup_min = integer(value, "prompt_lookup_min");
    } else if (key == "prompt_lookup_max") {
      lookup_max = integer(value, "prompt_lookup_max");
    } else if (key == "disable_by_batch_size") {
      config.disable_by_batch_size = integer(value, "disable_by_batch_size");
      if (config.disable_by_batch_size < 1) fail("\"disable_by_batch_size\" must be at least 1");
    } else if (key == "disable_log_stats" || key == "disable_logprobs" || key == "draft_tensor_parallel_size") {
      // vLLM options that change nothing here: stats are always kept, logprobs always exact, and
      // the draft runs beside the target on the same executor.
    } else {
      fail("unsupported key \"" + std::string(key) +
           "\" (supported: method, model, num_speculative_tokens, prompt_lookup_min, prompt_lookup_max, "
           "disable_by_batch_size)");
    }
  }

  // vLLM's old spelling of n-gram lookup is the model name "[ngram]".
  if (model == "[ngram]" && !method) {
    method = "ngram";
    model.reset();
  }
  if (!method) method = model ? "draft_model" : "";
  if (*method == "ngram") {
    config.method = SpeculativeMethod::Ngram;
    if (model) fail("method \"ngram\" takes no \"model\"");
    // vLLM's defaults: 5 and 5; one bound given sets the other.
    if (!lookup_min && lookup_max) lookup_min = lookup_max;
    if (!lookup_max && lookup_min) lookup_max = lookup_min;
    config.prompt_lookup_min = lookup_min.value_or(5);
    config.prompt_lookup_max = lookup_max.value_or(5);
    if (config.prompt_lookup_min < 1) fail("\"prompt_lookup_min\" must be at least 1");
    if (config.prompt_lookup_max < config.prompt_lookup_min)
      fail("\"prompt_lookup_max\" (" + std::to_string(config.prompt_lookup_max) + ") must not be below \"prompt_lookup_min\" (" +
           std::to_string(config.prompt_lookup_min) + ")");
  } else if (*method == "draft_model") {
    config.method = SpeculativeMethod::Draft;
    if (!model || model->empty()) fail("method \"draft_model\" needs \"model\": the draft model's path");
    if (lookup_min || lookup_max) fail("\"prompt_lookup_min\"/\"prompt_lookup_max\" belong to method \"ngram\"");
    config.draft_model = *model;
  } else if (method->empty()) {
    fail("needs \"method\" (\"ngram\" or \"draft_model\") or a draft \"model\"");
  } else {
    fail("method \"" + *method + "\" is not supported (supported: ngram, draft_model)");
  }
  if (!k) fail("needs \"num_speculative_tokens\"");
  if (*k < 1 || *k > SpeculativeConfig::kMaxSpeculativeTokens)
    fail("\"num_speculative_tokens\" must be 1 to " + std::to_string(SpeculativeConfig::kMaxSpeculativeTokens) + ", got " +
         std::to_string(*k));
  config.num_speculative_tokens = *k;
  return config;
}

std::string describe(const SpeculativeConfig& config) {
  const std::string k = " k=" + std::to_string(config.num_speculative_tokens) +
                        " disable_by_batch_size=" + std::to_string(config.batch_size_limit());
  switch (config.method) {
    case SpeculativeMethod::Ngram:
      return "ngram lookup=[" + std::to_string(config.prompt_lookup_min) + "," + std::to_string(config.prompt_lookup_max) +
             "]" + k;
    case SpeculativeMethod::Draft:
      return "draft_model " + config.draft_model + k;
    case SpeculativeMethod::None:
      break;
  }
  return "off";
}

}  // namespace troupe
