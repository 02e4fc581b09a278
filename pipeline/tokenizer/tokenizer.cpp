#include "pipeline/tokenizer/tokenizer.hpp"

#include <algorithm>
#include <deque>

#include "common/error.hpp"
#include "pipeline/tokenizer/byte_level.hpp"
#include "pipeline/tokenizer/sentencepiece_model.hpp"
#include "pipeline/tokenizer/utf8.hpp"

namespace troupe {
namespace {

BpeModel make_model(TokenizerParts& parts) {
  if (!parts.id_merges.empty()) {
    return BpeModel(std::move(parts.vocab), parts.id_merges, parts.bpe_options, parts.merge_characters);
  }
  return BpeModel(std::move(parts.vocab), parts.merges, parts.bpe_options, parts.origin);
}

// "<0xNN>" with uppercase hex digits: the byte token of a SentencePiece vocabulary.
std::optional<char> fallback_byte(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return std::nullopt;
  int value = 0;
  for (const char c : token.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9') {
      value += c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value += c - 'A' + 10;
    } else {
      return std::nullopt;
    }
  }
  return static_cast<char>(value);
}

// The bytes one token stands for under `decoder`.
std::string token_bytes_of(std::string_view spelling, const TokenDecoder& decoder) {
  if (decoder.byte_level) return byte_level::decode_token(spelling);
  if (decoder.byte_fallback) {
    if (const auto byte = fallback_byte(spelling)) return std::string(1, *byte);
  }
  if (decoder.space_marker.empty()) return std::string(spelling);
  std::string out;
  out.reserve(spelling.size());
  std::size_t pos = 0;
  for (std::size_t at = spelling.find(decoder.space_marker); at != std::string_view::npos;
       at = spelling.find(decoder.space_marker, pos)) {
    out.append(spelling.substr(pos, at - pos)).push_back(' ');
    pos = at + decoder.space_marker.size();
  }
  out.append(spelling.substr(pos));
  return out;
}

}  // namespace

struct Tokenizer::Impl {
  std::string origin;
  BpeModel model;
  AddedVocabulary added;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  std::shared_ptr<const SentencePieceModel> sentencepiece;
  TokenDecoder decoder;
  std::vector<int32_t> prefix_ids;
  std::vector<int32_t> suffix_ids;
  std::optional<int32_t> bos_id;
  std::vector<int32_t> eos_ids;
  // Indexed by id: vocabulary spelling, decoded bytes, and whether it is a special token.
  std::vector<std::string> spelling;
  std::vector<std::string> bytes;
  std::vector<char> special;
  StringIdMap added_ids;  // content -> id of added tokens

  explicit Impl(TokenizerParts& parts)
      : origin(parts.origin),
        model(make_model(parts)),
        added(std::move(parts.added_tokens), parts.normalizer),
        normalizer(std::move(parts.normalizer)),
        pre_tokenizer(std::move(parts.pre_tokenizer)),
        sentencepiece(std::move(parts.sentencepiece)),
        decoder(std::move(parts.decoder)),
        prefix_ids(std::move(parts.prefix_ids)),
        suffix_ids(std::move(parts.suffix_ids)),
        bos_id(parts.bos_id),
        eos_ids(std::move(parts.eos_ids)) {
    int32_t size = 0;
    for (const auto& [text, id] : model.vocab()) {
      if (id < 0) throw ModelError(origin + ": negative token id " + std::to_string(id) + " for \"" + text + "\"");
      size = std::max(size, id + 1);
    }
    for (const AddedToken& t : added.tokens()) {
      if (t.id < 0) throw ModelError(origin + ": negative id for added token \"" + t.content + "\"");
      size = std::max(size, t.id + 1);
    }
    spelling.resize(static_cast<std::size_t>(size));
    bytes.resize(static_cast<std::size_t>(size));
    special.assign(static_cast<std::size_t>(size), 0);
    for (const auto& [text, id] : model.vocab()) {
      spelling[static_cast<std::size_t>(id)] = text;
      bytes[static_cast<std::size_t>(id)] = token_bytes_of(text, decoder);
    }
    // Added tokens go through the same decoder: with ByteLevel, contents outside the byte-level
    // alphabet come out as written and ASCII-only contents map to themselves.
    for (const AddedToken& t : added.tokens()) {
      const auto i = static_cast<std::size_t>(t.id);
      // A token matched in normalized text is known by its normalized spelling, also when decoded.
      spelling[i] = t.normalized ? normalizer.apply(t.content) : t.content;
      bytes[i] = token_bytes_of(spelling[i], decoder);
      special[i] = t.special ? 1 : 0;
      added_ids.try_emplace(t.content, t.id);
      added_ids.try_emplace(spelling[i], t.id);
    }
  }

