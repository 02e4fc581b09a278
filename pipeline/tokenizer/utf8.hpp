#pragma once
// UTF-8 helpers shared by the tokenizer and the detokenizer. All functions work on raw bytes and
// never throw on malformed input: tokens may end in the middle of a character.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::utf8 {

// Length in bytes of the character whose first byte is `lead`, from the lead byte alone
// (1 for ASCII and for bytes that cannot start a character).
std::size_t sequence_length(unsigned char lead);

// Decodes the character starting at text[pos]. On a malformed or truncated sequence returns
// U+FFFD and sets `length` to 1, so callers always make progress.
char32_t decode(std::string_view text, std::size_t pos, std::size_t& length);

// Appends the UTF-8 encoding of `cp` (which must be a valid scalar value) to `out`.
void append(std::string& out, char32_t cp);

// True when `text` is entirely well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF).
bool is_valid(std::string_view text);

// Length of the longest prefix of `text` that does not end inside a character that could still be
// completed by more bytes. Bytes after it (at most 3) are the start of a well-formed but
// incomplete sequence. Malformed bytes are not held back: they can never become valid.
std::size_t complete_prefix_length(std::string_view text);

// Converts bytes to valid UTF-8, replacing each maximal ill-formed subpart with U+FFFD (the
// Unicode "maximal subpart" practice, which is what Hugging Face tokenizers' decoders produce).
std::string to_valid_lossy(std::string_view bytes);
void append_valid_lossy(std::string& out, std::string_view bytes);

// Unicode White_Space property (used for lstrip/rstrip of added tokens).
bool is_white_space(char32_t cp);

}  // namespace troupe::utf8
