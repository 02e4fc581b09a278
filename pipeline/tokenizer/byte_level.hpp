#pragma once
// The byte-level alphabet of GPT-2 style BPE: every byte value is shown as one printable Unicode
// character, so that vocabularies and merges are plain strings. Bytes 0x21-0x7E, 0xA1-0xAC and
// 0xAE-0xFF stand for themselves; the other 68 bytes map, in increasing order, to U+0100 and up.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::byte_level {

// The character that stands for `byte`.
char32_t char_for_byte(unsigned char byte);

// The byte a character stands for, or nullopt for characters outside the alphabet.
std::optional<unsigned char> byte_for_char(char32_t cp);

// UTF-8 spelling of the byte-level form of `bytes` (each byte becomes one character).
std::string encode(std::string_view bytes);

// Raw bytes of a token spelled in the byte-level alphabet. A token with any character outside the
// alphabet (added tokens such as "<｜User｜>") is returned unchanged, as Hugging Face's ByteLevel
// decoder does.
std::string decode_token(std::string_view token);

}  // namespace troupe::byte_level
