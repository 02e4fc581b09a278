#pragma once
// GGUF readers of the Gemma families (Gemma 1's scales, Gemma 2, 3, 3n and 4) as llama.cpp's converter
// writes them and llama.cpp reads them. spec_from_gguf (gguf_config.cpp) calls them after the common
// fields.
#include <string>

#include "model/gguf_file.hpp"
#include "model/model_spec.hpp"

namespace troupe::gguf_readers {

// Gemma's scales as llama.cpp applies them: embeddings × sqrt(hidden), the query × 1/sqrt(head_dim)
// — except for the 27B models, whose query_pre_attn_scalar is hidden/heads, which llama.cpp uses.
void set_gemma_scales(ModelSpec& spec, bool is_27b);
void read_gemma2(const GgufFile& gguf, const std::string& arch, ModelSpec& spec);
void read_gemma3(const GgufFile& gguf, const std::string& arch, ModelSpec& spec);
void read_gemma3n(const GgufFile& gguf, const std::string& arch, ModelSpec& spec);
void read_gemma4(const GgufFile& gguf, const std::string& arch, ModelSpec& spec);

}  // namespace troupe::gguf_readers
