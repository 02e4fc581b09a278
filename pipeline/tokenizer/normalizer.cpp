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

}  // namespace

bool Normalizer::may_change(std::string_view text) const { return !steps_.empty() && !is_ascii(text); }

std::string Normalizer::apply(std::string_view text) const {
  if (!may_change(text)) return std::string(text);
  std::string current(text);
  for (const NormalizationForm form : steps_) current = normalize(current, form);
  return current;
}

}  // namespace troupe
