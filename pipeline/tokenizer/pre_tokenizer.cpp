#include "pipeline/tokenizer/pre_tokenizer.hpp"

#include <algorithm>
#include <utility>

#include "pipeline/tokenizer/byte_level.hpp"

namespace troupe {
namespace {

struct Segment {
  std::size_t begin, end;
  bool is_match;
};

// Lays the matches of a pattern out as segments covering the whole piece, with `invert` applied.
void segments_of(const OnigRegex& regex, std::string_view piece, bool invert, std::vector<Segment>& segments) {
  thread_local std::vector<std::pair<std::size_t, std::size_t>> matches;
  matches.clear();
  regex.find_all(piece, matches);
  segments.clear();
  std::size_t pos = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > pos) segments.push_back({pos, begin, invert});
    segments.push_back({begin, end, !invert});
    pos = end;
  }
  if (pos < piece.size()) segments.push_back({pos, piece.size(), invert});
}

// segments_of over the byte-level characters of `piece` (as Hugging Face's steps after ByteLevel
// see it), with the segments' bounds put back on `piece`'s bytes. A byte's character is one or two
// UTF-8 bytes (all are below U+0800), and a match covers whole characters.
void byte_char_segments_of(const OnigRegex& regex, std::string_view piece, bool invert, std::vector<Segment>& segments) {
  thread_local std::string chars;
  thread_local std::vector<std::size_t> starts;  // starts[i]: where byte i's character begins in `chars`
  chars.clear();
  starts.clear();
  for (const char b : piece) {
    starts.push_back(chars.size());
    const char32_t c = byte_level::char_for_byte(static_cast<unsigned char>(b));
    if (c < 0x80) {
      chars.push_back(static_cast<char>(c));
    } else {
      chars.push_back(static_cast<char>(0xC0 | (c >> 6)));
      chars.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  starts.push_back(chars.size());
  segments_of(regex, chars, invert, segments);
  const auto byte_at = [](std::size_t offset) {
    return static_cast<std::size_t>(std::lower_bound(starts.begin(), starts.end(), offset) - starts.begin());
  };
  for (Segment& s : segments) s = {byte_at(s.begin), byte_at(s.end), s.is_match};
}

}  // namespace

void PreTokenizer::add_split(std::shared_ptr<const OnigRegex> regex, SplitBehavior behavior, bool invert, bool on_byte_chars) {
  Step step;
  step.regex = std::move(regex);
  step.behavior = behavior;
  step.invert = invert;
  step.on_byte_chars = on_byte_chars;
  steps_.push_back(std::move(step));
}

void PreTokenizer::add_digits(bool individual, const std::string& origin, bool on_byte_chars) {
  // \p{N} is Unicode Nd, Nl and No: the same set as Rust's char::is_numeric used by HF's Digits.
  add_split(std::make_shared<OnigRegex>(individual ? R"(\p{N})" : R"(\p{N}+)", origin), SplitBehavior::Isolated,
            false, on_byte_chars);
}

void PreTokenizer::add_punctuation(SplitBehavior behavior, const std::string& origin, bool on_byte_chars) {
  // Rust's is_ascii_punctuation (which counts $ + < = > ^ ` | ~, Unicode's symbols) or Unicode's P classes.
  add_split(std::make_shared<OnigRegex>(R"([\p{P}$+<=>^`|~])", origin), behavior, false, on_byte_chars);
}

void PreTokenizer::add_byte_level(bool add_prefix_space, bool use_regex, const std::string& origin) {
  if (add_prefix_space) {
    Step step;
    step.add_prefix_space = true;
    steps_.push_back(std::move(step));
  }
  if (use_regex) {
    add_split(std::make_shared<OnigRegex>(std::string(pretokenizer_patterns::kGpt2), origin),
              SplitBehavior::Isolated, false);
  }
}

void PreTokenizer::add_metaspace(std::string replacement, PrependScheme scheme, bool split) {
  Step step;
  step.metaspace = std::move(replacement);
  step.prepend = scheme;
  step.metaspace_split = split;
  steps_.push_back(std::move(step));
}

void PreTokenizer::run(std::string_view text, std::deque<std::string>& storage, std::vector<std::string_view>& out,
                       bool input_start) const {
  if (text.empty()) return;
  thread_local std::vector<std::string_view> current;
  thread_local std::vector<std::string_view> next;
  current.assign(1, text);
  for (const Step& step : steps_) {
    next.clear();
    // Only the first piece still begins where the text begins.
    for (std::size_t i = 0; i < current.size(); ++i) apply(step, current[i], input_start && i == 0, storage, next);
    current.swap(next);
  }
  for (const std::string_view piece : current) {
    if (!piece.empty()) out.push_back(piece);
  }
}

void PreTokenizer::apply_metaspace(const Step& step, std::string_view piece, bool input_start,
                                   std::deque<std::string>& storage, std::vector<std::string_view>& out) const {
  std::string& text = storage.emplace_back();
  text.reserve(piece.size() + step.metaspace.size());
  const bool prepend = step.prepend == PrependScheme::Always || (step.prepend == PrependScheme::First && input_start);
  // The check for an existing replacement is made on the text after spaces are replaced.
  if (prepend && !piece.empty() && piece.front() != ' ' && !piece.starts_with(step.metaspace)) text = step.metaspace;
  for (const char c : piece) {
    if (c == ' ') {
      text += step.metaspace;
    } else {
      text.push_back(c);
    }
  }
  const std::string_view all = text;
  if (!step.metaspace_split) {
    out.push_back(all);
    return;
  }
  // Cut before each replacement: "▁a▁b" → "▁a", "▁b"; consecutive ones stay separate pieces.
  std::size_t begin = 0;
  for (std::size_t at = all.find(step.metaspace, 1); at != std::string_view::npos;
       at = all.find(step.metaspace, at + step.metaspace.size())) {
    if (at > begin) out.push_back(all.substr(begin, at - begin));
    begin = at;
  }
  if (begin < all.size()) out.push_back(all.substr(begin));
}

void PreTokenizer::apply(const Step& step, std::string_view piece, bool input_start, std::deque<std::string>& storage,
                         std::vector<std::string_view>& out) const {
  if (!step.metaspace.empty()) {
    apply_metaspace(step, piece, input_start, storage, out);
    return;
  }
  if (step.regex == nullptr) {
    if (piece.empty() || piece.front() == ' ') {
      out.push_back(piece);
    } else {
      std::string& prefixed = storage.emplace_back();
      prefixed.reserve(piece.size() + 1);
      prefixed.push_back(' ');
      prefixed.append(piece);
      out.push_back(prefixed);
    }
    return;
  }
  thread_local std::vector<Segment> segments;
  if (step.on_byte_chars) {
    byte_char_segments_of(*step.regex, piece, step.invert, segments);
  } else {
    segments_of(*step.regex, piece, step.invert, segments);
  }
  auto view = [&](std::size_t begin, std::size_t end) { return piece.substr(begin, end - begin); };
  switch (step.behavior) {
    case SplitBehavior::Removed:
      for (const Segment& s : segments) {
        if (!s.is_match) out.push_back(view(s.begin, s.end));
      }
      break;
    case SplitBehavior::Isolated:
      for (const Segment& s : segments) out.push_back(view(s.begin, s.end));
      break;
    case SplitBehavior::MergedWithPrevious: {
      // A match joins the segment before it, unless that segment is itself a match.
      std::size_t begin = 0;
      bool have = false, previous_match = false;
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && have) {
          out.back() = view(begin, s.end);
        } else {
          out.push_back(view(s.begin, s.end));
          begin = s.begin;
          have = true;
        }
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      // A match joins the segment after it, unless that segment is itself a match.
      std::vector<std::string_view> reversed;
      bool next_match = false;
      std::size_t end = 0;
      bool have = false;
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !next_match && have) {
          reversed.back() = view(it->begin, end);
        } else {
          reversed.push_back(view(it->begin, it->end));
          end = it->end;
          have = true;
        }
        next_match = it->is_match;
      }
      out.insert(out.end(), reversed.rbegin(), reversed.rend());
      break;
    }
    case SplitBehavior::Contiguous: {
      // Consecutive matches form one segment.
      bool previous_match = false;
      std::size_t begin = 0;
      for (const Segment& s : segments) {
        if (s.is_match && previous_match) {
          out.back() = view(begin, s.end);
        } else {
          out.push_back(view(s.begin, s.end));
          begin = s.begin;
        }
        previous_match = s.is_match;
      }
      break;
    }
  }
}

}  // namespace troupe
