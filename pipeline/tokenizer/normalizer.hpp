#pragma once
// Unicode normalization applied before pre-tokenization (Hugging Face "normalizer"): a sequence of
// normalization forms, each done by utf8proc. Byte-level BPE tokenizers use at most NFC (Qwen).
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

enum class NormalizationForm { NFC, NFD, NFKC, NFKD };

class Normalizer {
 public:
  Normalizer() = default;
  explicit Normalizer(std::vector<NormalizationForm> steps) : steps_(std::move(steps)) {}

  bool empty() const { return steps_.empty(); }
  const std::vector<NormalizationForm>& steps() const { return steps_; }

  // False when apply(text) would return `text` unchanged for certain: no steps, or pure ASCII
  // (which every normalization form leaves as it is). Lets callers skip the copy.
  bool may_change(std::string_view text) const;

  // Applies every step in order. `text` must be valid UTF-8. Pure ASCII text is returned as is:
  // every normalization form leaves it unchanged.
  std::string apply(std::string_view text) const;

 private:
  std::vector<NormalizationForm> steps_;
};

}  // namespace troupe
