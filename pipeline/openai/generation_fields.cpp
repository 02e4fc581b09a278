#include "pipeline/openai/generation_fields.hpp"

#include <algorithm>

#include "pipeline/openai/api_exception.hpp"
#include "pipeline/openai/logit_fields.hpp"
#include "pipeline/openai/request_limits.hpp"

namespace troupe {

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

}  // namespace

std::string read_model(const FieldReader& fields, const ApiContext& context) {
  const std::optional<std::string> model = fields.string("model");
  if (!model) return context.served_model_name;
  if (*model != context.served_model_name) throw ApiException(model_not_found(*model, context.served_model_name));
  return *model;
}

void read_sampling_fields(const FieldReader& fields, SamplingParams& sampling) {
  if (auto t = fields.number("temperature", {.min = 0.0, .max = 2.0})) sampling.temperature = *t;
  if (auto p = fields.number("top_p", {.min = 0.0, .max = 1.0, .min_exclusive = true})) sampling.top_p = *p;
  // vLLM spells "no limit" as -1 or 0.
  if (auto k = fields.integer("top_k", -1, kInt32Max)) sampling.top_k = *k < 0 ? 0 : *k;
  if (auto m = fields.number("min_p", {.min = 0.0, .max = 1.0})) sampling.min_p = *m;
  if (auto seed = fields.integer("seed", std::numeric_limits<int64_t>::min(), kInt64Max)) {
    sampling.seed = static_cast<uint64_t>(*seed);
  }
  const auto presence = fields.number("presence_penalty", {.min = -2.0, .max = 2.0});
  const auto frequency = fields.number("frequency_penalty", {.min = -2.0, .max = 2.0});
  const auto repetition = fields.number("repetition_penalty", {.min = 0.0, .max = 1.0e9, .min_exclusive = true});
  if (presence) sampling.presence_penalty = *presence;
  if (frequency) sampling.frequency_penalty = *frequency;
  if (repetition) sampling.repetition_penalty = *repetition;
}

void read_stop_fields(const FieldReader& fields, const ApiContext& context, StopCriteria& stop,
                      std::initializer_list<std::string_view> max_token_names, int64_t default_max_tokens) {
  const int64_t max_allowed = context.max_model_len > 0 ? context.max_model_len : kInt64Max;
  stop.max_tokens = default_max_tokens;
  for (std::string_view name : max_token_names) {
    if (auto max_tokens = fields.integer(name, 1, max_allowed)) {
      stop.max_tokens = *max_tokens;
      break;
    }
  }
  if (auto min_tokens = fields.integer("min_tokens", 0, max_allowed)) {
    if (*min_tokens > stop.max_tokens) {
      throw_invalid("'min_tokens' (" + std::to_string(*min_tokens) + ") must be at most max_tokens (" +
                        std::to_string(stop.max_tokens) + ").",
                    "min_tokens");
    }
    stop.min_tokens = *min_tokens;
  }
  // Counted before the entries are read, so that a huge list costs nothing beyond its parse.
  if (const boost::json::value* list = fields.find("stop"); list != nullptr && list->is_array()) {
    check_list_length("stop", list->as_array().size(), kMaxStopStrings, "strings");
  }
  if (auto strings = fields.string_or_strings("stop")) {
    for (const std::string& s : *strings) {
      if (s.empty()) throw_invalid("'stop' strings must not be empty.", "stop");
      if (s.size() > kMaxStopStringBytes) {
        throw_invalid("'stop' strings may be at most " + std::to_string(kMaxStopStringBytes) + " bytes long, got " +
                          std::to_string(s.size()) + ".",
                      "stop");
      }
    }
    stop.stop = std::move(*strings);
  }
  if (const boost::json::value* list = fields.find("stop_token_ids"); list != nullptr && list->is_array()) {
    check_list_length("stop_token_ids", list->as_array().size(), kMaxStopTokenIds, "token ids");
  }
  if (auto ids = fields.integers("stop_token_ids", 0, kInt32Max)) {
    std::vector<int64_t> out_of_vocab;
    for (int64_t id : *ids) {
      if (context.vocab_size > 0 && id >= context.vocab_size) out_of_vocab.push_back(id);
    }
    if (!out_of_vocab.empty()) {
      throw_invalid(out_of_vocabulary_message("stop_token_ids", out_of_vocab, context.vocab_size), "stop_token_ids");
    }
    stop.stop_token_ids.assign(ids->begin(), ids->end());
  }
  if (auto ignore = fields.boolean("ignore_eos")) stop.ignore_eos = *ignore;
  if (auto include = fields.boolean("include_stop_str_in_output")) stop.include_stop_str_in_output = *include;
}

void read_delivery_fields(const FieldReader& fields, GenerationRequest& request) {
  if (auto n = fields.integer("n", 1, kMaxChoices)) request.n = static_cast<int>(*n);
  if (auto stream = fields.boolean("stream")) request.stream = *stream;
  if (const boost::json::object* options = fields.object("stream_options")) {
    if (!request.stream) {
      throw_invalid("'stream_options' can only be given when 'stream' is true.", "stream_options");
    }
    const FieldReader option_fields(*options);
    for (std::string_view name : {"include_usage", "continuous_usage_stats"}) {
      try {
        if (auto value = option_fields.boolean(name)) {
          (name == "include_usage" ? request.include_usage : request.continuous_usage_stats) = *value;
        }
      } catch (const ApiException& e) {
        ApiError error = e.error();
        error.param = "stream_options." + std::string(name);
        throw ApiException(std::move(error));
      }
    }
  }
  fields.string("user");  // accepted for accounting by clients; only its type is checked
  if (auto skip = fields.boolean("skip_special_tokens")) request.skip_special_tokens = *skip;
  if (auto ids = fields.boolean("return_token_ids")) request.return_token_ids = *ids;
  // vLLM's spaces_between_special_tokens changes only its slow (Python) tokenizers' decoding; the
  // text here is decoded as its fast tokenizers do, without added spaces, so it has no effect.
  fields.boolean("spaces_between_special_tokens");
}

void read_prompt_truncation(const FieldReader& fields, const ApiContext& context, GenerationRequest& request) {
  const std::optional<int64_t> n = fields.integer("truncate_prompt_tokens", -1, kInt64Max);
  if (!n) return;
  if (*n == -1) {
    request.truncate_prompt_tokens = context.max_model_len;  // 0 when unknown: nothing to cut to
    return;
  }
  if (context.max_model_len > 0 && *n > context.max_model_len) {
    throw_invalid("truncate_prompt_tokens value (" + std::to_string(*n) + ") is greater than max_model_len (" +
                      std::to_string(context.max_model_len) + "). Please, select a smaller truncation size.",
                  "truncate_prompt_tokens");
  }
  request.truncate_prompt_tokens = *n;
}

void read_prompt_logprobs(const FieldReader& fields, GenerationRequest& request) {
  const std::optional<int64_t> n = fields.integer("prompt_logprobs", 0, kMaxTopLogprobs);
  if (!n) return;
  if (request.stream) throw_invalid("`prompt_logprobs` are not available when `stream=True`.", "prompt_logprobs");
  request.prompt_logprobs = static_cast<int>(*n);
  request.sampling.prompt_logprobs = std::max(request.sampling.prompt_logprobs.value_or(0), static_cast<int>(*n));
}

void reject_unsupported_fields(const FieldReader& fields, const GenerationRequest& request) {
  if (auto best_of = fields.integer("best_of", 1, kMaxChoices); best_of && *best_of != request.n) {
    throw_invalid("'best_of' is not supported (other than equal to 'n').", "best_of");
  }
}

}  // namespace troupe
