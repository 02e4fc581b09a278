#include "pipeline/tokenizer/onig_regex.hpp"

#include <oniguruma.h>

#include <mutex>

#include "common/error.hpp"
#include "pipeline/tokenizer/unicode_properties.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {
namespace {

void initialize_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

// One match region per thread, reused across searches so the hot loop does not allocate.
struct RegionHolder {
  OnigRegion* region = onig_region_new();
  ~RegionHolder() { onig_region_free(region, 1); }
};

}  // namespace

OnigRegex::OnigRegex(const std::string& pattern, const std::string& origin) : pattern_(pattern) {
  initialize_oniguruma();
  regex_t* compiled = nullptr;
  OnigErrorInfo info{};
  // \p{L}, \p{N}, ... at Hugging Face's Unicode version, not libonig's older one.
  const std::string compiled_pattern = with_current_unicode_properties(pattern);
  const auto* begin = reinterpret_cast<const OnigUChar*>(compiled_pattern.data());
  const int rc = onig_new(&compiled, begin, begin + compiled_pattern.size(), ONIG_OPTION_NONE, ONIG_ENCODING_UTF8,
                          ONIG_SYNTAX_DEFAULT, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, rc, &info);
    throw ModelError(origin + ": pre-tokenizer regex does not compile (" +
                     reinterpret_cast<const char*>(message) + "): " + pattern);
  }
  regex_ = compiled;
}

OnigRegex::~OnigRegex() {
  if (regex_ != nullptr) onig_free(static_cast<regex_t*>(regex_));
}

void OnigRegex::find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const {
  thread_local RegionHolder holder;
  auto* regex = static_cast<regex_t*>(regex_);
  const auto* str = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = str + text.size();
  std::size_t pos = 0;
  while (pos < text.size()) {
    onig_region_clear(holder.region);
    const int found = onig_search(regex, str, end, str + pos, end, holder.region, ONIG_OPTION_NONE);
    if (found < 0) break;  // ONIG_MISMATCH, or an error on input that is not valid UTF-8
    const auto match_begin = static_cast<std::size_t>(holder.region->beg[0]);
    const auto match_end = static_cast<std::size_t>(holder.region->end[0]);
    if (match_end > match_begin) {
      out.emplace_back(match_begin, match_end);
      pos = match_end;
    } else {
      // An empty match contributes nothing; step over one character and search again.
      pos = match_begin + utf8::sequence_length(static_cast<unsigned char>(text[match_begin]));
    }
  }
}

}  // namespace troupe
