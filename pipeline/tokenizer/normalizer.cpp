#include "pipeline/tokenizer/normalizer.hpp"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace troupe {
namespace {

bool is_ascii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

int options_for(NormalizationForm form) {
  // STABLE: no unassigned code points are changed, as the Unicode normalization forms require.
  switch (form) {
    case NormalizationForm::NFC: return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    case NormalizationForm::NFD: return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    case NormalizationForm::NFKC: return UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    case NormalizationForm::NFKD: return UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  }
  return UTF8PROC_STABLE | UTF8PROC_COMPOSE;
}

std::string normalize(std::string_view text, NormalizationForm form) {
  if (is_ascii(text)) return std::string(text);  // every form leaves ASCII as it is
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                   &mapped, static_cast<utf8proc_option_t>(options_for(form)));
  if (n < 0) {
    // Only reachable with invalid UTF-8, which the tokenizer replaces before normalizing.
    throw std::invalid_argument(std::string("Unicode normalization failed: ") + utf8proc_errmsg(n));
  }
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  return std::string(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(n));
}

std::string replace_all(std::string_view text, std::string_view pattern, std::string_view content) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (std::size_t at = text.find(pattern); at != std::string_view::npos; at = text.find(pattern, pos)) {
    out.append(text.substr(pos, at - pos)).append(content);
    pos = at + pattern.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

bool Normalizer::may_change(std::string_view text) const {
  for (const NormalizerStep& step : steps_) {
    if (step.kind != NormalizerStep::Kind::Form) return !text.empty();
  }
  return !steps_.empty() && !is_ascii(text);
}

std::string Normalizer::apply(std::string_view text) const {
  if (!may_change(text)) return std::string(text);
  std::string current(text);
  for (const NormalizerStep& step : steps_) {
    switch (step.kind) {
      case NormalizerStep::Kind::Form: current = normalize(current, step.form); break;
      case NormalizerStep::Kind::Replace: current = replace_all(current, step.pattern, step.content); break;
      case NormalizerStep::Kind::Prepend:
        if (!current.empty()) current.insert(0, step.content);
        break;
    }
  }
  return current;
}

}  // namespace troupe