  // Normalizes, pre-tokenizes and BPE-encodes text that holds no added token of the raw set.
  // `input_start`: the text begins the whole input (not after an added token).
  void encode_text(std::string_view text, bool parse_special, bool input_start, std::vector<int32_t>& out) const {
    if (sentencepiece) {
      sentencepiece->encode(text, input_start, out);
      return;
    }
    // Scratch space reused across calls on this thread, so encoding does not allocate per piece.
    thread_local std::string normalized_storage;
    thread_local std::vector<AddedVocabulary::Segment> segments;
    thread_local std::deque<std::string> storage;
    thread_local std::vector<std::string_view> words;
    std::string_view normalized = text;
    if (normalizer.may_change(text)) {
      normalized_storage = normalizer.apply(text);
      normalized = normalized_storage;
    }
    segments.clear();
    if (added.has_set(true)) {
      added.split(normalized, true, parse_special, segments);
    } else {
      segments.push_back({0, normalized.size(), -1});
    }
    storage.clear();
    for (const auto& segment : segments) {
      if (segment.id >= 0) {
        out.push_back(segment.id);
        continue;
      }
      words.clear();
      pre_tokenizer.run(normalized.substr(segment.begin, segment.end - segment.begin), storage, words,
                        input_start && segment.begin == 0);
      for (const std::string_view word : words) model.encode_word(word, out);
    }
  }
};

Tokenizer::Tokenizer(TokenizerParts parts) : impl_(std::make_shared<const Impl>(parts)) {}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens, bool parse_special) const {
  const Impl& impl = *impl_;
  std::string repaired;
  if (!utf8::is_valid(text)) {
    repaired = utf8::to_valid_lossy(text);
    text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids.insert(ids.end(), impl.prefix_ids.begin(), impl.prefix_ids.end());
  std::vector<AddedVocabulary::Segment> segments;
  impl.added.split(text, false, parse_special, segments);
  for (const auto& segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
    } else {
      impl.encode_text(text.substr(segment.begin, segment.end - segment.begin), parse_special, segment.begin == 0, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), impl.suffix_ids.begin(), impl.suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& impl = *impl_;
  std::string raw;
  // The spaces a SentencePiece-style encoding put before the text are not part of it: dropped from
  // the start of the text, or from the first token's own text only.
  const auto strip_leading = [&](std::size_t from) {
    std::size_t end = from;
    while (end - from < static_cast<std::size_t>(impl.decoder.strip_leading_spaces) && end < raw.size() && raw[end] == ' ') {
      ++end;
    }
    raw.erase(from, end - from);
  };
  bool first = true;
  for (const int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;
    const auto i = static_cast<std::size_t>(id);
    const bool skipped = skip_special_tokens && impl.special[i];
    if (!skipped) raw += impl.bytes[i];
    if (first && impl.decoder.strip_first_token_only) strip_leading(0);
    first = false;
  }
  if (!impl.decoder.strip_first_token_only) strip_leading(0);
  if (utf8::is_valid(raw)) return raw;
  return utf8::to_valid_lossy(raw);
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->spelling.size()); }

std::optional<int32_t> Tokenizer::token_id(std::string_view token) const {
  if (const auto it = impl_->added_ids.find(token); it != impl_->added_ids.end()) return it->second;
  if (const auto it = impl_->model.vocab().find(token); it != impl_->model.vocab().end()) return it->second;
  return std::nullopt;
}

std::string_view Tokenizer::token_text(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return impl_->spelling[static_cast<std::size_t>(id)];
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size()) return {};
  return impl_->bytes[static_cast<std::size_t>(id)];
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && impl_->special[static_cast<std::size_t>(id)] != 0;
}

std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
std::vector<int32_t> Tokenizer::eos_ids() const { return impl_->eos_ids; }
bool Tokenizer::adds_bos() const {
  return impl_->bos_id && !impl_->prefix_ids.empty() && impl_->prefix_ids.front() == *impl_->bos_id;
}
const std::string& Tokenizer::origin() const { return impl_->origin; }

}  // namespace troupe
