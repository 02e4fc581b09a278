#pragma once
// vLLM's --speculative-config: which proposer guesses the next tokens of a sequence, how many, and
// when speculation is turned off. Parsed from the same JSON vLLM takes.
#include <cstdint>
#include <string>

namespace troupe {

enum class SpeculativeMethod {
  None,   // no speculation (the default)
  Ngram,  // prompt lookup: continue the latest earlier occurrence of the sequence's last n tokens
  Draft,  // a smaller model with the target's vocabulary proposes greedily
};

struct SpeculativeConfig {
  SpeculativeMethod method = SpeculativeMethod::None;
  int64_t num_speculative_tokens = 0;  // K: tokens proposed per step and sequence (1..32)
  // n-gram lookup: the suffix lengths tried, longest first.
  int64_t prompt_lookup_min = 5;
  int64_t prompt_lookup_max = 5;
  std::string draft_model;  // Draft: path or alias of the draft model
  // No sequence speculates in a step when more than this many sequences decode in it: a batch this
  // large already keeps the device busy, and K extra rows each would cost more than they save.
  // vLLM's key of the same name; 0 takes troupe's default (kDefaultDisableByBatchSize).
  int64_t disable_by_batch_size = 0;

  static constexpr int64_t kDefaultDisableByBatchSize = 8;
  static constexpr int64_t kMaxSpeculativeTokens = 32;

  bool enabled() const { return method != SpeculativeMethod::None && num_speculative_tokens > 0; }
  int64_t batch_size_limit() const {
    return disable_by_batch_size > 0 ? disable_by_batch_size : kDefaultDisableByBatchSize;
  }
};

// Parses vLLM's JSON: {"method": "ngram", "num_speculative_tokens": K, "prompt_lookup_min": A,
// "prompt_lookup_max": B} or {"model": PATH, "num_speculative_tokens": K} (method "draft_model"
// optional), plus "disable_by_batch_size". An empty text is no speculation. Throws ConfigError
// naming the key for anything else (unknown keys, methods troupe does not have, bad numbers).
SpeculativeConfig parse_speculative_config(const std::string& json_text);

// "ngram k=4 lookup=[2,5]" / "draft_model PATH k=4" / "off": for the start-up log.
std::string describe(const SpeculativeConfig& config);

}  // namespace troupe
