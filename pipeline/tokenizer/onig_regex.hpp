#pragma once
// A compiled Oniguruma regular expression over UTF-8 text. Hugging Face tokenizers compiles its
// pre-tokenizer patterns with Oniguruma's default syntax and no options; this class does the same
// so that \s, \p{L}, \p{N} and caseless groups such as (?i:'s) match exactly as they do there.
// Searching is thread-safe: the compiled pattern is read-only and match regions are per thread.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe {

class OnigRegex {
 public:
  // Throws ModelError naming `origin` (the file the pattern came from) when it does not compile.
  OnigRegex(const std::string& pattern, const std::string& origin);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  const std::string& pattern() const { return pattern_; }

  // Appends the [begin, end) byte ranges of all non-overlapping, non-empty matches, left to right.
  void find_all(std::string_view text, std::vector<std::pair<std::size_t, std::size_t>>& out) const;

 private:
  std::string pattern_;
  void* regex_ = nullptr;  // OnigRegex (regex_t*), kept opaque so the header needs no oniguruma.h
};

}  // namespace troupe
