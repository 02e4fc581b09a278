#pragma once
// The token texts llama.cpp gives a role when it loads a GGUF vocabulary, whatever type the file
// records: the end of a turn or of generation, fill-in-the-middle markers. llama.cpp treats a
// token with such a text as a control token (cut out of the text only when special tokens are
// parsed, left out of decoded text unless asked for) and ends generation on the end-of-generation
// ones; troupe reads GGUF files the same way (gguf_config.cpp, gguf_tokenizer.cpp).
#include <string_view>

namespace troupe {

// A text llama.cpp makes a control token (every text below and the FIM markers).
bool gguf_control_text(std::string_view text);
// A text whose token ends generation in llama.cpp.
bool gguf_end_of_generation_text(std::string_view text);

}  // namespace troupe
