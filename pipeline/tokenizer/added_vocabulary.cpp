#include "pipeline/tokenizer/added_vocabulary.hpp"

#include <utf8proc.h>

#include <algorithm>

#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {
namespace {

// Word characters for `single_word`: letters, numbers and the underscore.
bool is_word_char(char32_t cp) {
  if (cp == U'_') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

// The character that ends at `end` (exclusive), found by walking back over continuation bytes.
char32_t char_before(std::string_view text, std::size_t end, std::size_t& start) {
  start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80 && end - start < 4) --start;
  std::size_t len = 0;
  return utf8::decode(text, start, len);
}

}  // namespace

void AddedVocabulary::Trie::insert(std::string_view key, int32_t token) {
  if (nodes.empty()) nodes.emplace_back();
  first_byte[static_cast<unsigned char>(key.front())] = true;
  int32_t node = 0;
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    int32_t next = child(node, byte);
    if (next < 0) {
      next = static_cast<int32_t>(nodes.size());
      auto& children = nodes[static_cast<std::size_t>(node)].children;
      const auto at = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{-1}));
      children.insert(at, {byte, next});
      nodes.emplace_back();
    }
    node = next;
  }
  // The first token given for a string wins, like a vocabulary lookup.
  if (nodes[static_cast<std::size_t>(node)].token < 0) nodes[static_cast<std::size_t>(node)].token = token;
}

int32_t AddedVocabulary::Trie::child(int32_t node, unsigned char byte) const {
  const auto& children = nodes[static_cast<std::size_t>(node)].children;
  const auto at = std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{-1}));
  return at != children.end() && at->first == byte ? at->second : -1;
}

AddedVocabulary::AddedVocabulary(std::vector<AddedToken> tokens, const Normalizer& normalizer)
    : tokens_(std::move(tokens)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) {
    const AddedToken& t = tokens_[i];
    const std::string key = t.normalized ? normalizer.apply(t.content) : t.content;
    if (key.empty()) continue;
    tries_[t.normalized ? 1 : 0].insert(key, static_cast<int32_t>(i));
  }
}

int32_t AddedVocabulary::longest_at(const Trie& trie, std::string_view text, std::size_t pos,
                                    std::size_t& length) const {
  int32_t best = -1;
  int32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    node = trie.child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    const int32_t token = trie.nodes[static_cast<std::size_t>(node)].token;
    if (token >= 0) {
      best = token;
      length = i + 1 - pos;
    }
  }
  return best;
}

void AddedVocabulary::split(std::string_view text, bool normalized_set, bool parse_special,
                            std::vector<Segment>& out) const {
  const Trie& trie = tries_[normalized_set ? 1 : 0];
  if (trie.nodes.empty()) {
    if (!text.empty()) out.push_back({0, text.size(), -1});
    return;
  }
  std::size_t emitted = 0;  // end of what is already in `out`
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!trie.first_byte[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    std::size_t length = 0;
    const int32_t index = longest_at(trie, text, pos, length);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<std::size_t>(index)];
    std::size_t begin = pos;
    std::size_t end = pos + length;
    // A rejected match is still consumed: scanning resumes after it, as in Hugging Face.
    pos = end;
    if (token.special && !parse_special) continue;
    if (token.single_word) {
      std::size_t unused = 0;
      const bool word_before = begin > 0 && is_word_char(char_before(text, begin, unused));
      std::size_t len = 0;
      const bool word_after = end < text.size() && is_word_char(utf8::decode(text, end, len));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (begin > emitted) {
        std::size_t start = 0;
        if (!utf8::is_white_space(char_before(text, begin, start))) break;
        begin = start;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        std::size_t len = 0;
        if (!utf8::is_white_space(utf8::decode(text, end, len))) break;
        end += len;
      }
      pos = end;
    }
    if (begin > emitted) out.push_back({emitted, begin, -1});
    out.push_back({begin, end, token.id});
    emitted = end;
  }
  if (emitted < text.size()) out.push_back({emitted, text.size(), -1});
}

}  // namespace troupe
