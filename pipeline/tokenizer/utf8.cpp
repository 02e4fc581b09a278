#include "pipeline/tokenizer/utf8.hpp"

namespace troupe::utf8 {
namespace {

// Length of the well-formed prefix (possibly incomplete) of the sequence starting at text[pos],
// following the byte ranges of Unicode table 3-7. `complete` tells whether it is a whole character.
std::size_t well_formed_prefix(std::string_view text, std::size_t pos, bool& complete) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  complete = false;
  if (b0 < 0x80) {
    complete = true;
    return 1;
  }
  std::size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;  // a byte that never starts a character
  }
  std::size_t taken = 1;
  for (std::size_t k = 0; k < need; ++k) {
    if (pos + taken >= text.size()) return taken;
    const auto b = static_cast<unsigned char>(text[pos + taken]);
    const unsigned char min = k == 0 ? lo : 0x80;
    const unsigned char max = k == 0 ? hi : 0xBF;
    if (b < min || b > max) return taken;
    ++taken;
  }
  complete = true;
  return taken;
}

}  // namespace

std::size_t sequence_length(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  return 1;
}

char32_t decode(std::string_view text, std::size_t pos, std::size_t& length) {
  bool complete = false;
  const std::size_t n = well_formed_prefix(text, pos, complete);
  if (!complete) {
    length = 1;
    return 0xFFFD;
  }
  length = n;
  const auto b0 = static_cast<unsigned char>(text[pos]);
  if (n == 1) return b0;
  char32_t cp = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[pos + k]) & 0x3F);
  return cp;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_valid(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    bool complete = false;
    const std::size_t n = well_formed_prefix(text, pos, complete);
    if (!complete) return false;
    pos += n;
  }
  return true;
}

std::size_t complete_prefix_length(std::string_view text) {
  // Only the last three bytes can be an incomplete sequence; find the last lead byte among them.
  const std::size_t size = text.size();
  const std::size_t first = size > 3 ? size - 3 : 0;
  for (std::size_t pos = size; pos-- > first;) {
    const auto b = static_cast<unsigned char>(text[pos]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for its lead
    bool complete = false;
    const std::size_t n = well_formed_prefix(text, pos, complete);
    // Held back only when the tail from this lead byte is a well-formed but unfinished sequence.
    if (!complete && n > 0 && pos + n == size) return pos;
    return size;
  }
  return size;
}

void append_valid_lossy(std::string& out, std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    // Copy ASCII runs without per-byte checks.
    std::size_t run = pos;
    while (run < bytes.size() && static_cast<unsigned char>(bytes[run]) < 0x80) ++run;
    out.append(bytes.data() + pos, run - pos);
    pos = run;
    if (pos >= bytes.size()) break;
    bool complete = false;
    const std::size_t n = well_formed_prefix(bytes, pos, complete);
    if (complete) {
      out.append(bytes.data() + pos, n);
      pos += n;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD for the maximal ill-formed subpart
      pos += n == 0 ? 1 : n;
    }
  }
}

std::string to_valid_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  append_valid_lossy(out, bytes);
  return out;
}

bool is_white_space(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

}  // namespace troupe::utf8
