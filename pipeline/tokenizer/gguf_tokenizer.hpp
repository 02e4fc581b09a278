#pragma once
// Builds a Tokenizer from the tokenizer metadata of a GGUF file (tokenizer.ggml.*). Kept apart from
// tokenizer.hpp so that the core tokenizer does not depend on model/.
#include "model/gguf_file.hpp"
#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe {

// Accepts `tokenizer.ggml.model = gpt2` (byte-level BPE) and `llama` / `gemma` (SentencePiece:
// scores, "<0xNN>" byte tokens, add_space_prefix; tokenized as llama.cpp does). For gpt2,
// `tokenizer.ggml.pre` selects the normalizer and pre-tokenizer the model family's Hugging Face
// tokenizer.json uses: gpt2/default, smollm, llama-bpe (llama3), qwen2 (qwen2.5, qwen3,
// deepseek-r1-qwen). Token types: control (3) tokens (and SentencePiece's unknown token) become
// special added tokens, user-defined (4) tokens non-special added tokens.
// Throws ModelError naming the file and the unsupported model or pre-tokenizer.
Tokenizer tokenizer_from_gguf(const GgufFile& gguf);

}  // namespace troupe
