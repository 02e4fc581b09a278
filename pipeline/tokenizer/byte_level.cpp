#include "pipeline/tokenizer/byte_level.hpp"

#include "pipeline/tokenizer/utf8.hpp"

namespace troupe::byte_level {
namespace {

bool stands_for_itself(unsigned byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> char_of_byte{};
  // Characters of the alphabet are all below U+0144 (0x100 + 68), so a flat table covers them.
  static constexpr char32_t kLimit = 0x100 + 68;
  std::array<int, kLimit> byte_of_char{};

  Tables() {
    byte_of_char.fill(-1);
    char32_t next_shifted = 0x100;
    for (unsigned byte = 0; byte < 256; ++byte) {
      const char32_t cp = stands_for_itself(byte) ? byte : next_shifted++;
      char_of_byte[byte] = cp;
      byte_of_char[cp] = static_cast<int>(byte);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

char32_t char_for_byte(unsigned char byte) { return tables().char_of_byte[byte]; }

std::optional<unsigned char> byte_for_char(char32_t cp) {
  if (cp >= Tables::kLimit) return std::nullopt;
  const int b = tables().byte_of_char[cp];
  if (b < 0) return std::nullopt;
  return static_cast<unsigned char>(b);
}

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) utf8::append(out, char_for_byte(static_cast<unsigned char>(c)));
  return out;
}

std::string decode_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (std::size_t pos = 0; pos < token.size();) {
    std::size_t len = 0;
    const char32_t cp = utf8::decode(token, pos, len);
    const auto byte = byte_for_char(cp);
    if (!byte) return std::string(token);  // malformed UTF-8 decodes to U+FFFD: also outside
    out.push_back(static_cast<char>(*byte));
    pos += len;
  }
  return out;
}

}  // namespace troupe::byte_level
