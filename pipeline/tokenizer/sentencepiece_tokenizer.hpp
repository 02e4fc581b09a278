#pragma once
// Builds a Tokenizer from a Hugging Face directory that ships its tokenizer as a SentencePiece
// model (tokenizer.model) with no tokenizer.json: IQuest-Coder, and Llama 2 / Mistral / Gemma
// checkpoints saved with a slow tokenizer. tokenizer_config.json beside it gives what
// transformers' tokenizer class would: `legacy` and `add_prefix_space` (sentencepiece_model.hpp),
// `add_bos_token` / `add_eos_token`, the bos/eos/unk tokens, and the added tokens
// (`added_tokens_decoder`, matched in the text before the model runs).
#include <filesystem>

#include "pipeline/tokenizer/tokenizer.hpp"

namespace troupe {

// Throws ModelError naming the file and what is wrong with it.
Tokenizer tokenizer_from_sentencepiece(const std::filesystem::path& model_file);

}  // namespace troupe
