#pragma once
// How much a request may ask for in its list-valued fields. Each list is work per generated token
// (stop strings are searched for after every token, bad words and stop ids are checked every
// step) or per request (tools are rendered and parsed, prompts tokenized one by one), so a
// request body's size alone (--max-body-bytes, 4 MiB by default) would let one request cost as
// much as thousands. The limits are far above what clients send, and each breach is a 400 naming
// the field, the limit and the count (check_list_length). docs/API.md lists them.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace troupe {

inline constexpr std::size_t kMaxStopStrings = 64;        // OpenAI allows 4; vLLM's env default is 4 too
inline constexpr std::size_t kMaxStopStringBytes = 256;   // each: held back and searched after every token
inline constexpr std::size_t kMaxStopTokenIds = 256;
inline constexpr std::size_t kMaxLogitBiasEntries = 1024;  // vLLM's V2 model runner: 1024
inline constexpr std::size_t kMaxAllowedTokenIds = 262'144;  // a whole vocabulary of the largest models
inline constexpr std::size_t kMaxBadWords = 128;           // vLLM: 128 token sequences (VLLM_MAX_NUM_BAD_WORDS)
inline constexpr std::size_t kMaxBadWordBytes = 256;
inline constexpr std::size_t kMaxTools = 128;              // OpenAI's limit
inline constexpr std::size_t kMaxCompletionPrompts = 1024;  // vLLM's VLLM_MAX_COMPLETION_PROMPTS

// Throws a 400 (param = `field`) when `count` exceeds `limit`: "'stop' may hold at most 64
// strings, got 100000." `what` names the entries ("strings", "token ids", ...).
void check_list_length(std::string_view field, std::size_t count, std::size_t limit, std::string_view what);

}  // namespace troupe
