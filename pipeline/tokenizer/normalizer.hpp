#pragma once
// Normalization applied before pre-tokenization (Hugging Face "normalizer"): a sequence of steps,
// each one of Unicode normalization forms (done by utf8proc), a literal replacement, or a prefix.
// Byte-level BPE tokenizers use at most NFC (Qwen); SentencePiece-style ones spell spaces as "▁"
// (Replace " " → "▁") and, in Llama 2's legacy form, put one before every text segment (Prepend).
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

enum class NormalizationForm { NFC, NFD, NFKC, NFKD };

struct NormalizerStep {
  enum class Kind { Form, Replace, Prepend };
  Kind kind = Kind::Form;
  NormalizationForm form = NormalizationForm::NFC;  // Kind::Form
  std::string pattern;                              // Kind::Replace: the literal text replaced (non-empty)
  std::string content;                              // Kind::Replace: its replacement; Kind::Prepend: the prefix

  static NormalizerStep unicode(NormalizationForm f) { return {Kind::Form, f, {}, {}}; }
  static NormalizerStep replace(std::string pattern, std::string content) {
    return {Kind::Replace, NormalizationForm::NFC, std::move(pattern), std::move(content)};
  }
  static NormalizerStep prepend(std::string prefix) { return {Kind::Prepend, NormalizationForm::NFC, {}, std::move(prefix)}; }
};

class Normalizer {
 public:
  Normalizer() = default;
  explicit Normalizer(std::vector<NormalizerStep> steps) : steps_(std::move(steps)) {}
  explicit Normalizer(std::vector<NormalizationForm> forms) {
    for (const NormalizationForm f : forms) steps_.push_back(NormalizerStep::unicode(f));
  }

  bool empty() const { return steps_.empty(); }
  const std::vector<NormalizerStep>& steps() const { return steps_; }

  // False when apply(text) would return `text` unchanged for certain: no steps, or only Unicode
  // forms and pure ASCII text (which every form leaves as it is). Lets callers skip the copy.
  bool may_change(std::string_view text) const;

  // Applies every step in order. `text` must be valid UTF-8. Empty text stays empty (a prefix is
  // only put before something, as Hugging Face's Prepend does).
  std::string apply(std::string_view text) const;

 private:
  std::vector<NormalizerStep> steps_;
};

}  // namespace troupe
